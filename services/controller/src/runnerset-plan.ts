// The RunnerSet's pure decision: from the RunnerSet, the Runners in its namespace and its
// ControllerRevisions to the actions that make `spec.runners` Runners exist, and its status.

import type { V1ControllerRevision } from "@kubernetes/client-node";
import {
  isEmptySelector,
  REVISION_HASH_LABEL,
  Reasons,
  RunnerSetConditionTypes,
  selectorMatches,
  selectorProblems,
  selectorString,
} from "@octorun/api";
import {
  type Condition,
  controllerOf,
  exponentialBackoff,
  ownerReference,
  RunnerSets,
  setCondition,
} from "@octorun/kube";
import {
  canonicalJson,
  findRevisionOf,
  nextRevisionNumber,
  revisionData,
  revisionName,
  templateHash,
} from "./revisions.ts";
import {
  type RunnerObject,
  type RunnerSetObject,
  type RunnerSetStatus,
  type RunnerTemplateView,
  timeOf,
} from "./types.ts";

export interface RunnerSetFacts {
  /** Failed runners replaced lately; creation waits exponentialBackoff(failures) after the last one. */
  failures: number;
  lastFailureAt?: number | undefined;
  /** Failed Runners already counted (a Runner stays in the cache a moment after its deletion). */
  countedFailures?: string[] | undefined;
  /** The last create/delete failure, for the RunnerFailure condition. */
  lastError?: { reason: string; message: string } | undefined;
}

export const emptyRunnerSetFacts = (): RunnerSetFacts => ({ failures: 0 });

export interface RunnerSetPlanConfig {
  failureBackoffBaseMs: number;
  failureBackoffMaxMs: number;
  /** RollingUpdate: at most this share of `runners` (at least one) is replaced at a time. */
  rollingUpdateFraction: number;
  /**
   * A Complete runner whose job is not recorded yet is kept this long (its replacement is made at
   * once): a job event redelivered late (GitHub, or the controller's webhook redelivery) still
   * finds the Runner to record the job on.
   */
  unrecordedJobGraceMs: number;
}

export const defaultRunnerSetPlanConfig: RunnerSetPlanConfig = {
  failureBackoffBaseMs: 1_000,
  failureBackoffMaxMs: 5 * 60_000,
  rollingUpdateFraction: 0.25,
  unrecordedJobGraceMs: 2 * 60_000,
};

export interface RunnerSetObservation {
  runnerSet: RunnerSetObject;
  /** Runners of the RunnerSet's namespace (the plan picks the ones it owns or may adopt). */
  runners: readonly RunnerObject[];
  /** ControllerRevisions owned by the RunnerSet. */
  revisions: readonly V1ControllerRevision[];
  facts: RunnerSetFacts;
  now: number;
  config: RunnerSetPlanConfig;
}

export type RunnerSetAction =
  | { type: "createRevision"; revision: V1ControllerRevision }
  | { type: "bumpRevision"; name: string; revision: number }
  | { type: "deleteRevisions"; names: string[] }
  | { type: "adopt"; runner: string; uid: string }
  | { type: "release"; runner: string; uid: string }
  | { type: "createRunners"; count: number; template: RunnerTemplateView; revisionHash: string }
  | { type: "deleteRunners"; runners: { name: string; uid: string; reason: string }[] }
  | { type: "event"; eventType: "Normal" | "Warning"; reason: string; message: string };

export interface RunnerSetPlan {
  actions: RunnerSetAction[];
  status: RunnerSetStatus;
  facts: RunnerSetFacts;
  requeueAfterMs?: number | undefined;
}

type Phase = "Pending" | "Idle" | "Active" | "Complete" | "Failed";
const phaseOf = (runner: RunnerObject): Phase => runner.status?.phase ?? "Pending";
const created = (runner: RunnerObject) => timeOf(runner.metadata.creationTimestamp);

/**
 * Whether a change of a Runner can change what its RunnerSet plans: its phase, whether its job is
 * recorded, its labels, owner or deletion. Not its conditions or spec.id (most of a Runner's writes).
 */
