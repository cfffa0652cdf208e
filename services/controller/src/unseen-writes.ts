// Writes this process made for a Runner that its caches have not shown yet. Planning from a cache
// that lags them would register the runner again, create its Pod twice or write a status from
// before its own spec change; so the next plan waits until the caches show them (the watch events
// wake it), for a bounded time in case an object was deleted before the cache ever saw it.

export interface UnseenWrites {
  /** The Runner's generation after this process's last spec write. */
  generation?: number | undefined;
  /** The Secret and Pod this process created. */
  secretUid?: string | undefined;
  podUid?: string | undefined;
  /** When the oldest of them was written (epoch ms). */
  since: number;
}

export interface CachedState {
  generation: number | undefined;
  secretUid: string | undefined;
  podUid: string | undefined;
}

/** The writes still unseen, or undefined when the caches show them all or they are older than `timeoutMs`. */
export function stillUnseen(
  writes: UnseenWrites | undefined,
  cached: CachedState,
  now: number,
  timeoutMs: number,
): UnseenWrites | undefined {
  if (!writes || now - writes.since >= timeoutMs) return undefined;
  const left: UnseenWrites = { since: writes.since };
  if (writes.generation !== undefined && (cached.generation ?? 0) < writes.generation)
    left.generation = writes.generation;
  if (writes.secretUid !== undefined && cached.secretUid !== writes.secretUid) left.secretUid = writes.secretUid;
  if (writes.podUid !== undefined && cached.podUid !== writes.podUid) left.podUid = writes.podUid;
  return left.generation === undefined && left.secretUid === undefined && left.podUid === undefined ? undefined : left;
}

/** `writes` with one more write noted. */
export function noteWrite(
  writes: UnseenWrites | undefined,
  write: Partial<Omit<UnseenWrites, "since">>,
  now: number,
): UnseenWrites {
  return { ...(writes ?? { since: now }), ...write };
}
