import type { RunnerUrl } from "@octorun/api";
import type { Registry } from "prom-client";

/** A self-hosted runner as GitHub reports it (`components.schemas.runner`). */
export interface GitHubRunner {
  id: number;
  name: string;
  os: string;
  /** `online` or `offline` (a plain string in GitHub's schema). */
  status: string;
  busy: boolean;
  labels: { id?: number; name: string; type?: "read-only" | "custom" }[];
  runner_group_id?: number;
  ephemeral?: boolean;
}

/** The result of generate-jitconfig. `encodedJitConfig` is a secret: never log it. */
export interface JitConfig {
  runner: GitHubRunner;
  encodedJitConfig: string;
}

/** A registration (or remove) token. `token` is a secret: never log it. */
export interface RunnerToken {
  token: string;
  /** ISO 8601. */
  expiresAt: string;
}

export interface GenerateJitConfigRequest {
  name: string;
  /** 1 to 100 labels. */
  labels: string[];
  /** Runner group name (default `Default`). Repositories only have `Default` (id 1). */
  group?: string;
  /** Work folder (default `_work`). */
  workFolder?: string;
}

/** The runner operations octorun needs, for one Runner URL. */
export interface GitHubRunnerClient {
  readonly target: RunnerUrl;
  /** Registers an ephemeral runner; handles a 409 on the name (see README of this package). */
  generateJitConfig(request: GenerateJitConfigRequest): Promise<JitConfig>;
  createRegistrationToken(): Promise<RunnerToken>;
  createRemoveToken(): Promise<RunnerToken>;
  /** The runner, or undefined when GitHub no longer knows it. */
  getRunner(id: number): Promise<GitHubRunner | undefined>;
  findRunnerByName(name: string): Promise<GitHubRunner | undefined>;
  /** Removes the registration. False if it was already gone; GitHubRunnerBusyError while it runs a job. */
  deleteRunner(id: number): Promise<boolean>;
  /** Every runner of the scope (all pages). */
  listRunners(): Promise<GitHubRunner[]>;
  /** Resolves a runner group name to its id (1 for repositories). */
  runnerGroupId(name: string): Promise<number>;
}

/** One attempt to deliver a webhook of the GitHub App (`components.schemas.hook-delivery-item`). */
export interface WebhookDeliveryItem {
  /** Unique per attempt: the id a redelivery is requested for. */
  id: number;
  /** `X-GitHub-Delivery`: the same for every attempt of one event (a redelivery keeps it). */
  guid: string;
  /** ISO 8601. */
  delivered_at: string;
  redelivery: boolean;
  /** Seconds. */
  duration: number;
  /** GitHub's outcome text, e.g. `OK`, `failed to connect`, `Invalid HTTP Response: 503`. */
  status: string;
  /** The receiver's HTTP status (0 when it was not reached). */
  status_code: number;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
  throttled_at?: string | null;
}

export interface ListWebhookDeliveriesRequest {
  /** Only attempts delivered at or after this time (epoch ms or Date); paging stops at older ones. */
  since: number | Date;
  /** Page size (1 to 100, default 100). */
  perPage?: number;
}

export type GitHubAuthConfig =
  | {
      type: "app";
      appId: number | string;
      /** PEM text of the App's private key; or give `privateKeyFile`. */
      privateKey?: string;
      privateKeyFile?: string;
      /** Installation id; discovered from the URL's owner or repository when absent. */
      installationId?: number;
    }
  | {
      type: "token";
      /** A personal access token (classic with `manage_runners:enterprise` for enterprise scope). */
      token: string;
    };

export interface RateLimitPolicy {
  /** Longest the client blocks on a rate limit before throwing GitHubRateLimitError (default 60 s). */
  maxWaitMs: number;
  /** Retries of 5xx and network errors (default 3). */
  serverErrorRetries: number;
  /** First backoff for 5xx (default 500 ms; doubles, with jitter). */
  serverErrorBackoffMs: number;
  /** Wait after a secondary limit without `retry-after` (default 60 s, doubling). */
  secondaryFallbackMs: number;
}

export interface GitHubClientConfig {
  auth: GitHubAuthConfig;
  /** Override of the REST base URL for every target (e.g. the simulator); else derived from each URL. */
  apiBaseUrl?: string;
  /**
   * GitHub Enterprise Server hosts (`host` or `host:port`) allowed in a Runner URL besides
   * github.com. A URL of any other host is refused (RunnerUrlError) before a request is made.
   */
  enterpriseHosts?: readonly string[];
  /** Metrics go here (one registry per process); none when absent. */
  registry?: Registry;
  /**
   * Names this client's credential in its metrics (`credential` label), e.g. the namespace/name
   * of the Secret it came from; never the secret itself. Default `default`.
   */
  credentialName?: string;
  rateLimit?: Partial<RateLimitPolicy>;
  /**
   * Writes (registrations, JIT configurations, deletions) in flight at once per installation or
   * token (default 1, as GitHub's best practices ask).
   */
  writesAtOnce?: number;
  /**
   * Points spent per REST endpoint per minute at most, per installation or token (GitHub's
   * secondary limit: 900; a GET costs 1 point, a write 5). Default: 900 for api.github.com, no
   * limit for other hosts (GitHub Enterprise Server has none unless its admin sets one); 0: no limit.
   */
  endpointPointsPerMinute?: number;
  /** Structured logger (winston-like); tokens are never passed to it. */
  logger?: { debug(message: string, meta?: object): void; warn(message: string, meta?: object): void };
  /** For tests: the clock and the sleep the rate limiter uses. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Extra request headers (e.g. `user-agent`). */
  userAgent?: string;
}
