/** Exponential backoff: base·2^(attempt-1), capped at max. attempt 0 → 0. Pure. */
export function exponentialBackoff(attempt: number, baseMs: number, maxMs: number): number {
  if (attempt <= 0) return 0;
  // Cap the exponent so 2^n never overflows to Infinity for a key that fails for days.
  const delay = baseMs * 2 ** Math.min(attempt - 1, 52);
  return Math.min(delay, maxMs);
}

/** Spreads retries of many clients apart: a delay in [delay, delay·(1+factor)). */
export function jitter(delayMs: number, factor = 0.2, random: () => number = Math.random): number {
  return delayMs + delayMs * factor * random();
}

/** Sleeps for ms; resolves early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
