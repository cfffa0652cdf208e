import { randomBytes } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { KubeClient } from "./client.ts";
import { toMicroTime } from "./conditions.ts";
import { errorMessage, type KubeLogger, silentLogger } from "./log.ts";
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

/**
 * Records events.k8s.io/v1 Events about objects. Failures to record are logged, never thrown:
 * an Event is a courtesy to the user, not part of reconciling.
 */
export class EventRecorder {
  readonly #options: EventRecorderOptions;
  readonly #logger: KubeLogger;
  readonly #series = new Map<string, { name: string; namespace: string; count: number; first: number }>();

  constructor(options: EventRecorderOptions) {
    if (!options.reportingController || !options.reportingInstance) {
      throw new Error("EventRecorder: reportingController and reportingInstance are required");
    }
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Records the event and resolves when it is written (or failed, which is logged). */
  async record(regarding: KubernetesObject, event: EventRecord): Promise<void> {
    const now = this.#options.now?.() ?? new Date();
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

  #expire(now: number, windowMs: number): void {
    for (const [key, entry] of this.#series) if (now - entry.first > windowMs) this.#series.delete(key);
  }
}

function truncate(note: string): string {
  if (Buffer.byteLength(note) <= maxNoteBytes) return note;
  let cut = note.slice(0, maxNoteBytes - 3);
  while (Buffer.byteLength(cut) > maxNoteBytes - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}
