// The RunnerSet metrics an HPA scales on, as custom.metrics.k8s.io object metrics. Each is a pure
// function of the RunnerSet and of the jobs waiting for it, named as the prometheus-adapter rules
// of deploy/prometheus-adapter name the same numbers, so one HPA works with either path.

import type { RunnerSet } from "@octorun/api";
import { activeRatio } from "./runnerset-families.ts";

export interface RunnerSetMetricInput {
  set: RunnerSet;
  /** Jobs waiting for a runner that this RunnerSet's runners could take (labels and scope match). */
  queuedJobs: number;
}

export interface RunnerSetObjectMetric {
  name: string;
  description: string;
  value(input: RunnerSetMetricInput): number;
}

/**
 * Runners the RunnerSet's jobs need now: one per Active runner and one per job waiting for one.
 * An HPA with `target: {type: AverageValue, averageValue: 1}` asks for exactly this many runners.
 */
export function runnerDemand({ set, queuedJobs }: RunnerSetMetricInput): number {
  return (set.status?.activeRunners ?? 0) + queuedJobs;
}

export const runnerSetObjectMetrics: readonly RunnerSetObjectMetric[] = [
  {
    name: "octorun_runnerset_runner_demand",
    description: "Active runners plus waiting jobs this RunnerSet could take",
    value: runnerDemand,
  },
  {
    name: "octorun_runnerset_runner_active_ratio",
    description: "Active runners per runner (0 without runners)",
    value: ({ set }) => activeRatio(set),
  },
  {
    name: "octorun_runnerset_queued_jobs",
    description: "Jobs waiting for a runner that this RunnerSet's runners could take",
    value: ({ queuedJobs }) => queuedJobs,
  },
  {
    name: "octorun_runnerset_status_idle_runners",
    description: "Idle runners (online, no job)",
    value: ({ set }) => set.status?.idleRunners ?? 0,
  },
];

/** A number as a Kubernetes quantity: integers as they are, anything else in thousandths ("750m"). */
export function quantity(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const milli = Math.round(value * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}
