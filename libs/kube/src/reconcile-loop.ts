import { Counter, Histogram, type Registry } from "prom-client";
import { isConflict, TerminalError } from "./errors.ts";
import { errorMessage, type KubeLogger, silentLogger } from "./log.ts";
import { sharedMetric } from "./metrics.ts";
import type { WorkQueue } from "./work-queue.ts";

export type ReconcileResult = { type: "done" } | { type: "requeueAfter"; ms: number };

export const done = (): ReconcileResult => ({ type: "done" });
export const requeueAfter = (ms: number): ReconcileResult => ({ type: "requeueAfter", ms });

/**
 * Level-based: given a key, re-read everything and make the world match. Return done, ask to be
 * called again after N ms, throw to be retried with backoff, or throw TerminalError to give up.
 */
export interface Reconciler {
  reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult>;
}

export type ReconcileOutcome = "success" | "requeue" | "conflict" | "error" | "terminal";

export interface ReconcileLoopOptions {
  /** The controller's name: metric label and log field. */
  name: string;
  reconciler: Reconciler;
  queue: WorkQueue;
  /** Workers, i.e. keys reconciled at once. */
  concurrency?: number;
  registry?: Registry;
  logger?: KubeLogger;
  /** How long stop() lets in-flight reconciles run before aborting their signal. */
  shutdownGraceMs?: number;
}

interface LoopMetrics {
  total: Counter<"controller" | "result">;
  duration: Histogram<"controller">;
}

function loopMetrics(registry: Registry): LoopMetrics {
  return {
    total: sharedMetric(
      registry,
      "reconcile_total",
      () =>
        new Counter({
          name: "reconcile_total",
          help: "Reconciles by controller and result (success, requeue, conflict, error, terminal).",
          labelNames: ["controller", "result"],
          registers: [],
        }),
    ),
    duration: sharedMetric(
      registry,
      "reconcile_duration_seconds",
      () =>
        new Histogram({
          name: "reconcile_duration_seconds",
          help: "Time one reconcile takes.",
          labelNames: ["controller"],
          buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers: [],
        }),
    ),
  };
}

/**
 * Workers that take keys from the queue and reconcile them. The loop alone maps a reconcile's
 * outcome to queue actions and metrics; a reconciler that throws (anything, even a non-Error) never
 * kills a worker.
 */
export class ReconcileLoop {
  readonly name: string;
  readonly #options: ReconcileLoopOptions;
  readonly #logger: KubeLogger;
  readonly #metrics: LoopMetrics | undefined;
  readonly #abort = new AbortController();
  #workers: Promise<void>[] = [];

  constructor(options: ReconcileLoopOptions) {
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new Error(`reconcile loop ${options.name}: concurrency must be a positive integer, got ${concurrency}`);
    }
    this.name = options.name;
    this.#options = { ...options, concurrency };
    this.#logger = options.logger ?? silentLogger;
    this.#metrics = options.registry ? loopMetrics(options.registry) : undefined;
    if (this.#metrics) {
      for (const result of ["success", "requeue", "error", "terminal"] as const) {
        this.#metrics.total.inc({ controller: this.name, result }, 0);
      }
    }
  }

  start(): void {
    if (this.#workers.length > 0) return;
    for (let i = 0; i < (this.#options.concurrency ?? 1); i++) this.#workers.push(this.#work());
  }

  /** Shuts the queue down, lets queued and in-flight keys finish (aborting them after the grace period). */
  async stop(): Promise<void> {
    const drained = this.#options.queue.shutDown();
    const grace = setTimeout(() => this.#abort.abort(), this.#options.shutdownGraceMs ?? 10_000);
    await drained;
    await Promise.all(this.#workers);
    clearTimeout(grace);
  }

  async #work(): Promise<void> {
    const queue = this.#options.queue;
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await this.reconcileKey(key);
      } finally {
        queue.done(key);
      }
    }
  }

  /** One reconcile of one key with its outcome applied to the queue; exposed for tests. */
  async reconcileKey(key: string): Promise<ReconcileOutcome> {
    const queue = this.#options.queue;
    const started = performance.now();
    let outcome: ReconcileOutcome;
    try {
      const result = await this.#options.reconciler.reconcile(key, this.#abort.signal);
      if (result?.type === "done") {
        queue.forget(key);
        outcome = "success";
      } else if (result?.type === "requeueAfter" && Number.isFinite(result.ms) && result.ms >= 0) {
        queue.forget(key);
        queue.addAfter(key, result.ms);
        outcome = "requeue";
        this.#logger.debug("reconcile requeued", { controller: this.name, key, afterMs: result.ms });
      } else {
        throw new Error(`reconciler returned an invalid result: ${JSON.stringify(result)}`);
      }
    } catch (error) {
      if (error instanceof TerminalError) {
        queue.forget(key);
        outcome = "terminal";
        this.#logger.error("reconcile failed for good", { controller: this.name, key, error: errorMessage(error) });
      } else {
        // Retried with the key's backoff. A 409 is a write that lost a race with another writer (the
        // cache was behind; the watch brings the new version): retried the same way, but no failure.
        queue.addRateLimited(key);
        outcome = isConflict(error) ? "conflict" : "error";
        const details = { controller: this.name, key, error: errorMessage(error), retries: queue.numRequeues(key) };
        if (outcome === "conflict") this.#logger.debug("reconcile met a newer version, will retry", details);
        else this.#logger.warn("reconcile failed, will retry", details);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    if (outcome === "success")
      this.#logger.debug("reconciled", { controller: this.name, key, durationMs: Math.round(seconds * 1000) });
    this.#metrics?.total.inc({ controller: this.name, result: outcome });
    this.#metrics?.duration.observe({ controller: this.name }, seconds);
    return outcome;
  }
}
