// A Runner's phase: the one rule both of its writers follow, the Runner plan (from the Pod and
// GitHub) and a job event (from NATS). Phases only move forward, Pending → Idle → Active →
// Complete or Failed, and Complete and Failed are final: an event that arrives late, or twice,
// or a plan made from a cache that lags a job event's write, never moves a Runner back.

import { Reasons, RunnerConditionTypes } from "@octorun/api";
import type { ConditionUpdate } from "@octorun/kube";
import type { RunnerStatus } from "./types.ts";

export type RunnerPhase = NonNullable<RunnerStatus["phase"]>;

const RANK: Record<RunnerPhase, number> = { Pending: 0, Idle: 1, Active: 2, Complete: 3, Failed: 3 };

/** The phase once `observed` is seen in `current`: `observed` when it lies ahead, else `current`. */
export function nextPhase(current: RunnerPhase | undefined, observed: RunnerPhase): RunnerPhase {
  const from = current ?? "Pending";
  return RANK[observed] > RANK[from] ? observed : from;
}

/** What an Active runner's Online condition says, whoever noticed it took a job. */
export const runningAJob: Omit<ConditionUpdate, "observedGeneration"> = {
  type: RunnerConditionTypes.Online,
  status: "True",
  reason: Reasons.RunnerBusy,
  message: "Runner is running a job.",
};
