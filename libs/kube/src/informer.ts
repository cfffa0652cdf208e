import type { KubernetesObject } from "@kubernetes/client-node";
import { exponentialBackoff, jitter, sleep } from "./backoff.ts";
import type { KubeClient } from "./client.ts";
import { KubeApiError } from "./errors.ts";
import { errorMessage, type KubeLogger, silentLogger } from "./log.ts";
import { apiVersionOf, objectKey, type ResourceType, resourcePath } from "./resource.ts";
import { openWatch } from "./watch-stream.ts";

export type IndexFunction<T> = (obj: T) => string[];

export interface InformerOptions<T extends KubernetesObject> {
  client: KubeClient;
  type: ResourceType;
  /**
   * Watch these namespaces only, each with its own list and watch (so that a service granted only
   * these namespaces never asks for the whole cluster); all namespaces when absent or empty.
   */
  namespaces?: readonly string[] | undefined;
  labelSelector?: string;
  fieldSelector?: string;
  /** Named indexes over the cache, e.g. `{ runnerName: (r) => [r.status.runnerName] }`. */
  indexers?: Record<string, IndexFunction<T>>;
  /** Every resyncMs, handlers get an `update` for every cached object (0 = never). */
  resyncMs?: number;
  /**
   * Every relistMs, the informer lists again and emits the differences a watch may have missed
   * (default 10 minutes; 0 = never).
   */
  relistMs?: number;
  /** Backoff for a failing list or watch. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Page size of the initial list. */
  pageSize?: number;
  /**
   * Cuts each object down to what the service reads before it is cached or handed to handlers
   * (client-go's TransformFunc): list pages are transformed as they arrive, so the first list of a
   * large cluster never sits in memory whole. It may change the object in place.
   */
  transform?: (obj: T) => T;
  logger?: KubeLogger;
}

export interface InformerHandlers<T> {
  add: (obj: T) => void;
  update: (oldObj: T, newObj: T) => void;
  delete: (obj: T) => void;
}

type WatchOutcome = "closed" | "gone" | "relist" | "stopped";

/** One list+watch of the informer: the whole cluster, or one of its namespaces. */
interface Scope {
  namespace: string | undefined;
  resourceVersion: string;
  synced: boolean;
  relistDue: boolean;
  abortWatch: (() => void) | undefined;
}

/**
 * A list+watch cache of one resource (in the whole cluster, or in a set of namespaces: one list and
 * watch each, one cache). `start()` begins listing and watching; `waitForSync()`
 * resolves once the first list is in the cache. A broken watch is resumed from the last resource
 * version with backoff; 410 Gone (or a periodic relist) lists again and emits add/update/delete for
 * what changed meanwhile. Handlers are called in event order and must not throw (errors are logged).
 */
