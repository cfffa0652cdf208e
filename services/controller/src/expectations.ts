// Expectations, as the ReplicaSet controller keeps them: after a RunnerSet creates or deletes
// Runners, its next decision waits until the Runner cache has seen those writes, so that a stale
// cache never makes it create (or delete) the same runners twice.

export interface ExpectationCache {
  /** The Runner named `namespace/name` is in the cache. */
  has(key: string): boolean;
  /** The Runner with this key is gone from the cache or marked for deletion. */
  goneOrDeleting(key: string, uid: string): boolean;
}

interface Pending {
  creates: Set<string>;
  deletes: Map<string, string>;
  since: number;
}

export class Expectations {
  readonly #pending = new Map<string, Pending>();
  readonly #timeoutMs: number;
  readonly #now: () => number;

  constructor(options: { timeoutMs?: number; now?: () => number } = {}) {
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  #entry(owner: string): Pending {
    let entry = this.#pending.get(owner);
    if (!entry) {
      entry = { creates: new Set(), deletes: new Map(), since: this.#now() };
      this.#pending.set(owner, entry);
    }
    return entry;
  }

  expectCreate(owner: string, runnerKey: string): void {
    this.#entry(owner).creates.add(runnerKey);
  }

  expectDelete(owner: string, runnerKey: string, uid: string): void {
    this.#entry(owner).deletes.set(runnerKey, uid);
  }

  /** Whether the cache has caught up with the owner's writes (or they are too old to wait for). */
  satisfied(owner: string, cache: ExpectationCache): boolean {
    const entry = this.#pending.get(owner);
    if (!entry) return true;
    for (const key of entry.creates) if (cache.has(key)) entry.creates.delete(key);
    for (const [key, uid] of entry.deletes) if (cache.goneOrDeleting(key, uid)) entry.deletes.delete(key);
    if ((entry.creates.size === 0 && entry.deletes.size === 0) || this.#now() - entry.since > this.#timeoutMs) {
      this.#pending.delete(owner);
      return true;
    }
    return false;
  }

  forget(owner: string): void {
    this.#pending.delete(owner);
  }
}
