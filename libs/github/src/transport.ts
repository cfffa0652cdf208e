// Sends one GitHub operation through one installation's (or token's) budget: waits while the
// budget is blocked by a rate limit (or gives up with GitHubRateLimitError when the wait is longer
// than the policy allows), retries 5xx and network errors a bounded number of times with back-off,
// maps error responses to typed errors, and records metrics.

import type { EndpointPace } from "./endpoint-pace.ts";
import { GitHubRateLimitError, GitHubServerError } from "./errors.ts";
import { toGitHubError } from "./http-errors.ts";
import type { GitHubMetrics } from "./metrics.ts";
import { classifyRateLimit, type RateBudget, type ResponseInfo, serverErrorBackoff } from "./rate-limit.ts";
import type { RequestGate } from "./request-gate.ts";
import type { GitHubClientConfig, RateLimitPolicy } from "./types.ts";

export interface RawResponse {
  status: number;
  headers: Record<string, string | number | undefined>;
  data: unknown;
}

export type RequestFn = (route: string, params: Record<string, unknown>) => Promise<RawResponse>;

export const defaultPolicy: RateLimitPolicy = {
  maxWaitMs: 60_000,
  serverErrorRetries: 3,
  serverErrorBackoffMs: 500,
  secondaryFallbackMs: 60_000,
};

/** What a request costs against GitHub's points per endpoint per minute. */
const READ_POINTS = 1;
const WRITE_POINTS = 5;
/** Rate-limit refusals one call sits out before it reports GitHubRateLimitError instead. */
const MAX_RATE_LIMIT_ROUNDS = 3;
const REQUEST_TIMEOUT_MS = 30_000;

export interface TransportOptions {
  request: RequestFn;
  budget: RateBudget;
  /** Concurrency limits of the budget (shared by every client of the installation). */
  gate: RequestGate;
  /** Points per endpoint per minute of the budget (GitHub's secondary limit); none when unlimited. */
  pace: EndpointPace | undefined;
  metrics: GitHubMetrics;
  policy: RateLimitPolicy;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  logger: GitHubClientConfig["logger"];
}

export class GitHubTransport {
  private readonly options: TransportOptions;
  constructor(options: TransportOptions) {
    this.options = options;
  }

  get budget(): RateBudget {
    return this.options.budget;
  }

  async send<T>(
    operation: string,
    route: string,
    params: Record<string, unknown> = {},
  ): Promise<RawResponse & { data: T }> {
    const { budget, metrics, policy, now, sleep, logger } = this.options;
    let serverFailures = 0;
    let rateLimitRounds = 0;
    const write = !route.startsWith("GET ");
    for (;;) {
      let info: ResponseInfo;
      let cause: unknown;
      // Every attempt costs points: GitHub counts requests, not operations.
      const pacedMs = (await this.options.pace?.take(route, write ? WRITE_POINTS : READ_POINTS)) ?? 0;
      if (pacedMs > 0) {
        metrics.waits.inc({ kind: "endpoint_pace", credential: metrics.credential });
        logger?.debug("paced to GitHub's points per endpoint", { operation, waitedMs: pacedMs });
      }
      const release = await this.options.gate.acquire(write);
      try {
        await this.waitTurn(operation);
        const started = now();
        try {
          const response = await this.options.request(route, {
            ...params,
            request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
          });
          this.record(operation, response.status, started, response.headers);
          budget.succeeded();
          return response as RawResponse & { data: T };
        } catch (error) {
          ({ info, cause } = responseInfo(error));
          this.record(operation, info.status, started, info.headers);
        }
      } finally {
        release();
      }

      const hit = classifyRateLimit(info, now(), policy.secondaryFallbackMs, budget.secondaryStrikes);
      if (hit) {
        budget.block(hit);
        rateLimitRounds += 1;
        const waitMs = hit.retryAt - now();
        if (rateLimitRounds > MAX_RATE_LIMIT_ROUNDS || waitMs > policy.maxWaitMs) {
          metrics.waits.inc({ kind: `${hit.kind}_gave_up`, credential: metrics.credential });
          throw new GitHubRateLimitError(
            `GitHub ${operation}: ${hit.kind} rate limit of budget ${budget.key}; retry after ${new Date(hit.retryAt).toISOString()}`,
            { operation, status: info.status, githubMessage: info.message, kind: hit.kind, retryAt: hit.retryAt },
          );
        }
        continue; // waitTurn() sits out the wait before the next try
      }
      if (info.status >= 500 || info.status === 0) {
        if (serverFailures < policy.serverErrorRetries) {
          const delay = serverErrorBackoff(serverFailures, policy.serverErrorBackoffMs);
          serverFailures += 1;
          logger?.debug("GitHub server error; retrying", {
            operation,
            status: info.status,
            attempt: serverFailures,
            delayMs: delay,
          });
          await sleep(delay);
          continue;
        }
        if (info.status === 0) {
          throw new GitHubServerError(
            `GitHub ${operation}: no response after ${serverFailures + 1} attempts (${info.message})`,
            {
              operation,
              status: 0,
              githubMessage: info.message,
              cause,
            },
          );
        }
      }
      throw toGitHubError(operation, info);
    }
  }

  /** Waits while the budget is blocked; throws when the wait is longer than the policy allows. */
  private async waitTurn(operation: string): Promise<void> {
    const { budget, metrics, policy, now, sleep, logger } = this.options;
    for (;;) {
      const waitMs = budget.waitMs(now());
      if (waitMs <= 0) return;
      const kind = budget.blockedBy ?? "primary";
      if (waitMs > policy.maxWaitMs) {
        metrics.waits.inc({ kind: `${kind}_gave_up`, credential: metrics.credential });
        throw new GitHubRateLimitError(
          `GitHub ${operation}: ${kind} rate limit of budget ${budget.key}; retry after ${new Date(budget.blockedUntil).toISOString()}`,
          { operation, status: 0, kind, retryAt: budget.blockedUntil },
        );
      }
      metrics.waits.inc({ kind, credential: metrics.credential });
      logger?.warn("waiting for GitHub's rate limit", { operation, kind, waitMs, budget: budget.key });
      await sleep(waitMs);
    }
  }

  private record(operation: string, status: number, started: number, headers: RawResponse["headers"]): void {
    const { budget, metrics, now } = this.options;
    const { credential } = metrics;
    metrics.requests.inc({ operation, status: String(status), credential });
    metrics.duration.observe({ operation, credential }, (now() - started) / 1000);
    budget.observe({ headers }, now());
    if (budget.remaining !== undefined) metrics.remaining.set({ budget: budget.key, credential }, budget.remaining);
  }
}

/** What an Octokit error tells: status, headers and GitHub's message (never the request, which holds the token). */
function responseInfo(error: unknown): { info: ResponseInfo; cause: unknown } {
  const e = error as {
    status?: number;
    message?: string;
    name?: string;
    response?: { status: number; headers: RawResponse["headers"]; data?: unknown };
  };
  if (e?.response) {
    const data = e.response.data as { message?: unknown } | string | undefined;
    const message =
      typeof data === "object" && data && typeof data.message === "string"
        ? data.message
        : typeof data === "string"
          ? data
          : undefined;
    return { info: { status: e.response.status, headers: e.response.headers ?? {}, message }, cause: undefined };
  }
  // No response: a network error, a timeout, or a refusal before sending.
  const message =
    e?.name === "TimeoutError" || /aborted|timeout/i.test(e?.message ?? "")
      ? "request timed out"
      : (e?.message ?? "request failed");
  return { info: { status: 0, headers: {}, message }, cause: error instanceof Error ? new Error(message) : undefined };
}