export class Informer<T extends KubernetesObject> {
  readonly type: ResourceType;
  readonly #options: InformerOptions<T>;
  readonly #logger: KubeLogger;
  readonly #cache = new Map<string, T>();
  readonly #indexers: Record<string, IndexFunction<T>>;
  readonly #indexes = new Map<string, Map<string, Set<string>>>();
  readonly #handlers: { [K in keyof InformerHandlers<T>]: InformerHandlers<T>[K][] } = {
    add: [],
    update: [],
    delete: [],
  };
  readonly #scopes: Scope[];
  #synced = false;
  #syncWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #stop = new AbortController();
  #running: Promise<unknown> | undefined;
  #timers: NodeJS.Timeout[] = [];
  /** How many lists the informer made (first one included): a test and a metric can read it. */
  listCount = 0;

  constructor(options: InformerOptions<T>) {
    this.#options = options;
    this.type = options.type;
    this.#logger = options.logger ?? silentLogger;
    this.#indexers = options.indexers ?? {};
    for (const name of Object.keys(this.#indexers)) this.#indexes.set(name, new Map());
    const namespaces = options.namespaces?.length ? [...new Set(options.namespaces)] : [undefined];
    this.#scopes = namespaces.map((namespace) => ({
      namespace,
      resourceVersion: "",
      synced: false,
      relistDue: false,
      abortWatch: undefined,
    }));
  }

  on<K extends keyof InformerHandlers<T>>(event: K, handler: InformerHandlers<T>[K]): this {
    this.#handlers[event].push(handler);
    return this;
  }

  /** Starts listing and watching in the background; see waitForSync. */
  start(): void {
    if (this.#running) return;
    this.#stop = new AbortController();
    this.#running = Promise.all(this.#scopes.map((scope) => this.#run(scope)));
    const { resyncMs = 0, relistMs = 10 * 60_000 } = this.#options;
    if (resyncMs > 0) this.#timers.push(setInterval(() => this.#resync(), resyncMs));
    if (relistMs > 0) this.#timers.push(setInterval(() => this.relist(), relistMs));
  }

  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#stop.abort();
    for (const scope of this.#scopes) scope.abortWatch?.();
    await this.#running;
    this.#running = undefined;
    for (const waiter of this.#syncWaiters.splice(0)) {
      waiter.reject(new Error(`informer ${this.type.plural}: stopped before the cache synced`));
    }
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves when the first list is in the cache; rejects if the signal aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const stopped = () => new Error(`informer ${this.type.plural}: stopped before the cache synced`);
      const onAbort = () => reject(stopped());
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#syncWaiters.push({
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      });
    });
  }

  /** Asks for a relist now (the current watch is closed and resumed from the new list). */
  relist(): void {
    for (const scope of this.#scopes) {
      scope.relistDue = true;
      scope.abortWatch?.();
    }
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  keys(): string[] {
    return [...this.#cache.keys()];
  }

  get size(): number {
    return this.#cache.size;
  }

  /** Objects whose index `indexName` contains `value`. */
  byIndex(indexName: string, value: string): T[] {
    const index = this.#indexes.get(indexName);
    if (!index) throw new Error(`informer ${this.type.plural}: no index named "${indexName}"`);
    const keys = index.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const key of keys) {
      const obj = this.#cache.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  async #run(scope: Scope): Promise<void> {
    const { backoffBaseMs = 500, backoffMaxMs = 30_000 } = this.#options;
    const signal = this.#stop.signal;
    let needList = true;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (needList || scope.relistDue) {
          scope.relistDue = false;
          await this.#listAndReplace(scope, signal);
          needList = false;
        }
        const started = Date.now();
        const outcome = await this.#watch(scope, signal);
        if (outcome === "gone" || outcome === "relist") needList = true;
        if (outcome === "gone")
          this.#logger.info("watch expired (410 Gone), relisting", {
            resource: this.type.plural,
            namespace: scope.namespace,
          });
        // A watch that lived a while was healthy; a watch that closes at once repeatedly is a failure.
        if (outcome === "closed" && Date.now() - started < 1_000) throw new Error("watch closed immediately");
        failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof KubeApiError && error.statusCode === 410) needList = true;
        failures++;
        const delay = jitter(exponentialBackoff(failures, backoffBaseMs, backoffMaxMs));
        this.#logger.warn("list/watch failed, retrying", {
          resource: this.type.plural,
          namespace: scope.namespace,
          error: errorMessage(error),
          attempt: failures,
          retryInMs: Math.round(delay),
        });
        await sleep(delay, signal);
      }
    }
  }

  async #listAndReplace(scope: Scope, signal: AbortSignal): Promise<void> {
    const { client, labelSelector, fieldSelector, pageSize = 500 } = this.#options;
    const { namespace } = scope;
    const items: T[] = [];
    let resourceVersion = "";
    let continueToken: string | undefined;
    let limit: number | undefined = pageSize;
    do {
      try {
        const page = await client.list<T>(this.type, {
          namespace,
          labelSelector,
          fieldSelector,
          limit,
          continue: continueToken,
          signal,
        });
        const transform = this.#options.transform;
        for (const item of page.items) items.push(transform ? transform(item) : item);
        resourceVersion = page.metadata.resourceVersion ?? "";
        continueToken = page.metadata.continue || undefined;
      } catch (error) {
        // The continue token expired between pages: list again in one go.
        if (error instanceof KubeApiError && error.statusCode === 410 && continueToken) {
          items.length = 0;
          continueToken = undefined;
          limit = undefined;
          continue;
        }
        throw error;
      }
    } while (continueToken);
    this.listCount++;
    this.#replace(scope, items, resourceVersion);
  }

  /** Replaces the scope's part of the cache with a fresh list, emitting the differences as events. */
  #replace(scope: Scope, items: T[], resourceVersion: string): void {
    const fresh = new Map<string, T>();
    for (const item of items) {
      // List items come without apiVersion and kind; watch events carry them. Make both look the same.
      item.apiVersion ??= apiVersionOf(this.type);
      item.kind ??= this.type.kind;
      fresh.set(objectKey(item), item);
    }
    const old = new Map(
      scope.namespace === undefined
        ? this.#cache
        : [...this.#cache].filter(([, obj]) => obj.metadata?.namespace === scope.namespace),
    );
    for (const [key, obj] of fresh) {
      const previous = old.get(key);
      this.#store(key, obj);
      if (!previous) this.#emit("add", obj);
      else if (previous.metadata?.resourceVersion !== obj.metadata?.resourceVersion)
        this.#emit("update", previous, obj);
    }
    for (const [key, obj] of old) {
      if (!fresh.has(key)) {
        this.#remove(key);
        this.#emit("delete", obj);
      }
    }
    scope.resourceVersion = resourceVersion;
    scope.synced = true;
    if (!this.#synced && this.#scopes.every((s) => s.synced)) {
      this.#synced = true;
      for (const waiter of this.#syncWaiters.splice(0)) waiter.resolve();
    }
  }

  #watch(scope: Scope, signal: AbortSignal): Promise<WatchOutcome> {
    const { client, labelSelector, fieldSelector } = this.#options;
    const path = resourcePath(this.type, scope.namespace);
    return new Promise<WatchOutcome>((resolve, reject) => {
      let outcome: WatchOutcome | undefined;
      let controller: AbortController | undefined;
      const finish = (value: WatchOutcome) => {
        outcome ??= value;
        controller?.abort();
      };
      scope.abortWatch = () => finish(signal.aborted ? "stopped" : "relist");
      if (signal.aborted || scope.relistDue) return resolve(signal.aborted ? "stopped" : "relist");
      openWatch(
        {
          kubeConfig: client.kubeConfig,
          path,
          query: {
            resourceVersion: scope.resourceVersion,
            allowWatchBookmarks: true,
            labelSelector,
            fieldSelector,
            // The server ends a watch after this; spread reconnects of many informers apart.
            timeoutSeconds: Math.round(240 + Math.random() * 120),
          },
        },
        (phase, obj) => {
          if (outcome) return;
          if (phase === "ERROR") {
            const status = obj as { code?: number; message?: string };
            if (status.code === 410) return finish("gone");
            outcome = "closed";
            reject(new KubeApiError("WATCH", path, status.code ?? 500, obj));
            controller?.abort();
            return;
          }
          const transform = this.#options.transform;
          this.#apply(scope, phase, transform && phase !== "BOOKMARK" ? transform(obj as T) : (obj as T));
        },
        (error: unknown) => {
          scope.abortWatch = undefined;
          if (outcome) return resolve(outcome);
          if (signal.aborted) return resolve("stopped");
          const name = (error as { name?: string } | null)?.name;
          // No error (server closed the stream) or the client's inactivity timeout: resume from the last version.
          if (!error || name === "TimeoutError") return resolve("closed");
          const statusCode = (error as { statusCode?: number }).statusCode;
          if (statusCode === 410) return resolve("gone");
          reject(statusCode ? new KubeApiError("WATCH", path, statusCode, undefined, { cause: error }) : error);
        },
      ).then((c) => {
        controller = c;
        if (outcome) c.abort();
      }, reject);
    });
  }

  #apply(scope: Scope, phase: string, obj: T): void {
    const rv = obj.metadata?.resourceVersion;
    if (phase === "BOOKMARK") {
      if (rv) scope.resourceVersion = rv;
      return;
    }
    const key = objectKey(obj);
    const previous = this.#cache.get(key);
    if (phase === "ADDED" || phase === "MODIFIED") {
      this.#store(key, obj);
      if (previous) this.#emit("update", previous, obj);
      else this.#emit("add", obj);
    } else if (phase === "DELETED") {
      this.#remove(key);
      this.#emit("delete", obj);
    }
    if (rv) scope.resourceVersion = rv;
  }

  #store(key: string, obj: T): void {
    const previous = this.#cache.get(key);
    if (previous) this.#unindex(key, previous);
    this.#cache.set(key, obj);
    for (const [name, fn] of Object.entries(this.#indexers)) {
      const index = this.#indexes.get(name)!;
      for (const value of safeIndex(fn, obj)) {
        const keys = index.get(value) ?? new Set<string>();
        keys.add(key);
        index.set(value, keys);
      }
    }
  }

  #remove(key: string): void {
    const previous = this.#cache.get(key);
    if (previous) this.#unindex(key, previous);
    this.#cache.delete(key);
  }

  #unindex(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.#indexers)) {
      const index = this.#indexes.get(name)!;
      for (const value of safeIndex(fn, obj)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }

  #resync(): void {
    for (const obj of this.#cache.values()) this.#emit("update", obj, obj);
  }

  #emit(event: "add" | "delete", obj: T): void;
  #emit(event: "update", oldObj: T, newObj: T): void;
  #emit(event: keyof InformerHandlers<T>, a: T, b?: T): void {
    for (const handler of this.#handlers[event]) {
      try {
        if (event === "update") (handler as InformerHandlers<T>["update"])(a, b as T);
        else (handler as (obj: T) => void)(a);
      } catch (error) {
        this.#logger.error("informer event handler failed", {
          resource: this.type.plural,
          event,
          key: objectKey(a),
          error: errorMessage(error),
        });
      }
    }
  }
}

/** Index functions see objects the user wrote; one that throws indexes nothing rather than breaking the cache. */
function safeIndex<T>(fn: IndexFunction<T>, obj: T): string[] {
  try {
    return fn(obj);
  } catch {
    return [];
  }
}
