// The composition of the GitHub client: one Octokit (App or token auth) per API base URL, one
// installation Octokit and one rate budget per installation, installation discovery from the
// Runner URL's owner or repository (cached), and a GitHubRunnerClient per Runner URL.
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { App } from "@octokit/app";
import { Octokit } from "@octokit/core";
import { parseRunnerUrl, type RunnerUrl } from "@octorun/api";
import { EndpointPace, pointsPerMinuteFor } from "./endpoint-pace.ts";
import { GitHubConfigError } from "./errors.ts";
import { GitHubMetrics } from "./metrics.ts";
import { RateBudget } from "./rate-limit.ts";
import { RequestGate } from "./request-gate.ts";
import { RunnerClient } from "./runner-client.ts";
import { defaultPolicy, GitHubTransport, type RawResponse, type RequestFn } from "./transport.ts";
import type {
  GitHubClientConfig,
  GitHubRunnerClient,
  ListWebhookDeliveriesRequest,
  RateLimitPolicy,
  WebhookDeliveryItem,
} from "./types.ts";
import { listWebhookDeliveries, redeliverWebhookDelivery } from "./webhook-deliveries.ts";

export interface GitHubClient {
  /**
   * The runner operations for a Runner's `spec.url` (discovers and caches the App installation).
   * Throws RunnerUrlError, before any request, for a URL whose host is not allowed.
   */
  forUrl(url: string): Promise<GitHubRunnerClient>;
  /** The installation id serving a URL (App auth only). */
  installationIdFor(url: string): Promise<number>;
  /** The URL parsed against this client's allowed hosts; RunnerUrlError when it is refused. */
  parseUrl(url: string): RunnerUrl;
  /** The GitHub Enterprise Server hosts allowed besides github.com. */
  readonly enterpriseHosts: readonly string[];
  /**
   * The App webhook's delivery attempts at or after `since`, newest first (all pages). App auth
   * only; the API base is `apiBaseUrl` (default `https://api.github.com`).
   */
  listWebhookDeliveries(request: ListWebhookDeliveriesRequest): Promise<WebhookDeliveryItem[]>;
  /** Asks GitHub to send a delivery attempt's event again (same `X-GitHub-Delivery`). App auth only. */
  redeliverWebhookDelivery(id: number): Promise<void>;
}

const USER_AGENT = "octorun";
const GITHUB_API = "https://api.github.com";

export function createGitHubClient(config: GitHubClientConfig): GitHubClient {
  return new GitHubClientImpl(config);
}

class GitHubClientImpl implements GitHubClient {
  private readonly config: GitHubClientConfig;
  private readonly policy: RateLimitPolicy;
  private readonly metrics: GitHubMetrics;
  private readonly privateKey: string | undefined;
  private readonly apps = new Map<string, App>();
  private readonly installations = new Map<string, Promise<number>>();
  private readonly transports = new Map<string, GitHubTransport>();
  private readonly budgets = new Map<
    string,
    { budget: RateBudget; gate: RequestGate; pace: EndpointPace | undefined }
  >();
  private readonly groupCache = new Map<string, { id: Promise<number>; expires: number }>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(config: GitHubClientConfig) {
    this.config = config;
    this.policy = { ...defaultPolicy, ...config.rateLimit };
    this.metrics = new GitHubMetrics(config.registry, config.credentialName ?? "default");
    this.now = config.now ?? Date.now;
    this.sleep = config.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    if (config.auth.type === "app") this.privateKey = loadPrivateKey(config.auth);
    else if (!config.auth.token) throw new GitHubConfigError("GitHub token auth needs a token");
  }

  get enterpriseHosts(): readonly string[] {
    return this.config.enterpriseHosts ?? [];
  }

  parseUrl(url: string): RunnerUrl {
    return parseRunnerUrl(url, { enterpriseHosts: this.enterpriseHosts });
  }

  async forUrl(input: string): Promise<GitHubRunnerClient> {
    const target = this.target(input);
    const transport = await this.transportFor(target);
    return new RunnerClient({ target, transport, groupCache: this.groupCache, now: this.now });
  }

