// The RunnerSet families, as the original octorun named them. Identity labels: namespace, runnerset.

import type { RunnerSet } from "@octorun/api";
import { conditionSamples } from "./conditions.ts";
import { type Labels, sample } from "./exposition.ts";
import { type FamilyGenerator, unixSeconds } from "./family.ts";
import { type LabelAllowlist, mapToPrometheusLabels } from "./label-names.ts";

export interface RunnerSetFamilyOptions {
  /** Metadata labels exported by octorun_runnerset_labels. */
  labelsAllowlist: LabelAllowlist;
}

function identity(set: RunnerSet): Labels {
  return [
    ["namespace", set.metadata?.namespace ?? ""],
    ["runnerset", set.metadata?.name ?? ""],
  ];
}

function gauge(name: string, help: string, value: (set: RunnerSet) => number | undefined): FamilyGenerator<RunnerSet> {
  return {
    name,
    help,
    type: "gauge",
    generate: (set) => {
      const v = value(set);
      return v === undefined ? "" : sample(name, identity(set), v);
    },
  };
}

/** Active runners per runner; 0 (never NaN) while the set has no runners. */
export function activeRatio(set: RunnerSet): number {
  const runners = set.status?.runners ?? 0;
  const active = set.status?.activeRunners ?? 0;
  return runners > 0 ? active / runners : 0;
}

export function runnerSetFamilies(options: RunnerSetFamilyOptions): FamilyGenerator<RunnerSet>[] {
  return [
    {
      name: "octorun_runnerset_labels",
      help: "Kubernetes labels converted to Prometheus labels.",
      type: "gauge",
      generate: (set) =>
        sample(
          "octorun_runnerset_labels",
          [...identity(set), ...mapToPrometheusLabels("label", set.metadata?.labels, options.labelsAllowlist)],
          1,
        ),
    },
    gauge("octorun_runnerset_created", "Unix creation timestamp", (set) =>
      unixSeconds(set.metadata?.creationTimestamp),
    ),
    gauge("octorun_runnerset_spec_runners", "Number of desired runners.", (set) => set.spec?.runners),
    gauge(
      "octorun_runnerset_status_runners",
      "Most recently observed number of runners.",
      (set) => set.status?.runners ?? 0,
    ),
    gauge(
      "octorun_runnerset_status_idle_runners",
      "Most recently observed number of idle runners.",
      (set) => set.status?.idleRunners ?? 0,
    ),
    gauge(
      "octorun_runnerset_status_active_runners",
      "Most recently observed number of active runners.",
      (set) => set.status?.activeRunners ?? 0,
    ),
    {
      name: "octorun_runnerset_status_conditions",
      help: "Current status conditions.",
      type: "gauge",
      generate: (set) => conditionSamples("octorun_runnerset_status_conditions", identity(set), set.status?.conditions),
    },
    gauge("octorun_runnerset_runner_active_ratio", "Ratio of active runners per total runners.", activeRatio),
  ];
}
