// The controller's own metrics (the work queue and reconcile loop metrics come from @octorun/kube).
import { Counter, Histogram, type Registry } from "prom-client";

export class ControllerMetrics {
  readonly githubCalls: Counter<"operation" | "outcome">;
  readonly jobEvents: Counter<"action" | "outcome">;
  readonly jobEventLatency: Histogram<"action">;
  readonly jobEventWait: Histogram<"action">;
  readonly runnersCreated: Counter<"reason">;
  readonly runnersDeleted: Counter<"reason">;

  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    this.githubCalls = new Counter({
      name: "octorun_controller_github_calls_total",
      help: "GitHub API operations the controller started, by operation and outcome (ok or the error class).",
      labelNames: ["operation", "outcome"],
      registers,
    });
    this.jobEvents = new Counter({
      name: "octorun_controller_job_events_total",
      help: "Job events handled, by action and outcome (applied, unchanged, unknown_runner, no_runner, never, retry).",
      labelNames: ["action", "outcome"],
      registers,
    });
    this.jobEventLatency = new Histogram({
      name: "octorun_controller_job_event_apply_seconds",
      help: "From receiving a job event to its Runner status being written.",
      labelNames: ["action"],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.jobEventWait = new Histogram({
      name: "octorun_controller_job_event_wait_seconds",
      help: "From JetStream storing a job event to the controller starting to handle it (a redelivery counts from the first store).",
      labelNames: ["action"],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers,
    });
    this.runnersCreated = new Counter({
      name: "octorun_controller_runnerset_runners_created_total",
      help: "Runners a RunnerSet created.",
      labelNames: ["reason"],
      registers,
    });
    this.runnersDeleted = new Counter({
      name: "octorun_controller_runnerset_runners_deleted_total",
      help: "Runners a RunnerSet deleted, by reason (Complete, Failed, ScaleDown, RollingUpdate).",
      labelNames: ["reason"],
      registers,
    });
  }
}
