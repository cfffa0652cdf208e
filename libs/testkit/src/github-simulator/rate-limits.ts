// GitHub's primary rate limit (a budget per credential per hour) and secondary limits (a penalty
// window), with the exact headers and messages GitHub sends, so that a client's throttling is
// exercised as GitHub would exercise it (GitHub REST API docs on rate limits).

export const PRIMARY_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";
export const SECONDARY_DOCS =
  "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";

export interface Budget {
  limit: number;
  used: number;
  /** Epoch seconds at which the window resets. */
  reset: number;
  /** Secondary-limit penalty: requests before this epoch ms get the secondary 403/429. */
  secondaryUntil: number;
  secondaryStatus: 403 | 429;
  /** `retry-after` seconds to send with secondary answers (none when undefined). */
  secondaryRetryAfter: number | undefined;
}

export class RateLimits {
  private readonly budgets = new Map<string, Budget>();
  private readonly defaultLimit: number;
  constructor(defaultLimit = 5000) {
    this.defaultLimit = defaultLimit;
  }

  budget(key: string, nowMs: number): Budget {
    let budget = this.budgets.get(key);
    const now = Math.floor(nowMs / 1000);
    if (!budget) {
      budget = {
        limit: this.defaultLimit,
        used: 0,
        reset: now + 3600,
        secondaryUntil: 0,
        secondaryStatus: 403,
        secondaryRetryAfter: undefined,
      };
      this.budgets.set(key, budget);
    }
    if (budget.reset <= now) {
      budget.used = 0;
      budget.reset = now + 3600;
    }
    return budget;
  }

  /** Sets the budget of a credential: e.g. `{ remaining: 0, resetInSeconds: 2 }` exhausts it for 2 s. */
  set(key: string, nowMs: number, change: { limit?: number; remaining?: number; resetInSeconds?: number }): Budget {
    const budget = this.budget(key, nowMs);
    if (change.limit !== undefined) budget.limit = change.limit;
    if (change.remaining !== undefined) budget.used = Math.max(0, budget.limit - change.remaining);
    if (change.resetInSeconds !== undefined) budget.reset = Math.floor(nowMs / 1000) + change.resetInSeconds;
    return budget;
  }

  startSecondary(
    key: string,
    nowMs: number,
    retryAfterSeconds: number | undefined,
    status: 403 | 429,
    windowSeconds?: number,
  ) {
    const budget = this.budget(key, nowMs);
    budget.secondaryUntil = nowMs + 1000 * (windowSeconds ?? retryAfterSeconds ?? 60);
    budget.secondaryRetryAfter = retryAfterSeconds;
    budget.secondaryStatus = status;
  }
}

export function remaining(budget: Budget): number {
  return Math.max(0, budget.limit - budget.used);
}

export function rateLimitHeaders(budget: Budget): Record<string, string> {
  return {
    "x-ratelimit-limit": String(budget.limit),
    "x-ratelimit-remaining": String(remaining(budget)),
    "x-ratelimit-used": String(budget.used),
    "x-ratelimit-reset": String(budget.reset),
    "x-ratelimit-resource": "core",
  };
}

export function primaryLimitBody(who: string, requestId: string) {
  return {
    message: `API rate limit exceeded for ${who}. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
    documentation_url: PRIMARY_DOCS,
    status: "403",
  };
}

export function secondaryLimitBody(requestId: string, status: 403 | 429) {
  return {
    message: `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
    documentation_url: SECONDARY_DOCS,
    status: String(status),
  };
}
