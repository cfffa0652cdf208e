// The Runner families: the original octorun's (labels, created, status_phase, status_conditions)
// plus octorun_runner_info. Identity labels: namespace, runner.

import { RUNNER_PHASES, type Runner } from "@octorun/api";
import { conditionSamples } from "./conditions.ts";
import { type Labels, sample } from "./exposition.ts";
import { type FamilyGenerator, unixSeconds } from "./family.ts";
import { type LabelAllowlist, mapToPrometheusLabels } from "./label-names.ts";

export interface RunnerFamilyOptions {
  /** Metadata labels exported by octorun_runner_labels. */
  labelsAllowlist: LabelAllowlist;
}

function identity(runner: Runner): Labels {
  return [
    ["namespace", runner.metadata?.namespace ?? ""],
    ["runner", runner.metadata?.name ?? ""],
  ];
}

export function runnerFamilies(options: RunnerFamilyOptions): FamilyGenerator<Runner>[] {
  return [
    {
      name: "octorun_runner_labels",
      help: "Kubernetes labels converted to Prometheus labels.",
      type: "gauge",
      generate: (runner) =>
        sample(
          "octorun_runner_labels",
          [...identity(runner), ...mapToPrometheusLabels("label", runner.metadata?.labels, options.labelsAllowlist)],
          1,
        ),
    },
    {
      name: "octorun_runner_created",
      help: "Unix creation timestamp",
      type: "gauge",
      generate: (runner) => {
        const created = unixSeconds(runner.metadata?.creationTimestamp);
        return created === undefined ? "" : sample("octorun_runner_created", identity(runner), created);
      },
    },
    {
      name: "octorun_runner_info",
      help: "Information about the runner: its GitHub URL, runner group, GitHub runner id and operating system.",
      type: "gauge",
      generate: (runner) =>
        sample(
          "octorun_runner_info",
          [
            ...identity(runner),
            ["url", runner.spec?.url ?? ""],
            ["group", runner.spec?.group ?? ""],
            ["runner_id", runner.spec?.id === undefined ? "" : String(runner.spec.id)],
            ["os", runner.spec?.os ?? ""],
          ],
          1,
        ),
    },
    {
      name: "octorun_runner_status_phase",
      help: "Current status phase.",
      type: "gauge",
      generate: (runner) => {
        const phase = runner.status?.phase;
        if (!phase) return "";
        let text = "";
        for (const candidate of RUNNER_PHASES) {
          text += sample(
            "octorun_runner_status_phase",
            [...identity(runner), ["phase", candidate]],
            phase === candidate ? 1 : 0,
          );
        }
        return text;
      },
    },
    {
      name: "octorun_runner_status_conditions",
      help: "Current status conditions.",
      type: "gauge",
      generate: (runner) =>
        conditionSamples("octorun_runner_status_conditions", identity(runner), runner.status?.conditions),
    },
  ];
}