  async installationIdFor(input: string): Promise<number> {
    return this.installationOf(this.target(input));
  }

  private async installationOf(target: RunnerUrl): Promise<number> {
    const auth = this.config.auth;
    if (auth.type !== "app") throw new GitHubConfigError("installation ids exist only with GitHub App auth");
    if (auth.installationId !== undefined) return auth.installationId;
    const { scope } = target;
    if (scope.kind === "enterprise") throw enterpriseNeedsToken(target);
    const owner = scope.kind === "repository" ? scope.owner : scope.org;
    const key = `${target.apiBaseUrl} ${owner.toLowerCase()}`;
    let found = this.installations.get(key);
    if (!found) {
      found = this.discover(target).catch((error: unknown) => {
        this.installations.delete(key); // a failed discovery is tried again next time
        throw error;
      });
      this.installations.set(key, found);
    }
    return found;
  }

  async listWebhookDeliveries(request: ListWebhookDeliveriesRequest): Promise<WebhookDeliveryItem[]> {
    return listWebhookDeliveries(this.webhookTransport("apps/list-webhook-deliveries"), request);
  }

  async redeliverWebhookDelivery(id: number): Promise<void> {
    return redeliverWebhookDelivery(this.webhookTransport("apps/redeliver-webhook-delivery"), id);
  }

  /** The App's own transport (JWT) for its webhook; a token cannot reach these endpoints. */
  private webhookTransport(operation: string): GitHubTransport {
    if (this.config.auth.type !== "app") {
      throw new GitHubConfigError(
        `${operation} needs GitHub App auth: the webhook deliveries of an App are only visible to the App itself (its JWT), not to a personal access token`,
      );
    }
    return this.appTransport((this.config.apiBaseUrl ?? GITHUB_API).replace(/\/+$/, ""));
  }

  private appTransport(baseUrl: string): GitHubTransport {
    const app = this.app(baseUrl);
    const auth = this.config.auth as { appId: number | string };
    return this.transport(
      baseUrl,
      `app:${auth.appId}@${baseUrl}`,
      `app:${auth.appId}`,
      (route, params) => app.octokit.request(route, params) as Promise<RawResponse>,
    );
  }

  private target(input: string): RunnerUrl {
    const parsed = this.parseUrl(input);
    return this.config.apiBaseUrl ? { ...parsed, apiBaseUrl: this.config.apiBaseUrl.replace(/\/+$/, "") } : parsed;
  }

  private async discover(target: RunnerUrl): Promise<number> {
    const transport = this.appTransport(target.apiBaseUrl);
    const { scope } = target;
    const response =
      scope.kind === "repository"
        ? await transport.send<{ id: number }>("apps/get-repo-installation", "GET /repos/{owner}/{repo}/installation", {
            owner: scope.owner,
            repo: scope.repo,
          })
        : await transport.send<{ id: number }>("apps/get-org-installation", "GET /orgs/{org}/installation", {
            org: scope.kind === "organization" ? scope.org : "",
          });
    this.config.logger?.debug("discovered GitHub App installation", {
      url: target.url,
      installationId: response.data.id,
    });
    return response.data.id;
  }

  private async transportFor(target: RunnerUrl): Promise<GitHubTransport> {
    const auth = this.config.auth;
    if (auth.type === "token") {
      // One budget per token (GitHub counts per user) and API host.
      return this.transport(
        target.apiBaseUrl,
        `token@${target.apiBaseUrl}`,
        "token",
        (route, params) =>
          this.tokenOctokit(target.apiBaseUrl, auth.token).request(route, params) as Promise<RawResponse>,
      );
    }
    if (target.scope.kind === "enterprise") throw enterpriseNeedsToken(target);
    const installationId = await this.installationOf(target);
    const key = `installation:${installationId}@${target.apiBaseUrl}`;
    let octokit: Promise<Octokit> | undefined;
    return this.transport(target.apiBaseUrl, key, `installation:${installationId}`, async (route, params) => {
      octokit ??= this.app(target.apiBaseUrl)
        .getInstallationOctokit(installationId)
        .catch((error: unknown) => {
          octokit = undefined; // tried again by the next request
          throw error;
        });
      return (await octokit).request(route, params) as Promise<RawResponse>;
    });
  }

