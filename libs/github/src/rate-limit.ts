// GitHub's rate limits, as GitHub asks clients to obey them (GitHub REST API docs, "Rate limits for the REST API" and "Best practices"):
// a primary limit per credential (403/429 with `x-ratelimit-remaining: 0`: wait for
// `x-ratelimit-reset`) and secondary limits (403/429 whose message says "secondary rate limit":
// wait `retry-after`, else until the reset if the budget is spent, else at least a minute, doubling).
// The decisions are pure functions; RateBudget holds the state of one installation (or token).

export interface ResponseInfo {
  status: number;
  headers: Record<string, string | number | undefined>;
  message: string | undefined;
}

export interface RateLimitHit {
  kind: "primary" | "secondary";
  /** Epoch ms at which GitHub allows the next request. */
  retryAt: number;
}

function header(info: Pick<ResponseInfo, "headers">, name: string): string | undefined {
  const value = info.headers[name];
  return value === undefined ? undefined : String(value);
}

/**
 * Whether a response is a rate-limit refusal, and until when to wait. `secondaryStrikes` is how many
 * secondary refusals in a row this budget has had (the fallback wait doubles with each).
 */
export function classifyRateLimit(
  info: ResponseInfo,
  now: number,
  secondaryFallbackMs: number,
  secondaryStrikes = 0,
): RateLimitHit | undefined {
  if (info.status !== 403 && info.status !== 429) return undefined;
  const retryAfter = Number(header(info, "retry-after"));
  const remaining = header(info, "x-ratelimit-remaining");
  const reset = Number(header(info, "x-ratelimit-reset"));
  const resetAt = Number.isFinite(reset) && reset > 0 ? reset * 1000 + 1000 : undefined;
  if (/\bsecondary rate\b/i.test(info.message ?? "")) {
    if (Number.isFinite(retryAfter) && retryAfter >= 0) return { kind: "secondary", retryAt: now + retryAfter * 1000 };
    if (remaining === "0" && resetAt !== undefined) return { kind: "secondary", retryAt: Math.max(now, resetAt) };
    return { kind: "secondary", retryAt: now + secondaryFallbackMs * 2 ** Math.min(secondaryStrikes, 6) };
  }
  if (remaining === "0") {
    return { kind: "primary", retryAt: Math.max(now, resetAt ?? now + 60_000) };
  }
  // A 429 without either sign is still GitHub saying "slow down".
  if (info.status === 429) {
    const wait =
      Number.isFinite(retryAfter) && retryAfter >= 0
        ? retryAfter * 1000
        : secondaryFallbackMs * 2 ** Math.min(secondaryStrikes, 6);
    return { kind: "secondary", retryAt: now + wait };
  }
  return undefined;
}

/** One budget per installation (or token): every client of that installation waits on it. */
export class RateBudget {
  readonly key: string;
  /** Last seen `x-ratelimit-*` values. */
  limit: number | undefined;
  remaining: number | undefined;
  /** Epoch ms of the window's reset. */
  resetAt: number | undefined;
  /** No request before this (epoch ms), and why. */
  blockedUntil = 0;
  blockedBy: "primary" | "secondary" | undefined;
  secondaryStrikes = 0;

  constructor(key: string) {
    this.key = key;
  }

  /** Records the rate-limit headers of any response. */
  observe(info: Pick<ResponseInfo, "headers">, now: number): void {
    const limit = Number(header(info, "x-ratelimit-limit"));
    const remaining = Number(header(info, "x-ratelimit-remaining"));
    const reset = Number(header(info, "x-ratelimit-reset"));
    if (Number.isFinite(limit) && header(info, "x-ratelimit-limit") !== undefined) this.limit = limit;
    if (Number.isFinite(remaining) && header(info, "x-ratelimit-remaining") !== undefined) this.remaining = remaining;
    if (Number.isFinite(reset) && header(info, "x-ratelimit-reset") !== undefined) this.resetAt = reset * 1000;
    // The budget is spent: the next request would be refused, so nobody sends it before the reset.
    if (this.remaining === 0 && this.resetAt !== undefined && this.resetAt + 1000 > now) {
      this.block({ kind: "primary", retryAt: this.resetAt + 1000 });
    }
  }

  block(hit: RateLimitHit): void {
    if (hit.retryAt > this.blockedUntil) {
      this.blockedUntil = hit.retryAt;
      this.blockedBy = hit.kind;
    }
    if (hit.kind === "secondary") this.secondaryStrikes += 1;
  }

  /** A request went through: secondary back-off starts again from its base. */
  succeeded(): void {
    this.secondaryStrikes = 0;
  }

  /** How long a request must wait now (0: go). */
  waitMs(now: number): number {
    return Math.max(0, this.blockedUntil - now);
  }
}

/** Exponential back-off with full jitter for 5xx and network errors: base·2^attempt·[0.5, 1). */
export function serverErrorBackoff(attempt: number, baseMs: number, random: () => number = Math.random): number {
  return Math.round(baseMs * 2 ** attempt * (0.5 + random() / 2));
}
