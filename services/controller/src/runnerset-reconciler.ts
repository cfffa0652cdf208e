// The RunnerSet reconciler: reads the RunnerSet, the Runners of its namespace and its
// ControllerRevisions from the caches, lets planRunnerSet decide, and carries the actions out.

import type { V1ControllerRevision } from "@kubernetes/client-node";
import { REVISION_HASH_LABEL, RUNNER_FINALIZER } from "@octorun/api";
import {
  ControllerRevisions,
  done,
  type EventRecorder,
  type Informer,
  isAlreadyExists,
  isConflict,
  isNotFound,
  type KubeClient,
  type KubeLogger,
  ownerReference,
  patchStatus,
  type ReconcileResult,
  type Reconciler,
  RunnerSets,
  Runners,
  requeueAfter,
  silentLogger,
} from "@octorun/kube";
import { Expectations } from "./expectations.ts";
import type { ControllerMetrics } from "./metrics.ts";
import { canonicalJson } from "./revisions.ts";
import {
  emptyRunnerSetFacts,
  planRunnerSet,
  type RunnerSetAction,
  type RunnerSetFacts,
  type RunnerSetPlanConfig,
} from "./runnerset-plan.ts";
import type { RunnerObject, RunnerSetObject, RunnerSetStatus } from "./types.ts";

export const NAMESPACE_INDEX = "namespace";
export const OWNER_INDEX = "owner";

export interface RunnerSetReconcilerOptions {
  client: KubeClient;
  runnerSets: Informer<RunnerSetObject>;
  /** With the NAMESPACE_INDEX index. */
  runners: Informer<RunnerObject>;
  /** With the OWNER_INDEX index (controller owner uid). */
  revisions: Informer<V1ControllerRevision>;
  events: EventRecorder;
  config: RunnerSetPlanConfig;
  metrics: ControllerMetrics;
  logger?: KubeLogger;
  now?: () => number;
  /** Runner creations and deletions in flight at once. */
  writeConcurrency?: number;
}

/** While waiting for the cache to catch up with its own writes, look again after this long anyway. */
const EXPECTATIONS_POLL_MS = 1_000;

export class RunnerSetReconciler implements Reconciler {
  readonly #o: RunnerSetReconcilerOptions;
  readonly #logger: KubeLogger;
  readonly #now: () => number;
  readonly #facts = new Map<string, RunnerSetFacts>();
  readonly expectations: Expectations;

  constructor(options: RunnerSetReconcilerOptions) {
    this.#o = options;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.expectations = new Expectations({ now: this.#now });
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const set = this.#o.runnerSets.get(key);
    if (!set) {
      this.#facts.delete(key);
      this.expectations.forget(key);
      return done();
    }
    const runnersCache = this.#o.runners;
    const cache = {
      has: (k: string) => runnersCache.get(k) !== undefined,
      goneOrDeleting: (k: string, uid: string) => {
        const r = runnersCache.get(k);
        return !r || r.metadata.uid !== uid || Boolean(r.metadata.deletionTimestamp);
      },
    };
    if (!this.expectations.satisfied(key, cache)) return requeueAfter(EXPECTATIONS_POLL_MS);

    const namespace = set.metadata.namespace ?? "";
    const facts = this.#facts.get(key) ?? emptyRunnerSetFacts();
    const plan = planRunnerSet({
      runnerSet: set,
      runners: runnersCache.byIndex(NAMESPACE_INDEX, namespace),
      revisions: this.#o.revisions.byIndex(OWNER_INDEX, set.metadata.uid ?? ""),
      facts,
      now: this.#now(),
      config: this.#o.config,
    });
    const nextFacts: RunnerSetFacts = { ...plan.facts, lastError: undefined };
    const status: RunnerSetStatus = { ...plan.status };
    let failure: unknown;
    for (const action of plan.actions) {
      try {
        const result = await this.#execute(key, set, action, status);
        if (result) {
          this.#facts.set(key, nextFacts);
          await this.#writeStatus(set, status);
          return result;
        }
      } catch (error) {
        failure = error;
        const message = error instanceof Error ? error.message : String(error);
        nextFacts.lastError = {
          reason: action.type === "deleteRunners" ? "RunnerDeleteFailed" : "RunnerCreateFailed",
          message: message.slice(0, 1000),
        };
        this.#logger.warn("RunnerSet action failed", { key, action: action.type, error: message });
        break;
      }
    }
    this.#facts.set(key, nextFacts);
    if (failure) {
      // Record why in the status (RunnerFailure), then let the loop retry with backoff.
      const again = planRunnerSet({
        runnerSet: set,
        runners: runnersCache.byIndex(NAMESPACE_INDEX, namespace),
        revisions: [],
        facts: nextFacts,
        now: this.#now(),
        config: this.#o.config,
      });
      await this.#writeStatus(set, { ...status, conditions: again.status.conditions });
      throw failure;
    }
    await this.#writeStatus(set, status);
    return plan.requeueAfterMs !== undefined ? requeueAfter(plan.requeueAfterMs) : done();
  }

