// GitHub's secondary limit on points per REST endpoint per minute (GitHub REST API docs, "Rate
// limits for the REST API": 900 points; a GET costs 1, a write 5). A scale-up of 500 runners asks
// for 2,500 points of JIT configurations from one endpoint: past 900 in a minute GitHub refuses
// them, and an integration that keeps sending may be banned. So the client spends points no faster
// than that: a token bucket per endpoint, full (a minute's worth) at first and refilled at the
// limit's rate; the requests of one endpoint wait their turn in order.

const GITHUB_COM_API = "https://api.github.com";
/** GitHub's secondary limit for github.com's API. */
export const GITHUB_COM_POINTS_PER_MINUTE = 900;

/**
 * The points per endpoint per minute a budget spends at most (0: no limit): the configured value,
 * else GitHub's 900 for github.com and no limit for other hosts (GitHub Enterprise Server has
 * none unless its admin sets one).
 */
export function pointsPerMinuteFor(apiBaseUrl: string, configured: number | undefined): number {
  if (configured !== undefined) return configured;
  return apiBaseUrl.replace(/\/+$/, "") === GITHUB_COM_API ? GITHUB_COM_POINTS_PER_MINUTE : 0;
}

export interface EndpointPaceOptions {
  pointsPerMinute: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

interface Bucket {
  points: number;
  at: number;
  /** The last waiter of this endpoint: the next one goes after it. */
  queue: Promise<unknown>;
}

export class EndpointPace {
  readonly #o: EndpointPaceOptions;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: EndpointPaceOptions) {
    if (!(options.pointsPerMinute > 0)) throw new RangeError("endpoint pace: pointsPerMinute must be positive");
    this.#o = options;
  }

  /** Waits until `points` may be spent on `endpoint`, spends them, and resolves with the ms waited. */
  take(endpoint: string, points: number): Promise<number> {
    let bucket = this.#buckets.get(endpoint);
    if (!bucket) {
      bucket = { points: this.#o.pointsPerMinute, at: this.#o.now(), queue: Promise.resolve() };
      this.#buckets.set(endpoint, bucket);
    }
    const spent = bucket.queue.then(() => this.#spend(bucket, Math.min(points, this.#o.pointsPerMinute)));
    bucket.queue = spent.catch(() => undefined);
    return spent;
  }

  async #spend(bucket: Bucket, points: number): Promise<number> {
    const { pointsPerMinute, now, sleep } = this.#o;
    let waited = 0;
    for (;;) {
      const at = now();
      bucket.points = Math.min(pointsPerMinute, bucket.points + ((at - bucket.at) / 60_000) * pointsPerMinute);
      bucket.at = at;
      if (bucket.points >= points) {
        bucket.points -= points;
        return waited;
      }
      const ms = Math.ceil(((points - bucket.points) / pointsPerMinute) * 60_000);
      waited += ms;
      await sleep(ms);
    }
  }
}
