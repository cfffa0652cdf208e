import { exponentialBackoff, jitter, sleep } from "./backoff.ts";
import { isConflict } from "./errors.ts";

/**
 * Runs `attempt` until it does not fail with 409 Conflict, at most `attempts` times with a short
 * backoff. `attempt` must re-read what it writes each time (that is what resolves the conflict).
 */
export async function retryOnConflict<T>(
  attempt: (n: number) => Promise<T>,
  options: { attempts?: number; backoffBaseMs?: number; backoffMaxMs?: number } = {},
): Promise<T> {
  const { attempts = 5, backoffBaseMs = 10, backoffMaxMs = 1_000 } = options;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!isConflict(error) || n >= attempts) throw error;
      await sleep(jitter(exponentialBackoff(n, backoffBaseMs, backoffMaxMs)));
    }
  }
}