  async #writeStatus(set: RunnerSetObject, status: RunnerSetStatus): Promise<void> {
    if (canonicalJson(status) === canonicalJson(set.status ?? {})) return;
    try {
      await patchStatus(this.#o.client, RunnerSets, set, { ...status });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async #execute(
    key: string,
    set: RunnerSetObject,
    action: RunnerSetAction,
    status: RunnerSetStatus,
  ): Promise<ReconcileResult | undefined> {
    const { client } = this.#o;
    const namespace = set.metadata.namespace ?? "";
    switch (action.type) {
      case "createRevision":
        try {
          await client.create(ControllerRevisions, action.revision);
        } catch (error) {
          if (!isAlreadyExists(error)) throw error;
          const existing = await client.find<V1ControllerRevision>(
            ControllerRevisions,
            namespace,
            action.revision.metadata?.name ?? "",
          );
          if (existing && canonicalJson(existing.data) !== canonicalJson(action.revision.data)) {
            // Another template holds this hash: count the collision, which changes the hash next time.
            status.collisionCount = (status.collisionCount ?? 0) + 1;
            return requeueAfter(0);
          }
        }
        return undefined;
      case "bumpRevision":
        await client.mergePatch(ControllerRevisions, namespace, action.name, { revision: action.revision });
        return undefined;
      case "deleteRevisions":
        await Promise.all(
          action.names.map((name) =>
            client
              .delete(ControllerRevisions, namespace, name)
              .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e))),
          ),
        );
        return undefined;
      case "adopt": {
        const runner = this.#o.runners.getByName(namespace, action.runner);
        if (!runner || runner.metadata.uid !== action.uid) return undefined;
        await client.mergePatch(Runners, namespace, action.runner, {
          metadata: {
            resourceVersion: runner.metadata.resourceVersion,
            ownerReferences: [...(runner.metadata.ownerReferences ?? []), ownerReference(RunnerSets, set)],
          },
        });
        return undefined;
      }
      case "release": {
        const runner = this.#o.runners.getByName(namespace, action.runner);
        if (!runner || runner.metadata.uid !== action.uid) return undefined;
        await client.mergePatch(Runners, namespace, action.runner, {
          metadata: {
            resourceVersion: runner.metadata.resourceVersion,
            ownerReferences: (runner.metadata.ownerReferences ?? []).filter((o) => o.uid !== set.metadata.uid),
          },
        });
        return undefined;
      }
      case "createRunners": {
        const template = action.template;
        const body = (): RunnerObject => ({
          metadata: {
            generateName: `${set.metadata.name}-`,
            namespace,
            labels: { ...(template.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: action.revisionHash },
            ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
            ownerReferences: [ownerReference(RunnerSets, set)],
            // Born with the Runner controller's finalizer: saves it a write per runner.
            finalizers: [RUNNER_FINALIZER],
          },
          spec: structuredClone(template.spec),
        });
        let created = 0;
        await this.#parallel(action.count, async () => {
          const runner = await client.create<RunnerObject>(Runners, body());
          this.expectations.expectCreate(key, `${namespace}/${runner.metadata.name}`);
          created++;
          this.#o.metrics.runnersCreated.inc({ reason: "Scale" });
        }).finally(() => {
          if (created > 0) {
            void this.#o.events.record(set, {
              type: "Normal",
              reason: "RunnerCreated",
              action: "Scale",
              note: `Created ${created} runner${created === 1 ? "" : "s"}.`,
            });
          }
        });
        return undefined;
      }
      case "deleteRunners": {
        await this.#parallel(action.runners.length, async (i) => {
          const victim = action.runners[i];
          if (!victim) return;
          try {
            await client.delete(Runners, namespace, victim.name, { uid: victim.uid });
            this.#o.metrics.runnersDeleted.inc({ reason: victim.reason });
          } catch (error) {
            // 409 on a uid precondition: the name is another Runner's now, and the victim is gone.
            if (!isNotFound(error) && !isConflict(error)) throw error;
          }
          this.expectations.expectDelete(key, `${namespace}/${victim.name}`, victim.uid);
        });
        const reasons = [...new Set(action.runners.map((r) => r.reason))].join(", ");
        void this.#o.events.record(set, {
          type: "Normal",
          reason: "RunnerDeleted",
          action: "Scale",
          note: `Deleted ${action.runners.length} runner${action.runners.length === 1 ? "" : "s"} (${reasons}).`,
        });
        return undefined;
      }
      case "event":
        void this.#o.events.record(set, {
          type: action.eventType,
          reason: action.reason,
          action: "Reconcile",
          note: action.message,
        });
        return undefined;
    }
  }

  /** Runs task(0..count-1) with bounded concurrency; the first failure is thrown after the others settle. */
  async #parallel(count: number, task: (index: number) => Promise<void>): Promise<void> {
    const limit = Math.max(1, this.#o.writeConcurrency ?? 32);
    let next = 0;
    let firstError: unknown;
    const worker = async () => {
      while (next < count && firstError === undefined) {
        const index = next++;
        try {
          await task(index);
        } catch (error) {
          firstError ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
    if (firstError !== undefined) throw firstError;
  }
}
