// Job metrics from the job stream: events by action, queue and run time of the jobs that ran on
// octorun's Runners (by RunnerSet), and the jobs still waiting for a runner, by allowlisted
// runs-on labels and by the RunnerSets that could take them.

import { distinctiveJobLabel, JOB_CONCLUSIONS, type RunnerSet } from "@octorun/api";
import { type JobEvent, jobActions } from "@octorun/bus";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { JobBook, type Placement, type RetentionMs } from "./job-book.ts";
import { jobLabelSchema, jobLabelValues, offerAccepts, offerOf, type RunnerSetOffer } from "./job-labels.ts";

export const QUEUE_TIME_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400];
export const RUN_TIME_BUCKETS = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 21600, 43200, 86400, 259200];

/** Label combinations of octorun_jobs_queued beyond this are counted under `_other` values. */
export const DEFAULT_MAX_QUEUED_SERIES = 500;
const OTHER = "_other";

export interface JobMetricsOptions {
  registry: Registry;
  /** GitHub label names exported on octorun_jobs_queued (`runnerset`, `self-hosted`, …). */
  labelsAllowlist: readonly string[];
  /** Where a job's runner belongs among octorun's Runners; undefined when octorun does not own it. */
  placementOf: (event: JobEvent) => Placement | undefined;
  /** The RunnerSets now in the cache (for octorun_runnerset_queued_jobs). */
  runnerSets: () => Iterable<RunnerSet>;
  maxQueuedSeries?: number;
  retentionMs?: RetentionMs;
  now?: () => number;
}

function conclusionLabel(conclusion: string | null): string {
  if (!conclusion) return "unknown";
  return (JOB_CONCLUSIONS as readonly string[]).includes(conclusion) ? conclusion : "other";
}

export class JobMetrics {
  readonly book = new JobBook();
  readonly #options: JobMetricsOptions;
  readonly #now: () => number;
  readonly #events: Counter<"action">;
  readonly #queueTime: Histogram<"namespace" | "runnerset">;
  readonly #runTime: Histogram<"namespace" | "runnerset" | "conclusion">;

  constructor(options: JobMetricsOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const registers = [options.registry];
    this.#events = new Counter({
      name: "octorun_jobs_total",
      help: "Job events read from the job stream, by action (queued, waiting, assigned, completed).",
      labelNames: ["action"],
      registers,
    });
    for (const action of jobActions) this.#events.inc({ action }, 0);
    this.#queueTime = new Histogram({
      name: "octorun_job_queue_duration_seconds",
      help: "Time from a job being queued to a runner taking it, for jobs that ran on octorun's Runners, by RunnerSet.",
      labelNames: ["namespace", "runnerset"],
      buckets: QUEUE_TIME_BUCKETS,
      registers,
    });
    this.#runTime = new Histogram({
      name: "octorun_job_run_duration_seconds",
      help: "Time from a runner taking a job to the job completing, for jobs that ran on octorun's Runners, by RunnerSet and conclusion.",
      labelNames: ["namespace", "runnerset", "conclusion"],
      buckets: RUN_TIME_BUCKETS,
      registers,
    });
    const schema = jobLabelSchema(options.labelsAllowlist);
    const maxSeries = options.maxQueuedSeries ?? DEFAULT_MAX_QUEUED_SERIES;
    const book = this.book;
    new Gauge({
      name: "octorun_jobs_queued",
      help: "Jobs queued (or waiting) and not yet assigned to a runner, by allowlisted runs-on labels.",
      labelNames: [...schema.labelNames],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, { values: string[]; count: number }>();
        for (const job of book.queued()) {
          let values = jobLabelValues(schema, job.labels);
          let key = values.join("\u0000");
          if (!counts.has(key) && counts.size >= maxSeries) {
            values = schema.labelNames.map(() => OTHER);
            key = values.join("\u0000");
          }
          const entry = counts.get(key) ?? { values, count: 0 };
          entry.count++;
          counts.set(key, entry);
        }
        if (counts.size === 0 && schema.labelNames.length === 0) counts.set("", { values: [], count: 0 });
        for (const { values, count } of counts.values()) {
          this.set(Object.fromEntries(schema.labelNames.map((name, i) => [name, values[i] ?? ""])), count);
        }
      },
    });
    new Gauge({
      name: "octorun_runnerset_queued_jobs",
      help: "Jobs waiting for a runner that this RunnerSet's runners could take (every runs-on label is theirs, and the repository is in their scope).",
      labelNames: ["namespace", "runnerset"],
      registers,
      collect: function (this: Gauge<"namespace" | "runnerset">) {
        this.reset();
        for (const [offer, count] of queuedJobsByOffer(book, options.runnerSets())) {
          this.set({ namespace: offer.namespace, runnerset: offer.name }, count);
        }
      },
    });
  }

  /** Records one event from the stream. */
  record(event: JobEvent): void {
    const now = this.#now();
    this.#events.inc({ action: event.action });
    const { job, newlyAssigned, newlyCompleted } = this.book.apply(event, now, this.#options.placementOf);
    const placement = job.placement;
    if (!placement) return;
    const labels = { namespace: placement.namespace, runnerset: placement.runnerset };
    if (newlyAssigned && job.startedAtMs !== undefined) {
      this.#queueTime.observe(labels, Math.max(0, (job.startedAtMs - job.createdAtMs) / 1000));
    }
    if (newlyCompleted && job.startedAtMs !== undefined) {
      const completedAt = event.job.completedAt ? Date.parse(event.job.completedAt) : now;
      this.#runTime.observe(
        { ...labels, conclusion: conclusionLabel(event.job.conclusion) },
        Math.max(0, ((Number.isNaN(completedAt) ? now : completedAt) - job.startedAtMs) / 1000),
      );
    }
  }

  /** Rebuilds what is known of a job from an event counted before (a replay): no counters, no durations. */
  restore(event: JobEvent): void {
    this.book.apply(event, this.#now(), this.#options.placementOf);
  }

  /** Jobs waiting for a runner that each of these RunnerSets could take (0 for one that could take none). */
  queuedJobsFor(sets: Iterable<RunnerSet>): Map<RunnerSetOffer, number> {
    return queuedJobsByOffer(this.book, sets);
  }

  /** Forgets jobs past their retention (call periodically). */
  prune(): number {
    return this.book.prune(this.#now(), this.#options.retentionMs);
  }
}

/**
 * The one count of waiting jobs per RunnerSet, for octorun_runnerset_queued_jobs and the custom
 * metrics API alike, in the order of `sets`.
 */
function queuedJobsByOffer(book: JobBook, sets: Iterable<RunnerSet>): Map<RunnerSetOffer, number> {
  const offers: RunnerSetOffer[] = [];
  for (const set of sets) offers.push(offerOf(set));
  // Index the offers by label so that a waiting job that asks for a label of the runners' own
  // is compared with a few RunnerSets, not all (one asking only for self-hosted, an OS or an
  // architecture is compared with all).
  const byLabel = new Map<string, RunnerSetOffer[]>();
  const counts = new Map<RunnerSetOffer, number>();
  for (const offer of offers) {
    counts.set(offer, 0);
    for (const label of offer.labels.labels) {
      const list = byLabel.get(label);
      if (list) list.push(offer);
      else byLabel.set(label, [offer]);
    }
  }
  for (const job of book.queued()) {
    const distinctive = distinctiveJobLabel(job.labels);
    for (const offer of distinctive === undefined ? offers : (byLabel.get(distinctive) ?? [])) {
      if (offerAccepts(offer, job)) counts.set(offer, (counts.get(offer) ?? 0) + 1);
    }
  }
  return counts;
}
