// When a Runner's new status is written. A phase change (the first Pending included), and anything
// that went wrong, is written at once. The routine progress of a starting runner (its Pod
// scheduled and Ready, GitHub not listing it online yet, the generation its spec writes bumped)
// waits up to a few seconds: a runner that starts quickly goes from Pending to Idle in two writes,
// and one that takes its time still shows where it is. Each status write costs the apiserver a full
// update of the Runner and a watch event to every client.

import { Reasons } from "@octorun/api";
import type { Condition } from "@octorun/kube";
import type { RunnerStatus } from "./types.ts";

/** Reasons of a False condition that only say "not yet". */
const NOT_YET = new Set<string>([Reasons.RunnerPodPending, Reasons.RunnerOffline]);

/**
 * 0: write now; otherwise the milliseconds the write may still wait for the next change to join
 * it. `deferredSince` is when a write was first put off (undefined when none is waiting).
 */
export function statusWriteDelay(
  current: RunnerStatus | undefined,
  next: RunnerStatus,
  o: { now: number; deferredSince: number | undefined; deferMs: number },
): number {
  // A Runner shows Pending from its first status on: only progress within Pending waits.
  const phase = current?.phase;
  if (next.phase !== phase || phase !== "Pending") return 0;
  const before = new Map((current?.conditions as Condition[] | undefined)?.map((c) => [c.type, c]) ?? []);
  for (const c of (next.conditions as Condition[] | undefined) ?? []) {
    const old = before.get(c.type);
    const changed = !old || old.status !== c.status || old.reason !== c.reason || old.message !== c.message;
    if (changed && c.status === "False" && !NOT_YET.has(c.reason ?? "")) return 0;
  }
  return Math.max(0, (o.deferredSince ?? o.now) + o.deferMs - o.now);
}
