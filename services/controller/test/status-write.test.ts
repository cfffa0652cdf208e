import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { statusWriteDelay } from "../src/status-write.ts";
import type { RunnerStatus } from "../src/types.ts";

const T = "2026-01-02T03:04:05Z";
const cond = (type: string, status: "True" | "False", reason: string) => ({
  type: `runner.octorun.github.io/${type}`,
  status,
  reason,
  message: reason,
  lastTransitionTime: T,
});
const pending = (...conditions: ReturnType<typeof cond>[]): RunnerStatus => ({ phase: "Pending", conditions });

describe("status write delay", () => {
  const o: Parameters<typeof statusWriteDelay>[2] = { now: 10_000, deferredSince: undefined, deferMs: 5_000 };
  const cases: [string, RunnerStatus | undefined, RunnerStatus, typeof o, number][] = [
    ["a phase change is written at once", pending(), { phase: "Idle" }, o, 0],
    ["a runner with no status yet going straight to Idle: at once", undefined, { phase: "Idle" }, o, 0],
    [
      "a starting runner's first status (Pending) is written at once",
      undefined,
      pending(cond("PodReady", "False", "RunnerPodPending")),
      o,
      0,
    ],
    [
      "Pod Ready while Pending waits for what comes next",
      pending(cond("PodReady", "False", "RunnerPodPending")),
      pending(cond("PodReady", "True", "RunnerPodReady")),
      o,
      5_000,
    ],
    [
      "GitHub does not list it yet: a routine not-yet, waits",
      pending(),
      pending(cond("Online", "False", "RunnerOffline")),
      o,
      5_000,
    ],
    ["a failed registration is written at once", pending(), pending(cond("Registered", "False", "GitHubError")), o, 0],
    [
      "a rate-limited online check is written at once",
      pending(),
      pending(cond("Online", "False", "RateLimited")),
      o,
      0,
    ],
    [
      "a write put off 3 s ago waits only the rest",
      pending(),
      pending(cond("PodReady", "True", "RunnerPodReady")),
      { ...o, deferredSince: 7_000 },
      2_000,
    ],
    [
      "a write put off long enough goes now",
      pending(),
      pending(cond("PodReady", "True", "RunnerPodReady")),
      { ...o, deferredSince: 4_000 },
      0,
    ],
    [
      "outside Pending nothing waits (an Idle runner's condition)",
      { phase: "Idle" },
      { phase: "Idle", conditions: [cond("PodReady", "True", "RunnerPodReady")] },
      o,
      0,
    ],
  ];
  for (const [name, current, next, options, expected] of cases) {
    test(name, () => assert.equal(statusWriteDelay(current, next, options), expected));
  }
});