export function mattersToRunnerSet(old: RunnerObject, next: RunnerObject): boolean {
  return (
    phaseOf(old) !== phaseOf(next) ||
    Boolean(old.status?.job) !== Boolean(next.status?.job) ||
    old.metadata.deletionTimestamp !== next.metadata.deletionTimestamp ||
    controllerOf(old)?.uid !== controllerOf(next)?.uid ||
    canonicalJson(old.metadata.labels ?? {}) !== canonicalJson(next.metadata.labels ?? {})
  );
}

export function planRunnerSet(observation: RunnerSetObservation): RunnerSetPlan {
  const { runnerSet, runners, revisions, now, config } = observation;
  const facts: RunnerSetFacts = { ...observation.facts };
  const uid = runnerSet.metadata.uid;
  const spec = runnerSet.spec;
  const desired = spec.runners ?? 1;
  const actions: RunnerSetAction[] = [];
  const requeue: number[] = [];
  const previous = runnerSet.status ?? {};
  const status: RunnerSetStatus = { ...previous, selector: selectorString(spec.selector) };
  if (runnerSet.metadata.generation !== undefined) status.observedGeneration = runnerSet.metadata.generation;
  const nowDate = new Date(now);
  const finish = (): RunnerSetPlan => ({
    actions,
    status,
    facts,
    requeueAfterMs: requeue.length > 0 ? Math.max(0, Math.min(...requeue)) : undefined,
  });
  if (runnerSet.metadata.deletionTimestamp) return finish(); // the garbage collector removes the Runners

  // A selector that selects every Runner, or none, is refused by admission; where no webhook ran
  // (kube-system, octorun-system) the controller refuses to act on it, as the Deployment
  // controller does: it would adopt every orphan, or create Runners it never counts as its own.
  const refused = selectorRefusal(spec.selector);
  if (refused) {
    actions.push({ type: "event", eventType: "Warning", reason: Reasons.InvalidSelector, message: refused });
    status.conditions = setCondition(
      previous.conditions as Condition[] | undefined,
      {
        type: RunnerSetConditionTypes.RunnerFailure,
        status: "True",
        reason: Reasons.InvalidSelector,
        message: refused,
        observedGeneration: runnerSet.metadata.generation,
      },
      nowDate,
    );
    return finish();
  }

  // Revisions: the current template's, created if new, made the newest if it is an old one again.
  const collisionCount = previous.collisionCount ?? 0;
  const existing = findRevisionOf(revisions, spec.template);
  const currentHash = existing?.metadata?.labels?.[REVISION_HASH_LABEL] ?? templateHash(spec.template, collisionCount);
  const currentName = existing?.metadata?.name ?? revisionName(runnerSet.metadata.name ?? "", currentHash);
  const newest = nextRevisionNumber(revisions);
  if (!existing) {
    actions.push({
      type: "createRevision",
      revision: {
        apiVersion: "apps/v1",
        kind: "ControllerRevision",
        metadata: {
          name: currentName,
          namespace: runnerSet.metadata.namespace,
          labels: { ...(spec.template.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: currentHash },
          ownerReferences: [ownerReference(RunnerSets, runnerSet)],
        },
        data: revisionData(spec.template),
        revision: newest,
      },
    });
  } else if ((existing.revision ?? 0) < newest - 1) {
    actions.push({ type: "bumpRevision", name: currentName, revision: newest });
  }
  status.nextRevision = currentName;

  // Ownership: adopt orphans that match, release owned Runners that no longer match.
  const mine: RunnerObject[] = [];
  for (const runner of runners) {
    const owner = controllerOf(runner);
    const matches = selectorMatches(spec.selector, runner.metadata.labels);
    if (owner?.uid === uid) {
      if (matches) mine.push(runner);
      else if (!runner.metadata.deletionTimestamp)
        actions.push({ type: "release", runner: runner.metadata.name ?? "", uid: runner.metadata.uid ?? "" });
    } else if (!owner && matches && !runner.metadata.deletionTimestamp) {
      actions.push({ type: "adopt", runner: runner.metadata.name ?? "", uid: runner.metadata.uid ?? "" });
      actions.push({
        type: "event",
        eventType: "Normal",
        reason: Reasons.RunnerAdopted,
        message: `Adopted Runner ${runner.metadata.name}.`,
      });
      mine.push(runner);
    }
  }

  const live = mine.filter((r) => !r.metadata.deletionTimestamp);
  const complete = live.filter((r) => phaseOf(r) === "Complete");
  const failed = live.filter((r) => phaseOf(r) === "Failed");
  const alive = live.filter((r) => phaseOf(r) !== "Complete" && phaseOf(r) !== "Failed");
  const deletions: { name: string; uid: string; reason: string }[] = [];
  for (const r of complete) {
    const keepUntil = r.status?.job ? now : lastTransition(r) + config.unrecordedJobGraceMs;
    if (now >= keepUntil)
      deletions.push({ name: r.metadata.name ?? "", uid: r.metadata.uid ?? "", reason: "Complete" });
    else requeue.push(keepUntil - now);
  }
  for (const r of failed) deletions.push({ name: r.metadata.name ?? "", uid: r.metadata.uid ?? "", reason: "Failed" });
  const counted = new Set(facts.countedFailures ?? []);
  const newFailures = failed.filter((r) => !counted.has(r.metadata.uid ?? ""));
  if (newFailures.length > 0) {
    facts.failures += newFailures.length;
    facts.lastFailureAt = now;
    facts.countedFailures = [...counted, ...newFailures.map((r) => r.metadata.uid ?? "")].slice(-100);
  } else if (
    facts.failures > 0 &&
    alive.some((r) => phaseOf(r) !== "Pending" && created(r) > (facts.lastFailureAt ?? 0))
  ) {
    facts.failures = 0; // a runner made after the last failure came up: the trouble is over
    facts.lastFailureAt = undefined;
  }

  const revisionOf = (r: RunnerObject) => r.metadata.labels?.[REVISION_HASH_LABEL];
  const old = alive.filter((r) => revisionOf(r) !== currentHash);
  let remaining = alive.length;
  if (alive.length > desired) {
    // Scale down: Pending first, then Idle; old revisions and the newest first within each. Never Active.
    const rank = (r: RunnerObject) => (phaseOf(r) === "Pending" ? 0 : 1);
    const victims = alive
      .filter((r) => phaseOf(r) !== "Active")
      .sort(
        (a, b) =>
          rank(a) - rank(b) ||
          Number(revisionOf(b) !== currentHash) - Number(revisionOf(a) !== currentHash) ||
          created(b) - created(a),
      )
      .slice(0, alive.length - desired);
    for (const r of victims)
      deletions.push({ name: r.metadata.name ?? "", uid: r.metadata.uid ?? "", reason: "ScaleDown" });
    remaining -= victims.length;
  } else if (spec.updateStrategy?.type === "RollingUpdate" && old.length > 0) {
    // Replace Idle (and Pending) runners of an old revision, a batch at a time, once the new ones are up.
    const newPending = alive.filter((r) => revisionOf(r) === currentHash && phaseOf(r) === "Pending").length;
    const batch = Math.max(1, Math.floor(desired * config.rollingUpdateFraction));
    const room = Math.max(0, batch - newPending);
    const victims = old
      .filter((r) => phaseOf(r) !== "Active")
      .sort(
        (a, b) => (phaseOf(a) === "Pending" ? 0 : 1) - (phaseOf(b) === "Pending" ? 0 : 1) || created(a) - created(b),
      )
      .slice(0, room);
    for (const r of victims)
      deletions.push({ name: r.metadata.name ?? "", uid: r.metadata.uid ?? "", reason: "RollingUpdate" });
    remaining -= victims.length;
  }
  if (deletions.length > 0) actions.push({ type: "deleteRunners", runners: deletions });

  const missing = desired - remaining;
  if (missing > 0) {
    const waitUntil =
      facts.failures > 0
        ? (facts.lastFailureAt ?? now) +
          exponentialBackoff(facts.failures, config.failureBackoffBaseMs, config.failureBackoffMaxMs)
        : now;
    if (now >= waitUntil)
      actions.push({ type: "createRunners", count: missing, template: spec.template, revisionHash: currentHash });
    else requeue.push(waitUntil - now);
  }

  // Status: what was observed this time.
  status.runners = alive.length;
  status.idleRunners = alive.filter((r) => phaseOf(r) === "Idle").length;
  status.activeRunners = alive.filter((r) => phaseOf(r) === "Active").length;
  status.collisionCount = collisionCount;
  if (old.length === 0) status.currentRevision = currentName;
  else status.currentRevision = previous.currentRevision ?? currentName;
  const ready = status.idleRunners + status.activeRunners;
  let conditions = previous.conditions as Condition[] | undefined;
  const generation = runnerSet.metadata.generation;
  conditions = setCondition(
    conditions,
    ready === desired && alive.length === desired && failed.length === 0
      ? {
          type: RunnerSetConditionTypes.RunnersReady,
          status: "True",
          reason: Reasons.RunnersReady,
          message: `${ready} of ${desired} runners are ready.`,
          observedGeneration: generation,
        }
      : {
          type: RunnerSetConditionTypes.RunnersReady,
          status: "False",
          reason: Reasons.RunnersNotReady,
          message: `${ready} of ${desired} runners are ready.`,
          observedGeneration: generation,
        },
    nowDate,
  );
  conditions = setCondition(
    conditions,
    facts.lastError
      ? {
          type: RunnerSetConditionTypes.RunnerFailure,
          status: "True",
          reason: facts.lastError.reason,
          message: facts.lastError.message,
          observedGeneration: generation,
        }
      : {
          type: RunnerSetConditionTypes.RunnerFailure,
          status: "False",
          reason: Reasons.RunnersReady,
          message: "Runners are created and deleted as needed.",
          observedGeneration: generation,
        },
    nowDate,
  );
  if (spec.updateStrategy?.type === "RollingUpdate") {
    conditions = setCondition(
      conditions,
      old.length > 0
        ? {
            type: RunnerSetConditionTypes.Progressing,
            status: "True",
            reason: Reasons.RollingUpdate,
            message: `${old.length} runners of an old revision to replace.`,
            observedGeneration: generation,
          }
        : {
            type: RunnerSetConditionTypes.Progressing,
            status: "False",
            reason: Reasons.UpdateComplete,
            message: `All runners are at revision ${currentName}.`,
            observedGeneration: generation,
          },
      nowDate,
    );
  }
  status.conditions = conditions;

  // History: keep revisionHistoryLimit revisions besides the current one and those still in use.
  const inUse = new Set(mine.map(revisionOf));
  const limit = spec.revisionHistoryLimit ?? 10;
  const history = revisions
    .filter((r) => r.metadata?.name !== currentName && !inUse.has(r.metadata?.labels?.[REVISION_HASH_LABEL]))
    .sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
  const excess = history.slice(0, Math.max(0, history.length - limit));
  if (excess.length > 0) actions.push({ type: "deleteRevisions", names: excess.map((r) => r.metadata?.name ?? "") });
  return finish();
}

/** Why the controller will not act on a RunnerSet's selector, or undefined when it may. */
function selectorRefusal(selector: RunnerSetObject["spec"]["selector"] | undefined): string | undefined {
  if (!selector) return "The RunnerSet has no selector; a non-empty selector is required.";
  if (isEmptySelector(selector)) return "The RunnerSet is selecting all Runners; a non-empty selector is required.";
  const problems = selectorProblems(selector, "spec.selector");
  if (problems.length > 0)
    return `The RunnerSet's selector is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`;
  return undefined;
}

/** When the Runner's status last changed (its newest condition transition), in ms. */
function lastTransition(runner: RunnerObject): number {
  const times = (runner.status?.conditions ?? []).map((c) => Date.parse(c.lastTransitionTime ?? "") || 0);
  return Math.max(0, ...times);
}
