// The job-event consumer's handler: match the event to a Runner by GitHub runner name (then id),
// write the status through the status subresource, and only then acknowledge. A transient failure
// is nak'ed with a delay; an event that can never apply is terminated and counted; an event for a
// runner octorun does not own is acknowledged and counted.

import { Reasons, type RunnerStatus } from "@octorun/api";
import type { JobMessage } from "@octorun/bus";
import {
  type EventRecorder,
  type Informer,
  isConflict,
  isNotFound,
  type KubeClient,
  type KubeLogger,
  patchStatus,
  Runners,
  silentLogger,
} from "@octorun/kube";
import { applyJobEvent } from "./job-event-apply.ts";
import type { ControllerMetrics } from "./metrics.ts";
import { githubRunnerName } from "./runner-naming.ts";
import type { RunnerObject } from "./types.ts";

export const RUNNER_NAME_INDEX = "githubName";
export const RUNNER_ID_INDEX = "githubId";

/**
 * Informer indexes the handler needs on the Runner cache. The GitHub name is the one the reconciler
 * registers under, computed as it does: a job may come before any status carrying it was written
 * (the Pod can start and take a job before the reconcile that records the name).
 */
export const runnerIndexers = {
  [RUNNER_NAME_INDEX]: (r: RunnerObject) => {
    const { namespace = "", name = "", uid } = r.metadata;
    if (r.status?.runnerName) return [r.status.runnerName];
    return uid ? [githubRunnerName({ namespace, name, uid })] : [];
  },
  [RUNNER_ID_INDEX]: (r: RunnerObject) => (r.spec?.id !== undefined ? [String(r.spec.id)] : []),
};

export interface JobEventHandlerOptions {
  client: KubeClient;
  runners: Informer<RunnerObject>;
  metrics: ControllerMetrics;
  logger?: KubeLogger;
  now?: () => Date;
  /** Records the job on the Runner as an Event (JobAssigned, JobCompleted) once its status is written. */
  events?: EventRecorder;
  /** Conflicts retried in place before the event is nak'ed. */
  conflictAttempts?: number;
  /** nak delay: base·deliveryCount, capped. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export class JobEventHandler {
  readonly #o: JobEventHandlerOptions;
  readonly #logger: KubeLogger;

  constructor(options: JobEventHandlerOptions) {
    this.#o = options;
    this.#logger = options.logger ?? silentLogger;
  }

  #recordEvent(runner: RunnerObject, status: RunnerStatus, action: "assigned" | "completed"): void {
    const job = status.job;
    if (!this.#o.events || !job) return;
    const reason = action === "completed" ? Reasons.JobCompleted : Reasons.JobAssigned;
    const note =
      action === "completed"
        ? `Job ${job.id} completed${job.conclusion ? ` (${job.conclusion})` : ""}.`
        : `Job ${job.id}${job.workflow ? ` of workflow ${job.workflow}` : ""} in ${job.repository ?? "?"} assigned.`;
    void this.#o.events.record(runner, { type: "Normal", reason, action: "JobEvent", note });
  }

  readonly handle = async (message: JobMessage): Promise<void> => {
    const { event } = message;
    const started = performance.now();
    this.#o.metrics.jobEventWait.observe({ action: event.action }, Math.max(0, Date.now() - message.storedAt) / 1000);
    const count = (outcome: string) => this.#o.metrics.jobEvents.inc({ action: event.action, outcome });
    const log = { deliveryId: event.deliveryId, jobId: event.job.id, action: event.action, runner: event.runner.name };
    if (event.action !== "assigned" && event.action !== "completed") {
      count("no_runner");
      return message.ack();
    }
    if (!event.runner.name && event.runner.id === null) {
      count("no_runner"); // e.g. a job cancelled before any runner took it
      return message.ack();
    }
    const runner = this.#find(event.runner.name, event.runner.id);
    if (!runner) {
      count("unknown_runner");
      this.#logger.debug("job event for a runner octorun does not own", log);
      return message.ack();
    }
    if (runner.spec.id !== undefined && event.runner.id !== null && runner.spec.id !== event.runner.id) {
      count("never");
      this.#logger.warn("job event names another registration of this runner name; terminated", {
        ...log,
        key: keyOf(runner),
      });
      return message.term(`runner id ${event.runner.id} is not ${keyOf(runner)}'s (${runner.spec.id})`);
    }

    try {
      let current: RunnerObject | undefined = runner;
      const attempts = this.#o.conflictAttempts ?? 5;
      for (let attempt = 1; ; attempt++) {
        if (!current) {
          count("unknown_runner");
          return message.ack();
        }
        const outcome = applyJobEvent(
          current.status,
          event,
          this.#o.now?.() ?? new Date(),
          current.metadata.generation,
        );
        if (outcome.type === "never") {
          count("never");
          this.#logger.warn("job event can never apply; terminated", { ...log, key: keyOf(current), why: outcome.why });
          return message.term(outcome.why);
        }
        if (outcome.type === "unchanged") {
          count("unchanged");
          return message.ack();
        }
        try {
          await patchStatus(this.#o.client, Runners, current, { ...outcome.status }, { optimisticLock: true });
          this.#recordEvent(current, outcome.status, event.action);
          break;
        } catch (error) {
          if (!isConflict(error) || attempt >= attempts) throw error;
          // Someone wrote the Runner meanwhile: read it fresh and decide again.
          current = await this.#o.client.find<RunnerObject>(
            Runners,
            current.metadata.namespace,
            current.metadata.name ?? "",
          );
        }
      }
    } catch (error) {
      if (isNotFound(error)) {
        count("unknown_runner");
        return message.ack();
      }
      const delay = Math.min(this.#o.retryMaxMs ?? 30_000, (this.#o.retryBaseMs ?? 1_000) * message.deliveryCount);
      count("retry");
      this.#logger.warn("could not write a job event to the Runner; delivering it again later", {
        ...log,
        key: keyOf(runner),
        delayMs: delay,
        error: error instanceof Error ? error.message : String(error),
      });
      message.nak(delay);
      return;
    }
    count("applied");
    const handledMs = performance.now() - started;
    this.#o.metrics.jobEventLatency.observe({ action: event.action }, handledMs / 1000);
    this.#logger.debug("job event applied", {
      ...log,
      key: keyOf(runner),
      handledMs: Math.round(handledMs),
      storedAgoMs: Date.now() - message.storedAt,
    });
    await message.ack();
  };

  #find(name: string | null, id: number | null): RunnerObject | undefined {
    const { runners } = this.#o;
    if (name) {
      const byName = runners.byIndex(RUNNER_NAME_INDEX, name);
      if (byName.length === 1) return byName[0];
      if (byName.length > 1) return byName.find((r) => r.spec.id === id) ?? byName[0];
    }
    if (id !== null) return runners.byIndex(RUNNER_ID_INDEX, String(id))[0];
    return undefined;
  }
}

function keyOf(runner: RunnerObject): string {
  return `${runner.metadata.namespace}/${runner.metadata.name}`;
}
