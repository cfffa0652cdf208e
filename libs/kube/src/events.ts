import { randomBytes } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import { Counter, Gauge, type Registry } from "prom-client";
import type { KubeClient } from "./client.ts";
import { toMicroTime } from "./conditions.ts";
import { errorMessage, type KubeLogger, silentLogger } from "./log.ts";
import { sharedMetric } from "./metrics.ts";
import { Events } from "./resource.ts";

export type EventType = "Normal" | "Warning";

export interface EventRecorderOptions {
  client: KubeClient;
  /** events.k8s.io reportingController, e.g. `octorun.github.io/controller`. */
  reportingController: string;
  /** This replica (pod name); the apiserver requires one. */
  reportingInstance: string;
  /** Removes secrets from notes, e.g. `(s) => redactor.redactString(s)` of @octorun/runtime's Redactor. */
  redact?: (text: string) => string;
  logger?: KubeLogger;
  /** Identical events within this window are counted in one Event's series instead of creating new ones. */
  seriesWindowMs?: number;
  /** Events being written at once (client-go's broadcaster writes one at a time). */
  senders?: number;
  /** Events waiting to be written, at most; more are dropped, logged and counted. */
  maxQueued?: number;
  /** Where `octorun_events_dropped_total` and `octorun_events_queued` are registered. */
  registry?: Registry;
  now?: () => Date;
}

export interface EventRecord {
  type: EventType;
  /** CamelCase machine reason, e.g. `RunnerOnline`. */
  reason: string;
  /** What was being done, e.g. `Reconcile`, `Register`. */
  action: string;
  /** Human text; never secrets (it is passed through `redact`, and truncated to the apiserver's 1 kB limit). */
  note: string;
}

const maxNoteBytes = 1024;

/** The recorders registered on each registry, for `octorun_events_queued`. */
const recordersOf = new WeakMap<Registry, Set<EventRecorder>>();

interface QueuedEvent {
  regarding: KubernetesObject;
  event: EventRecord;
  at: Date;
  written: () => void;
}

/**
 * Records events.k8s.io/v1 Events about objects. Failures to record are logged, never thrown:
 * an Event is a courtesy to the user, not part of reconciling. As client-go's broadcaster does,
 * events wait in a bounded queue and a few senders write them, so a burst of Events never
 * competes with the writes that matter (a job's status) for the apiserver.
 */
export class EventRecorder {
  readonly #options: EventRecorderOptions;
  readonly #logger: KubeLogger;
  readonly #series = new Map<string, { name: string; namespace: string; count: number; first: number }>();
  readonly #queue: QueuedEvent[] = [];
  #sending = 0;
  #dropped = 0;
  readonly #droppedMetric: Counter | undefined;

  constructor(options: EventRecorderOptions) {
    if (!options.reportingController || !options.reportingInstance) {
      throw new Error("EventRecorder: reportingController and reportingInstance are required");
    }
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#droppedMetric =
      options.registry &&
      sharedMetric(
        options.registry,
        "octorun_events_dropped_total",
        () =>
          new Counter({
            name: "octorun_events_dropped_total",
            help: "Events not recorded because too many were waiting to be written",
            registers: [],
          }),
      );
    if (options.registry) {
      // Several recorders may share a registry: the gauge sums their queues when it is read.
      const registry = options.registry;
      const recorders = recordersOf.get(registry) ?? new Set<EventRecorder>();
      recordersOf.set(registry, recorders);
      recorders.add(this);
      sharedMetric(
        registry,
        "octorun_events_queued",
        () =>
          new Gauge({
            name: "octorun_events_queued",
            help: "Events waiting to be written",
            registers: [],
            collect() {
              let queued = 0;
              for (const recorder of recordersOf.get(registry) ?? []) queued += recorder.queued;
              this.set(queued);
            },
          }),
      );
    }
  }

  /** Events waiting to be written (not those being written). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Events dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queues the event; resolves when it is written (or failed or dropped, which is logged). */
  record(regarding: KubernetesObject, event: EventRecord): Promise<void> {
    const at = this.#options.now?.() ?? new Date();
    if (this.#queue.length >= (this.#options.maxQueued ?? 1000)) {
      this.#dropped++;
      this.#droppedMetric?.inc();
      // Logged at the first drop and then every 100th, so that the log is not the next flood.
      if (this.#dropped % 100 === 1)
        this.#logger.warn("event queue full; dropping events", {
          key: `${regarding.metadata?.namespace ?? ""}/${regarding.metadata?.name ?? ""}`,
          reason: event.reason,
          dropped: this.#dropped,
        });
      return Promise.resolve();
    }
    return new Promise((written) => {
      this.#queue.push({ regarding, event, at, written });
      if (this.#sending < (this.#options.senders ?? 2)) void this.#send();
    });
  }

  async #send(): Promise<void> {
    this.#sending++;
    try {
      // The queue is bounded (a thousand by default): shift() stays cheap.
      for (let next = this.#queue.shift(); next; next = this.#queue.shift()) {
        await this.#write(next.regarding, next.event, next.at);
        next.written();
      }
    } finally {
      this.#sending--;
    }
  }

  async #write(regarding: KubernetesObject, event: EventRecord, now: Date): Promise<void> {
    const note = truncate(this.#options.redact ? this.#options.redact(event.note) : event.note);
    const namespace = regarding.metadata?.namespace || "default";
    const name = regarding.metadata?.name ?? "unknown";
    const seriesKey = [
      regarding.metadata?.uid ?? `${namespace}/${name}`,
      event.type,
      event.reason,
      event.action,
      note,
    ].join("\u0000");
    const windowMs = this.#options.seriesWindowMs ?? 6 * 60_000;
    this.#expire(now.getTime(), windowMs);
    try {
      const known = this.#series.get(seriesKey);
      if (known) {
        known.count++;
        await this.#options.client.mergePatch(Events, known.namespace, known.name, {
          series: { count: known.count, lastObservedTime: toMicroTime(now) },
        });
        return;
      }
      const eventName = `${name}.${randomBytes(8).toString("hex")}`;
      await this.#options.client.create(Events, {
        metadata: { name: eventName, namespace },
        eventTime: toMicroTime(now),
        reportingController: this.#options.reportingController,
        reportingInstance: this.#options.reportingInstance,
        action: event.action,
        reason: event.reason,
        note,
        type: event.type,
        regarding: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: regarding.metadata?.name,
          namespace: regarding.metadata?.namespace,
          uid: regarding.metadata?.uid,
          resourceVersion: regarding.metadata?.resourceVersion,
        },
      } as KubernetesObject);
      this.#series.set(seriesKey, { name: eventName, namespace, count: 1, first: now.getTime() });
    } catch (error) {
      this.#logger.warn("could not record event", {
        key: `${namespace}/${name}`,
        reason: event.reason,
        error: errorMessage(error),
      });
    }
  }

  /** Series are kept in the order they began, so the expired ones are at the front. */
  #expire(now: number, windowMs: number): void {
    for (const [key, entry] of this.#series) {
      if (now - entry.first <= windowMs) return;
      this.#series.delete(key);
    }
  }
}

function truncate(note: string): string {
  if (Buffer.byteLength(note) <= maxNoteBytes) return note;
  let cut = note.slice(0, maxNoteBytes - 3);
  while (Buffer.byteLength(cut) > maxNoteBytes - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}
