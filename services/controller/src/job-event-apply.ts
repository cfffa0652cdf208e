// A job event applied to a Runner's status: pure and idempotent. Applying the same event twice,
// or an older one after a newer one, never moves the Runner backwards (the phase by
// runner-phase.ts's rule; a job's completion is never forgotten).

import { Reasons, RunnerConditionTypes } from "@octorun/api";
import type { JobEvent } from "@octorun/bus";
import { type Condition, setCondition, toRfc3339 } from "@octorun/kube";
import { nextPhase, runningAJob } from "./runner-phase.ts";
import type { RunnerJobStatus, RunnerStatus } from "./types.ts";

export type JobEventOutcome =
  /** The status changed; write it, then acknowledge. */
  | { type: "apply"; status: RunnerStatus; becameActive: boolean; completed: boolean }
  /** Nothing to change (duplicate, redelivery, or an older event): acknowledge. */
  | { type: "unchanged"; why: string }
  /** The event can never apply to this Runner: terminate it. */
  | { type: "never"; why: string };

/** `status` with `event` (assigned or completed, for this runner) applied. `now` stands in for missing times. */
export function applyJobEvent(
  status: RunnerStatus | undefined,
  event: JobEvent,
  now: Date,
  generation?: number,
): JobEventOutcome {
  if (event.action !== "assigned" && event.action !== "completed") {
    return { type: "never", why: `a ${event.action} event names no runner` };
  }
  const current = status ?? {};
  const recorded = current.job;
  if (recorded && recorded.id !== event.job.id) {
    // An ephemeral runner takes one job. A different job id is an old runner's event under a reused name.
    return { type: "never", why: `the runner already ran job ${recorded.id}, not ${event.job.id}` };
  }
  const job: RunnerJobStatus = { ...(recorded ?? { id: event.job.id }) };
  job.runId ??= event.job.runId;
  job.runAttempt ??= event.job.runAttempt;
  if (event.job.name) job.name ??= event.job.name;
  job.repository ??= event.repository.fullName;
  if (event.job.workflowName) job.workflow ??= event.job.workflowName;
  // Event times are schema-checked RFC 3339; status keeps whole seconds, as metav1.Time does.
  const started = event.job.startedAt ? new Date(event.job.startedAt) : event.action === "assigned" ? now : undefined;
  if (started) job.assignedAt ??= toRfc3339(started);
  if (event.action === "completed") {
    job.completedAt ??= toRfc3339(event.job.completedAt ? new Date(event.job.completedAt) : now);
    if (event.job.conclusion) job.conclusion ??= event.job.conclusion;
  }

  const next: RunnerStatus = { ...current, job };
  // The runner took a job: Active, unless it already ended (then the job is only recorded).
  const phase = nextPhase(current.phase, "Active");
  const becameActive = phase !== (current.phase ?? "Pending");
  if (becameActive) next.phase = phase;
  let conditions = current.conditions as Condition[] | undefined;
  conditions = setCondition(
    conditions,
    {
      type: RunnerConditionTypes.JobAssigned,
      status: "True",
      reason: job.completedAt ? Reasons.JobCompleted : Reasons.JobAssigned,
      message: job.completedAt
        ? `Job ${job.id} completed${job.conclusion ? ` (${job.conclusion})` : ""}.`
        : `Job ${job.id} of ${job.repository ?? "?"} assigned.`,
      observedGeneration: generation,
    },
    now,
  );
  if (becameActive) {
    conditions = setCondition(conditions, { ...runningAJob, observedGeneration: generation }, now);
  }
  next.conditions = conditions;
  if (JSON.stringify(stableJob(next.job)) === JSON.stringify(stableJob(recorded)) && next.phase === current.phase) {
    return { type: "unchanged", why: `job ${event.job.id} ${event.action} is already recorded` };
  }
  return {
    type: "apply",
    status: next,
    becameActive,
    completed: event.action === "completed" && !recorded?.completedAt,
  };
}

function stableJob(job: RunnerJobStatus | undefined): [string, unknown][] {
  return Object.entries(job ?? {}).sort(([a], [b]) => a.localeCompare(b));
}