  private transport(apiBaseUrl: string, key: string, budgetLabel: string, request: RequestFn): GitHubTransport {
    let transport = this.transports.get(key);
    if (!transport) {
      let shared = this.budgets.get(key);
      if (!shared) {
        const pointsPerMinute = pointsPerMinuteFor(apiBaseUrl, this.config.endpointPointsPerMinute);
        shared = {
          budget: new RateBudget(budgetLabel),
          gate: new RequestGate({ maxConcurrentWrites: this.config.writesAtOnce }),
          pace:
            pointsPerMinute > 0 ? new EndpointPace({ pointsPerMinute, now: this.now, sleep: this.sleep }) : undefined,
        };
        this.budgets.set(key, shared);
      }
      transport = new GitHubTransport({
        request,
        budget: shared.budget,
        gate: shared.gate,
        pace: shared.pace,
        metrics: this.metrics,
        policy: this.policy,
        now: this.now,
        sleep: this.sleep,
        logger: this.config.logger,
      });
      this.transports.set(key, transport);
    }
    return transport;
  }

  private app(baseUrl: string): App {
    let app = this.apps.get(baseUrl);
    if (!app) {
      const auth = this.config.auth as { appId: number | string };
      app = new App({
        appId: auth.appId,
        privateKey: this.privateKey as string,
        Octokit: Octokit.defaults({
          baseUrl,
          userAgent: this.config.userAgent ?? USER_AGENT,
          log: quietLog(this.config.logger),
        }),
        log: quietLog(this.config.logger),
      });
      this.apps.set(baseUrl, app);
    }
    return app;
  }

  private readonly tokenOctokits = new Map<string, Octokit>();
  private tokenOctokit(baseUrl: string, token: string): Octokit {
    let octokit = this.tokenOctokits.get(baseUrl);
    if (!octokit) {
      octokit = new Octokit({
        auth: token,
        baseUrl,
        userAgent: this.config.userAgent ?? USER_AGENT,
        log: quietLog(this.config.logger),
      });
      this.tokenOctokits.set(baseUrl, octokit);
    }
    return octokit;
  }
}

function enterpriseNeedsToken(target: RunnerUrl): GitHubConfigError {
  return new GitHubConfigError(
    `${target.url}: enterprise runner endpoints do not accept GitHub App tokens; use a classic personal access token with manage_runners:enterprise`,
  );
}

function loadPrivateKey(auth: { privateKey?: string; privateKeyFile?: string }): string {
  let pem = auth.privateKey;
  if (pem === undefined && auth.privateKeyFile !== undefined) {
    try {
      pem = readFileSync(auth.privateKeyFile, "utf8");
    } catch (cause) {
      throw new GitHubConfigError(`cannot read the GitHub App private key file ${auth.privateKeyFile}`, { cause });
    }
  }
  if (!pem) throw new GitHubConfigError("GitHub App auth needs privateKey or privateKeyFile");
  if (!checkPrivateKey(pem)) {
    throw new GitHubConfigError(
      `the GitHub App private key${auth.privateKeyFile ? ` in ${auth.privateKeyFile}` : ""} is not a valid PEM private key`,
    );
  }
  return pem;
}

/** Whether text is a private key Node can sign with (the parser's message is not kept: it may quote the key). */
export function checkPrivateKey(pem: string): boolean {
  try {
    createPrivateKey(pem);
    return true;
  } catch {
    return false;
  }
}

/** Octokit's own log, sent to ours at debug level (its warnings are about deprecations, not secrets). */
function quietLog(logger: GitHubClientConfig["logger"]) {
  const debug = (message: string) => logger?.debug(`octokit: ${message}`);
  return { debug: () => undefined, info: () => undefined, warn: debug, error: debug };
}
