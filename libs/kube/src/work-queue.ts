import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { exponentialBackoff } from "./backoff.ts";
import { type Clock, systemClock } from "./clock.ts";
import { sharedMetric } from "./metrics.ts";

export interface WorkQueueOptions {
  /** Label value of the `workqueue_*` metrics. */
  name: string;
  /** Where the metrics go; none are recorded without one. Never the global registry. */
  registry?: Registry;
  /** Per-key backoff of addRateLimited: baseMs·2^(failures-1), capped at maxMs. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  clock?: Clock;
}

interface QueueMetrics {
  depth: Gauge<"name">;
  adds: Counter<"name">;
  retries: Counter<"name">;
  queueDuration: Histogram<"name">;
  workDuration: Histogram<"name">;
}

const durationBuckets = [0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

function queueMetrics(registry: Registry): QueueMetrics {
  return {
    depth: sharedMetric(
      registry,
      "workqueue_depth",
      () =>
        new Gauge({
          name: "workqueue_depth",
          help: "Keys waiting in the work queue.",
          labelNames: ["name"],
          registers: [],
        }),
    ),
    adds: sharedMetric(
      registry,
      "workqueue_adds_total",
      () =>
        new Counter({
          name: "workqueue_adds_total",
          help: "Keys added to the work queue.",
          labelNames: ["name"],
          registers: [],
        }),
    ),
    retries: sharedMetric(
      registry,
      "workqueue_retries_total",
      () =>
        new Counter({
          name: "workqueue_retries_total",
          help: "Keys put back with backoff.",
          labelNames: ["name"],
          registers: [],
        }),
    ),
    queueDuration: sharedMetric(
      registry,
      "workqueue_queue_duration_seconds",
      () =>
        new Histogram({
          name: "workqueue_queue_duration_seconds",
          help: "Time a key waits in the queue before a worker takes it.",
          labelNames: ["name"],
          buckets: durationBuckets,
          registers: [],
        }),
    ),
    workDuration: sharedMetric(
      registry,
      "workqueue_work_duration_seconds",
      () =>
        new Histogram({
          name: "workqueue_work_duration_seconds",
          help: "Time a worker spends on a key.",
          labelNames: ["name"],
          buckets: durationBuckets,
          registers: [],
        }),
    ),
  };
}

/**
 * A controller work queue (client-go's semantics): a key added while it waits is not added again;
 * a key is handed to one worker at a time, and if it is added while being worked it is queued
 * again when the worker calls done(); addRateLimited backs off per key until forget(key).
 */
export class WorkQueue {
  readonly name: string;
  readonly #clock: Clock;
  readonly #metrics: QueueMetrics | undefined;
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #queue: string[] = [];
  readonly #dirty = new Set<string>();
  /** Keys being worked on that were asked to go first when they are queued again. */
  readonly #first = new Set<string>();
  readonly #processing = new Map<string, number>();
  readonly #addedAt = new Map<string, number>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, { at: number; handle: unknown }>();
  #waiters: ((key: string | undefined) => void)[] = [];
  #shuttingDown = false;
  #drained: (() => void)[] = [];

  constructor(options: WorkQueueOptions) {
    this.name = options.name;
    this.#clock = options.clock ?? systemClock;
    this.#metrics = options.registry ? queueMetrics(options.registry) : undefined;
    this.#baseMs = options.backoffBaseMs ?? 5;
    this.#maxMs = options.backoffMaxMs ?? 5 * 60_000;
    this.#metrics?.depth.set({ name: this.name }, 0);
  }

