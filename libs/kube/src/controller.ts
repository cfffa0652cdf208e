import type { Registry } from "prom-client";
import type { KubeLogger } from "./log.ts";
import { ReconcileLoop, type Reconciler } from "./reconcile-loop.ts";
import { WorkQueue } from "./work-queue.ts";

/** What the controller needs of an informer (any Informer<T> fits). */
export interface SyncedCache {
  waitForSync(signal?: AbortSignal): Promise<void>;
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  /** Every informer the reconciler reads from: workers start only once all have synced. */
  informers: SyncedCache[];
  concurrency?: number;
  registry?: Registry;
  logger?: KubeLogger;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

/**
 * A queue and its workers, started only after the caches they read are full. Wire informer
 * events to `controller.queue` with enqueueOnChange. A stopped controller cannot be restarted (a
 * replica that loses leadership should exit and start afresh, as client-go advises).
 */
export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly #informers: SyncedCache[];
  readonly #loop: ReconcileLoop;
  #started = false;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.#informers = options.informers;
    this.queue = new WorkQueue({
      name: options.name,
      registry: options.registry,
      backoffBaseMs: options.backoffBaseMs,
      backoffMaxMs: options.backoffMaxMs,
    });
    this.#loop = new ReconcileLoop({
      name: options.name,
      reconciler: options.reconciler,
      queue: this.queue,
      concurrency: options.concurrency,
      registry: options.registry,
      logger: options.logger,
    });
  }

  /** Waits for every informer's cache (they must have been started), then starts the workers. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.queue.shuttingDown) throw new Error(`controller ${this.name}: cannot start after stop`);
    await Promise.all(this.#informers.map((informer) => informer.waitForSync(signal)));
    if (this.queue.shuttingDown) return;
    this.#started = true;
    this.#loop.start();
  }

  /** True once the workers run (for a readiness check). */
  get started(): boolean {
    return this.#started;
  }

  /** Lets queued and in-flight reconciles finish, then returns. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }
}
