// What state-metrics remembers of each job it read from the job stream: how far it got (queued,
// assigned, completed), its runs-on labels while it waits, and which RunnerSet ran it. Stages
// only move forward, so events applied twice or out of order (redelivery, a replay after a
// restart) give the same result. Pure: no clock, no I/O.

import type { JobEvent } from "@octorun/bus";

export type JobStage = "queued" | "assigned" | "completed";
const rank: Record<JobStage, number> = { queued: 0, assigned: 1, completed: 2 };

/** Where a job ran among octorun's runners. `runnerset` is "" for a Runner outside any RunnerSet. */
export interface Placement {
  namespace: string;
  runnerset: string;
}

export interface TrackedJob {
  id: number;
  stage: JobStage;
  /** The runs-on labels, kept while the job waits (matching RunnerSets need them). */
  labels: readonly string[];
  /** `owner/name`, lower case. */
  repository: string;
  /** The repository owner's login, lower case. */
  owner: string;
  createdAtMs: number;
  startedAtMs: number | undefined;
  placement: Placement | undefined;
  /** When this book last changed the entry (for pruning). */
  touchedAtMs: number;
}

/** What applying one event changed: which durations to observe, at most once per job. */
export interface JobTransition {
  job: TrackedJob;
  /** The job reached `assigned` (or `completed` without a recorded `assigned`) just now. */
  newlyAssigned: boolean;
  newlyCompleted: boolean;
}

export interface RetentionMs {
  /** A job still queued after this is dropped (GitHub cancels jobs that wait 24 hours). */
  queued: number;
  /** An assigned job that never completes (lost event) is forgotten after this. */
  assigned: number;
  /** A completed job is remembered this long, so a redelivered event is not counted again. */
  completed: number;
}

export const defaultRetentionMs: RetentionMs = {
  queued: 24 * 3600_000,
  assigned: 5 * 24 * 3600_000,
  completed: 3600_000,
};

function stageOf(event: JobEvent): JobStage {
  return event.action === "queued" || event.action === "waiting" ? "queued" : event.action;
}

function ms(timestamp: string | null | undefined): number | undefined {
  if (!timestamp) return undefined;
  const value = Date.parse(timestamp);
  return Number.isNaN(value) ? undefined : value;
}

export class JobBook {
  readonly #jobs = new Map<number, TrackedJob>();
  #queued = 0;

  /**
   * Records an event. `placementOf` tells where the event's runner belongs among octorun's
   * Runners (undefined for a runner octorun does not own); it is asked only when the event names one.
   */
  apply(event: JobEvent, nowMs: number, placementOf: (event: JobEvent) => Placement | undefined): JobTransition {
    const stage = stageOf(event);
    let job = this.#jobs.get(event.job.id);
    const before: JobStage | undefined = job?.stage;
    if (!job) {
      job = {
        id: event.job.id,
        stage,
        labels: event.job.labels,
        repository: event.repository.fullName.toLowerCase(),
        owner: event.owner.login.toLowerCase(),
        createdAtMs: ms(event.job.createdAt) ?? nowMs,
        startedAtMs: undefined,
        placement: undefined,
        touchedAtMs: nowMs,
      };
      this.#jobs.set(job.id, job);
      if (stage === "queued") this.#queued++;
    } else if (rank[stage] > rank[job.stage]) {
      if (job.stage === "queued") this.#queued--;
      job.stage = stage;
    }
    job.touchedAtMs = nowMs;
    if (stage !== "queued") {
      job.startedAtMs ??= ms(event.job.startedAt) ?? (stage === "assigned" ? nowMs : undefined);
      if (!job.placement && event.runner.name !== null) job.placement = placementOf(event);
      if (job.labels.length > 0 && job.stage !== "queued") job.labels = [];
    }
    const reachedAssigned = before === undefined || rank[before] < rank.assigned;
    return {
      job,
      newlyAssigned: stage !== "queued" && reachedAssigned,
      newlyCompleted: stage === "completed" && before !== "completed",
    };
  }

  /** Jobs queued (or waiting) and not yet assigned. */
  *queued(): Iterable<TrackedJob> {
    for (const job of this.#jobs.values()) if (job.stage === "queued") yield job;
  }

  get queuedCount(): number {
    return this.#queued;
  }

  get size(): number {
    return this.#jobs.size;
  }

  /** Forgets jobs past their retention; returns how many. */
  prune(nowMs: number, retention: RetentionMs = defaultRetentionMs): number {
    let removed = 0;
    for (const [id, job] of this.#jobs) {
      if (nowMs - job.touchedAtMs <= retention[job.stage]) continue;
      if (job.stage === "queued") this.#queued--;
      this.#jobs.delete(id);
      removed++;
    }
    return removed;
  }
}