  add(key: string): void {
    if (this.#shuttingDown) return;
    if (this.#dirty.has(key)) return;
    // Counted as client-go does: a key already waiting is not a new add.
    this.#metrics?.adds.inc({ name: this.name });
    this.#dirty.add(key);
    if (!this.#addedAt.has(key)) this.#addedAt.set(key, this.#clock.now());
    // Being worked on: done() queues it again, so no two workers ever hold the same key.
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  /**
   * Adds the key ahead of the keys waiting (or moves it there): for a key whose turn at something
   * shared and one-at-a-time has come, which should not wait behind everything queued meanwhile.
   */
  addFirst(key: string): void {
    if (this.#shuttingDown) return;
    if (this.#dirty.has(key)) {
      const at = this.#queue.indexOf(key);
      if (at > 0) this.#queue.unshift(...this.#queue.splice(at, 1));
      else if (at < 0) this.#first.add(key); // being worked on: first when done
      return;
    }
    this.#metrics?.adds.inc({ name: this.name });
    this.#dirty.add(key);
    if (!this.#addedAt.has(key)) this.#addedAt.set(key, this.#clock.now());
    if (this.#processing.has(key)) this.#first.add(key);
    else this.#push(key, true);
  }

  /** Adds the key after ms (an earlier pending add-after of the same key wins). */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.#clock.now() + ms;
    const pending = this.#delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.#clock.clearTimeout(pending.handle);
    const handle = this.#clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { at, handle });
  }

  /** Adds the key after its backoff, which doubles with each call until forget(key). */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    this.#metrics?.retries.inc({ name: this.name });
    this.addAfter(key, exponentialBackoff(failures, this.#baseMs, this.#maxMs));
  }

  /** Resets the key's backoff (after a success, or when it should not be retried). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The next key to work on; undefined once the queue is shut down and empty. Call done(key) after. */
  get(): Promise<string | undefined> {
    const key = this.#pop();
    if (key !== undefined) return Promise.resolve(key);
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: string): void {
    const started = this.#processing.get(key);
    if (started === undefined) return;
    this.#processing.delete(key);
    this.#metrics?.workDuration.observe({ name: this.name }, (this.#clock.now() - started) / 1000);
    if (this.#dirty.has(key)) this.#push(key, this.#first.delete(key));
    this.#checkDrained();
  }

  /** Keys waiting (not those being worked on). */
  len(): number {
    return this.#queue.length;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Stops accepting keys and drops pending add-afters. With drain (the default) workers still get
   * what is queued; without, the queue is emptied. Resolves when no key is queued or being worked.
   */
  shutDown(options: { drain?: boolean } = {}): Promise<void> {
    this.#shuttingDown = true;
    for (const { handle } of this.#delayed.values()) this.#clock.clearTimeout(handle);
    this.#delayed.clear();
    if (options.drain === false) {
      for (const key of this.#queue.splice(0)) this.#dirty.delete(key);
      for (const key of this.#dirty) if (!this.#processing.has(key)) this.#dirty.delete(key);
      this.#setDepth();
    }
    if (this.#queue.length === 0) for (const waiter of this.#waiters.splice(0)) waiter(undefined);
    return new Promise((resolve) => {
      this.#drained.push(resolve);
      this.#checkDrained();
    });
  }

  #push(key: string, first = false): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#take(key);
      waiter(key);
      return;
    }
    if (first) this.#queue.unshift(key);
    else this.#queue.push(key);
    this.#setDepth();
  }

  #pop(): string | undefined {
    const key = this.#queue.shift();
    if (key === undefined) return undefined;
    this.#setDepth();
    this.#take(key);
    return key;
  }

  #take(key: string): void {
    const now = this.#clock.now();
    this.#dirty.delete(key);
    this.#processing.set(key, now);
    const added = this.#addedAt.get(key);
    this.#addedAt.delete(key);
    if (added !== undefined) this.#metrics?.queueDuration.observe({ name: this.name }, (now - added) / 1000);
  }

  #setDepth(): void {
    this.#metrics?.depth.set({ name: this.name }, this.#queue.length);
  }

  #checkDrained(): void {
    if (!this.#shuttingDown) return;
    if (this.#queue.length === 0) for (const waiter of this.#waiters.splice(0)) waiter(undefined);
    if (this.#queue.length === 0 && this.#processing.size === 0)
      for (const resolve of this.#drained.splice(0)) resolve();
  }
}
