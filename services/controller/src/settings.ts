// The controller's configuration, checked at start-up (a bad or missing setting stops it, named).
import { enterpriseHostsSetting } from "@octorun/api";
import { type BusConfig, busSettings, type JobStreamConfig, jobStreamSettings } from "@octorun/bus";
import type { GitHubAuthConfig } from "@octorun/github";
import { ConfigError, type ConfigSchema, mergeSchemas } from "@octorun/runtime";
import { type WebhookRedeliveryConfig, webhookRedeliverySettings } from "./webhook-redelivery.ts";

/** The job stream's declaration: off unless asked (deploy/ asks: there github-ingress may only publish). */
const streamSettings: ConfigSchema = mergeSchemas(jobStreamSettings, {
  properties: {
    JOB_STREAM_MANAGE: {
      type: "boolean",
      default: false,
      description: "create or update the job stream at start-up, with the JOB_STREAM_* limits",
    },
  },
});

export const controllerSettings: ConfigSchema = mergeSchemas(busSettings, streamSettings, webhookRedeliverySettings, {
  properties: {
    POD_NAME: {
      type: "string",
      description: "this replica's name (leader identity, Event reporter); default: the host name",
    },
    POD_NAMESPACE: { type: "string", default: "octorun-system", description: "namespace of the leader-election Lease" },
    WATCH_NAMESPACES: {
      type: "array",
      items: { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength: 63 },
      description:
        "reconcile Runners and RunnerSets of these namespaces only, comma-separated (default: every namespace); the namespaced install grants the controller these namespaces only",
    },
    LEADER_ELECT: { type: "boolean", default: true, description: "elect a leader among replicas on a Lease" },
    LEADER_ELECTION_LEASE: { type: "string", default: "octorun-controller", description: "the Lease's name" },
    LEASE_DURATION_MS: {
      type: "integer",
      minimum: 1000,
      default: 15_000,
      description: "how long a lease keeps others out",
    },
    RENEW_DEADLINE_MS: {
      type: "integer",
      minimum: 500,
      default: 10_000,
      description: "a leader that cannot renew this long steps down",
    },
    RETRY_PERIOD_MS: {
      type: "integer",
      minimum: 100,
      default: 2_000,
      description: "how often the lease is renewed or tried",
    },
    GITHUB_API_URL: {
      type: "string",
      format: "uri",
      description: "REST base URL for every Runner URL (default: derived from each Runner's spec.url)",
    },
    ...enterpriseHostsSetting,
    GITHUB_APP_ID: { type: "string", pattern: "^[0-9]+$", description: "GitHub App id (App authentication)" },
    GITHUB_APP_PRIVATE_KEY: { type: "string", secret: true, description: "the GitHub App's private key (PEM)" },
    GITHUB_APP_INSTALLATION_ID: {
      type: "integer",
      minimum: 1,
      description: "the App installation (default: discovered per owner)",
    },
    GITHUB_TOKEN: { type: "string", secret: true, description: "a personal access token (instead of a GitHub App)" },
    GITHUB_WRITES_AT_ONCE: {
      type: "integer",
      minimum: 1,
      maximum: 8,
      default: 1,
      description:
        "GitHub writes (JIT configurations, registration tokens, runner deletions) in flight at once per installation or token; more than 1 for GitHub Enterprise Server without rate limits",
    },
    GITHUB_ENDPOINT_POINTS_PER_MINUTE: {
      type: "integer",
      minimum: 0,
      description:
        "GitHub points spent per REST endpoint per minute at most (a GET costs 1, a write 5; 0: no limit); default 900, GitHub's secondary limit, for api.github.com and no limit for GitHub Enterprise Server",
    },
    RUNNER_REGISTRATION: {
      type: "string",
      enum: ["jit", "token"],
      default: "jit",
      description: "jit: just-in-time configuration; token: registration token (GitHub servers without JIT)",
    },
    RUNNER_WORKERS: { type: "integer", minimum: 1, default: 16, description: "Runners reconciled at once" },
    RUNNERSET_WORKERS: { type: "integer", minimum: 1, default: 4, description: "RunnerSets reconciled at once" },
    JOB_EVENT_CONCURRENCY: { type: "integer", minimum: 1, default: 32, description: "job events handled at once" },
    JOB_CONSUMER_NAME: { type: "string", default: "octorun-controller", description: "the durable JetStream consumer" },
    COMPLETED_GRACE_SECONDS: {
      type: "integer",
      minimum: 0,
      default: 60,
      description: "how long a runner may run after its job completed before it is stopped",
    },
  },
});

export interface ControllerConfig extends BusConfig, JobStreamConfig, WebhookRedeliveryConfig {
  POD_NAME?: string;
  POD_NAMESPACE: string;
  WATCH_NAMESPACES?: string[];
  LEADER_ELECT: boolean;
  LEADER_ELECTION_LEASE: string;
  LEASE_DURATION_MS: number;
  RENEW_DEADLINE_MS: number;
  RETRY_PERIOD_MS: number;
  GITHUB_API_URL?: string;
  GITHUB_ENTERPRISE_HOSTS: string[];
  GITHUB_APP_ID?: string;
  GITHUB_APP_PRIVATE_KEY?: string;
  GITHUB_APP_INSTALLATION_ID?: number;
  GITHUB_TOKEN?: string;
  GITHUB_WRITES_AT_ONCE: number;
  GITHUB_ENDPOINT_POINTS_PER_MINUTE?: number;
  RUNNER_REGISTRATION: "jit" | "token";
  RUNNER_WORKERS: number;
  RUNNERSET_WORKERS: number;
  JOB_EVENT_CONCURRENCY: number;
  JOB_CONSUMER_NAME: string;
  COMPLETED_GRACE_SECONDS: number;
}

/** GitHub credentials from the settings: an App (id and key) or a token, exactly one. */
export function githubAuth(config: ControllerConfig): GitHubAuthConfig {
  const app = config.GITHUB_APP_ID !== undefined || config.GITHUB_APP_PRIVATE_KEY !== undefined;
  if (app && config.GITHUB_TOKEN !== undefined) {
    throw new ConfigError(["set either GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY, or GITHUB_TOKEN, not both"]);
  }
  if (app) {
    const problems = [
      config.GITHUB_APP_ID === undefined ? "GITHUB_APP_ID is required with GITHUB_APP_PRIVATE_KEY" : undefined,
      config.GITHUB_APP_PRIVATE_KEY === undefined
        ? "GITHUB_APP_PRIVATE_KEY (or GITHUB_APP_PRIVATE_KEY_FILE) is required with GITHUB_APP_ID"
        : undefined,
    ].filter((p): p is string => p !== undefined);
    if (problems.length > 0) throw new ConfigError(problems);
    return {
      type: "app",
      appId: config.GITHUB_APP_ID ?? "",
      privateKey: config.GITHUB_APP_PRIVATE_KEY ?? "",
      ...(config.GITHUB_APP_INSTALLATION_ID !== undefined ? { installationId: config.GITHUB_APP_INSTALLATION_ID } : {}),
    };
  }
  if (config.GITHUB_TOKEN !== undefined) return { type: "token", token: config.GITHUB_TOKEN };
  throw new ConfigError([
    "GitHub credentials are required: GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY(_FILE), or GITHUB_TOKEN(_FILE)",
  ]);
}
