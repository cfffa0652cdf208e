// The Runner's pure decision: from what the controller observed (the Runner, its Pod and Secret,
// what GitHub said lately) to the actions to take and the status the Runner should have.
// The executor (runner-reconciler.ts) carries the actions out in order and writes the status.

import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import {
  Reasons,
  RUNNER_FINALIZER,
  RUNNER_ID_ANNOTATION,
  RUNNER_OS_ANNOTATION,
  RunnerConditionTypes,
  SAFE_TO_EVICT_ANNOTATION,
} from "@octorun/api";
import {
  type Condition,
  type ConditionUpdate,
  exponentialBackoff,
  findCondition,
  setCondition,
  toRfc3339,
} from "@octorun/kube";
import { githubRunnerName } from "./runner-naming.ts";
import { nextPhase, type RunnerPhase, runningAJob } from "./runner-phase.ts";
import { buildRunnerPod, podFailureMessage, podReady, type RegistrationMode, safeToEvict } from "./runner-pod.ts";
import { type RunnerObject, type RunnerStatus, timeOf } from "./types.ts";
import type { UnseenWrites } from "./unseen-writes.ts";

/** What the controller knows about the runner's Secret (never its content). */
export interface SecretFacts {
  /** The key the current mode needs is present. */
  hasCredentials: boolean;
  /** Token mode: when the registration token expires (epoch ms). */
  tokenExpiresAt?: number | undefined;
  /** JIT mode: the runner id (and OS) GitHub gave at registration, kept on the Secret until spec.id holds it. */
  runnerId?: number | undefined;
  runnerOs?: string | undefined;
}

/** The answer GitHub gave for this runner last time the controller asked. */
export interface GitHubRunnerFacts {
  checkedAt: number;
  found: boolean;
  online: boolean;
  busy: boolean;
}

export interface RegistrationError {
  at: number;
  /** A condition reason: RegistrationFailed, RateLimited, GitHubError. */
  reason: string;
  message: string;
  /** Retrying cannot help (403, 404, a bad URL, labels GitHub refuses). */
  permanent: boolean;
  /** GitHub said when to come back (rate limit). */
  retryAt?: number | undefined;
}

/** What the controller remembers about one Runner between reconciles (in memory; lost on restart, by design). */
export interface RunnerFacts {
  github?: GitHubRunnerFacts | undefined;
  /** GitHub checks made while Pending (online) or Active (job), for the polling budget. */
  onlineChecks: number;
  jobChecks: number;
  registrationFailures: number;
  lastRegistrationError?: RegistrationError | undefined;
  /** The last online or job check failed (rate limit, GitHub error): when it may be tried again and why. */
  checkFailures?: number;
  lastCheckError?: RegistrationError | undefined;
  /** The GitHub registration was removed (deletion). */
  registrationRemoved: boolean;
  /** The runner id this process wrote to spec.id (a cache that lags the write does not cause another). */
  writtenId?: number | undefined;
  /** This process has begun registering the runner (a Secret of its own may exist from then on). */
  registrationBegun?: boolean;
  /** When a routine status write of a starting runner was first put off (status-write.ts). */
  statusDeferredSince?: number | undefined;
  /** Writes of this process the caches have not shown yet: the next plan waits for them. */
  unseen?: UnseenWrites | undefined;
}

export const emptyFacts = (): RunnerFacts => ({
  onlineChecks: 0,
  jobChecks: 0,
  registrationFailures: 0,
  registrationRemoved: false,
});

export interface RunnerPlanConfig {
  mode: RegistrationMode;
  /** Token mode: refresh this long before the token expires (5 minutes). */
  tokenRefreshBeforeMs: number;
  /** The first online check, this long after the Pod became Ready (the runner needs a moment to connect). */
  onlineCheckDelayMs: number;
  /** Further online checks while Pending: base·2^(n-1) after the previous one, capped. */
  onlineCheckBaseMs: number;
  onlineCheckMaxMs: number;
  /** After the job completed, how long the Pod may run before the controller stops it. */
  completedGraceMs: number;
  /** An Active runner with no completed event: ask GitHub after this long, then every interval. */
  activeCheckAfterMs: number;
  activeCheckIntervalMs: number;
  /** Registration attempts before the Runner is Failed. */
  maxRegistrationFailures: number;
  registrationBackoffBaseMs: number;
  registrationBackoffMaxMs: number;
  /** A missing or invalid credential Secret: look again after this long (never Failed for it). */
  credentialsRetryMs: number;
  /** Deleting an Active runner: look again after this long. */
  activeDeletionRequeueMs: number;
  /** A starting runner's routine progress is written at most this long after its last write (status-write.ts). */
  pendingStatusDeferMs: number;
}

export const defaultRunnerPlanConfig: RunnerPlanConfig = {
  mode: "jit",
  tokenRefreshBeforeMs: 5 * 60_000,
  onlineCheckDelayMs: 2_000,
  onlineCheckBaseMs: 1_000,
  onlineCheckMaxMs: 30_000,
  completedGraceMs: 60_000,
  activeCheckAfterMs: 15 * 60_000,
  activeCheckIntervalMs: 10 * 60_000,
  maxRegistrationFailures: 5,
  registrationBackoffBaseMs: 2_000,
  registrationBackoffMaxMs: 120_000,
  credentialsRetryMs: 60_000,
  activeDeletionRequeueMs: 60_000,
  pendingStatusDeferMs: 5_000,
};

export interface RunnerObservation {
  runner: RunnerObject;
  /**
   * Why spec.url is refused (its host is not github.com or an allowed GitHub Enterprise Server
   * host, or it is no runner URL): the controller then asks GitHub nothing for this Runner.
   * Undefined when the URL is allowed.
   */
  urlRefused?: string | undefined;
  pod: V1Pod | undefined;
  secret: SecretFacts | undefined;
  facts: RunnerFacts;
  now: number;
  config: RunnerPlanConfig;
}

export type RunnerAction =
  | { type: "addFinalizer" }
  | { type: "register"; githubName: string }
  | { type: "refreshToken" }
  | { type: "createPod"; pod: V1Pod }
  | { type: "setSafeToEvict"; value: "true" | "false" }
  /**
   * Ask GitHub about the runner (a fact for the next plan), by id when known; its id and OS go into
   * spec if spec lacks them. `purpose` is for logs and metrics.
   */
  | { type: "checkRunner"; purpose: "online" | "job"; githubName: string; id?: number | undefined }
  /** Writes the id (and OS) from the JIT Secret to spec: the runner left Pending without an online check. */
  | { type: "recordRegistration"; id: number; os?: string | undefined }
  | { type: "stopPod"; reason: string }
  | { type: "deleteRegistration"; id: number }
  | { type: "deletePod" }
  | { type: "deleteSecret" }
  | { type: "removeFinalizer" }
  /** `withStatus`: says what the new status says; recorded once that status is written (not again if the write fails). */
  | { type: "event"; eventType: "Normal" | "Warning"; reason: string; message: string; withStatus?: boolean };

export interface RunnerPlan {
  actions: RunnerAction[];
  status: RunnerStatus;
  /** Look again after this long even if nothing changes (polling, backoff, grace periods). */
  requeueAfterMs?: number | undefined;
}

const TERMINAL = new Set(["Complete", "Failed"]);

export function planRunner(observation: RunnerObservation): RunnerPlan {
  const { runner } = observation;
  if (runner.metadata.deletionTimestamp) return planDeletion(observation);
  return planLife(observation);
}

function planDeletion({ runner, pod, secret, facts, config, urlRefused }: RunnerObservation): RunnerPlan {
  const status = runner.status ?? {};
  if (!(runner.metadata.finalizers ?? []).includes(RUNNER_FINALIZER)) return { actions: [], status };
  const podEnded = pod?.status?.phase === "Succeeded" || pod?.status?.phase === "Failed";
  // An Active runner keeps its Pod until its job ends (the completed event, or the Pod exits).
  if (status.phase === "Active" && !status.job?.completedAt && pod && !podEnded) {
    return {
      actions: [
        {
          type: "event",
          eventType: "Normal",
          reason: Reasons.WaitingForJob,
          message: "Runner is Active; it will be deleted when its job ends.",
        },
      ],
      status,
      requeueAfterMs: config.activeDeletionRequeueMs,
    };
  }
  const actions: RunnerAction[] = [];
  // A Complete ephemeral runner was removed by GitHub after its job: no call needed.
  const id = runner.spec.id ?? secret?.runnerId;
  // A refused URL was never sent a registration, so none is removed there either.
  if (id !== undefined && status.phase !== "Complete" && !facts.registrationRemoved && urlRefused === undefined) {
    actions.push({ type: "deleteRegistration", id });
  }
  if (pod && !pod.metadata?.deletionTimestamp) actions.push({ type: "deletePod" });
  if (secret) actions.push({ type: "deleteSecret" });
  actions.push({ type: "removeFinalizer" });
  return { actions, status };
}

interface Draft {
  status: RunnerStatus;
  actions: RunnerAction[];
  requeue: number[];
  generation: number | undefined;
  now: Date;
}

function condition(draft: Draft, update: Omit<ConditionUpdate, "observedGeneration">): void {
  draft.status.conditions = setCondition(
    draft.status.conditions as Condition[] | undefined,
    { ...update, observedGeneration: draft.generation },
    draft.now,
  );
}

/** Moves the phase forward (runner-phase.ts's rule) and records why once the status is written. */
function transition(draft: Draft, observed: RunnerPhase, reason: string, message: string, warning = false): void {
  const phase = nextPhase(draft.status.phase, observed);
  if (draft.status.phase === phase) return;
  draft.status.phase = phase;
  draft.actions.push({ type: "event", eventType: warning ? "Warning" : "Normal", reason, message, withStatus: true });
}

function planLife(observation: RunnerObservation): RunnerPlan {
  const { runner, pod, secret, facts, now, config } = observation;
  const draft: Draft = {
    status: structuredClone(runner.status ?? {}),
    actions: [],
    requeue: [],
    generation: runner.metadata.generation,
    now: new Date(now),
  };
  const { status } = draft;
  const githubName = githubRunnerName({
    namespace: runner.metadata.namespace ?? "",
    name: runner.metadata.name ?? "",
    uid: runner.metadata.uid ?? "",
    recorded: status.runnerName,
  });
  status.runnerName = githubName;
  if (runner.metadata.generation !== undefined) status.observedGeneration = runner.metadata.generation;
  status.phase ??= "Pending";
  let livePod: V1Pod | undefined;
  const finish = (): RunnerPlan => {
    if (livePod) {
      const evictable = safeToEvict({ ...runner, status });
      if (livePod.metadata?.annotations?.[SAFE_TO_EVICT_ANNOTATION] !== evictable) {
        draft.actions.push({ type: "setSafeToEvict", value: evictable });
      }
    }
    return {
      actions: draft.actions,
      status,
      requeueAfterMs: draft.requeue.length > 0 ? Math.max(0, Math.min(...draft.requeue)) : undefined,
    };
  };

  if (!(runner.metadata.finalizers ?? []).includes(RUNNER_FINALIZER)) draft.actions.push({ type: "addFinalizer" });
  if (TERMINAL.has(status.phase)) return finish();

  if (observation.urlRefused !== undefined) {
    const message = `spec.url is refused: ${observation.urlRefused}`;
    condition(draft, {
      type: RunnerConditionTypes.Registered,
      status: "False",
      reason: Reasons.URLNotAllowed,
      message,
    });
    condition(draft, { type: RunnerConditionTypes.Failed, status: "True", reason: Reasons.URLNotAllowed, message });
    transition(draft, "Failed", Reasons.URLNotAllowed, message, true);
    return finish();
  }

  // Registration: the Secret holds the JIT configuration (or registration token).
  // JIT: spec.id is written with spec.os once GitHub lists the runner (one write); until then the
  // Secret carries the id.
  const runnerId = runner.spec.id ?? secret?.runnerId;
  const registered = secret?.hasCredentials === true && (config.mode === "token" || runnerId !== undefined);
  if (runner.spec.id === undefined && secret?.runnerId !== undefined && status.phase !== "Pending") {
    draft.actions.push({ type: "recordRegistration", id: secret.runnerId, os: secret.runnerOs });
  }
  if (!registered && !pod) {
    const error = facts.lastRegistrationError;
    if (error && (error.permanent || facts.registrationFailures >= config.maxRegistrationFailures)) {
      const message = error.permanent
        ? error.message
        : `${error.message} (gave up after ${facts.registrationFailures} attempts)`;
      condition(draft, { type: RunnerConditionTypes.Registered, status: "False", reason: error.reason, message });
      condition(draft, {
        type: RunnerConditionTypes.Failed,
        status: "True",
        reason: Reasons.RegistrationFailed,
        message,
      });
      transition(draft, "Failed", Reasons.RegistrationFailed, message, true);
      return finish();
    }
    if (error) {
      condition(draft, {
        type: RunnerConditionTypes.Registered,
        status: "False",
        reason: error.reason,
        message: error.message,
      });
      const retryAt = Math.max(
        error.retryAt ?? 0,
        error.at +
          exponentialBackoff(
            facts.registrationFailures,
            config.registrationBackoffBaseMs,
            config.registrationBackoffMaxMs,
          ),
      );
      if (now < retryAt) {
        draft.requeue.push(retryAt - now);
        return finish();
      }
    }
    draft.actions.push({ type: "register", githubName });
    draft.actions.push({ type: "createPod", pod: buildRunnerPod({ runner, githubName, mode: config.mode }) });
    return finish();
  }
  if (registered) {
    condition(draft, {
      type: RunnerConditionTypes.Registered,
      status: "True",
      reason: Reasons.Registered,
      message: `Registered with GitHub as ${githubName}.`,
    });
  }
  if (config.mode === "token" && secret?.tokenExpiresAt !== undefined && status.phase === "Pending") {
    const refreshAt = secret.tokenExpiresAt - config.tokenRefreshBeforeMs;
    if (now >= refreshAt) draft.actions.push({ type: "refreshToken" });
    else draft.requeue.push(refreshAt - now);
  }

  if (!pod) {
    if (status.phase === "Pending") {
      draft.actions.push({ type: "createPod", pod: buildRunnerPod({ runner, githubName, mode: config.mode }) });
      return finish();
    }
    if (status.phase === "Active" && status.job?.completedAt) {
      // Stopped after its job (the grace period ran out): the runner did its work.
      const message = "The runner Pod was stopped after its job completed.";
      condition(draft, { type: RunnerConditionTypes.PodReady, status: "False", reason: Reasons.JobCompleted, message });
      condition(draft, { type: RunnerConditionTypes.Online, status: "False", reason: Reasons.JobCompleted, message });
      transition(draft, "Complete", Reasons.JobCompleted, message);
      return finish();
    }
    // Idle or Active without a Pod: the JIT configuration was used up; this runner cannot come back.
    const message = "The runner Pod was deleted.";
    condition(draft, {
      type: RunnerConditionTypes.PodReady,
      status: "False",
      reason: Reasons.RunnerPodFailed,
      message,
    });
    condition(draft, { type: RunnerConditionTypes.Online, status: "False", reason: Reasons.RunnerPodFailed, message });
    condition(draft, { type: RunnerConditionTypes.Failed, status: "True", reason: Reasons.RunnerPodFailed, message });
    transition(draft, "Failed", Reasons.RunnerPodFailed, message, true);
    return finish();
  }

  const podPhase = pod.status?.phase;
  if (podPhase === "Succeeded") {
    const message = "Runner Pod has succeeded.";
    condition(draft, {
      type: RunnerConditionTypes.PodReady,
      status: "False",
      reason: Reasons.RunnerPodSucceeded,
      message,
    });
    condition(draft, {
      type: RunnerConditionTypes.Online,
      status: "False",
      reason: Reasons.RunnerPodSucceeded,
      message,
    });
    transition(draft, "Complete", Reasons.RunnerPodSucceeded, message);
    return finish();
  }
  if (podPhase === "Failed") {
    const message = podFailureMessage(pod);
    condition(draft, {
      type: RunnerConditionTypes.PodReady,
      status: "False",
      reason: Reasons.RunnerPodFailed,
      message,
    });
    condition(draft, { type: RunnerConditionTypes.Online, status: "False", reason: Reasons.RunnerPodFailed, message });
    condition(draft, { type: RunnerConditionTypes.Failed, status: "True", reason: Reasons.RunnerPodFailed, message });
    transition(draft, "Failed", Reasons.RunnerPodFailed, message, true);
    return finish();
  }
  if (pod.metadata?.deletionTimestamp) return finish(); // being stopped: wait for it to go

  // safe-to-evict follows the phase this plan ends in.
  livePod = pod;

  if (!podReady(pod)) {
    condition(draft, {
      type: RunnerConditionTypes.PodReady,
      status: "False",
      reason: Reasons.RunnerPodPending,
      message: "Waiting for Pod to be Running.",
    });
    return finish();
  }
  condition(draft, {
    type: RunnerConditionTypes.PodReady,
    status: "True",
    reason: Reasons.RunnerPodReady,
    message: "Runner Pod is Running and Ready.",
  });

  if (status.phase === "Pending") {
    const answer = facts.github;
    if (answer?.found && answer.busy) {
      condition(draft, runningAJob);
      transition(draft, "Active", Reasons.RunnerBusy, runningAJob.message ?? "");
      return finish();
    }
    if (answer?.found && answer.online) {
      condition(draft, {
        type: RunnerConditionTypes.Online,
        status: "True",
        reason: Reasons.RunnerOnline,
        message: "Runner is online.",
      });
      transition(draft, "Idle", Reasons.RunnerOnline, "Runner is online and waiting for a job.");
      return finish();
    }
    if (answer) {
      condition(draft, {
        type: RunnerConditionTypes.Online,
        status: "False",
        reason: Reasons.RunnerOffline,
        message: answer.found ? "Runner is offline." : "GitHub does not list the runner yet.",
      });
    }
    const checkError = facts.lastCheckError;
    if (checkError) {
      condition(draft, {
        type: RunnerConditionTypes.Online,
        status: "False",
        reason: checkError.reason === Reasons.RateLimited ? Reasons.RateLimited : Reasons.GitHubError,
        message: `Could not ask GitHub whether the runner is online: ${checkError.message}`,
      });
    }
    // Polling budget: the first check a moment after the Pod became Ready, then doubling waits up to the cap.
    const readyAt = timeOf(pod.status?.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime) || now;
    const dueAt = Math.max(
      answer === undefined
        ? readyAt + config.onlineCheckDelayMs
        : answer.checkedAt + exponentialBackoff(facts.onlineChecks, config.onlineCheckBaseMs, config.onlineCheckMaxMs),
      checkRetryAt(facts, config),
    );
    if (now >= dueAt) draft.actions.push({ type: "checkRunner", purpose: "online", githubName, id: runnerId });
    else draft.requeue.push(dueAt - now);
    return finish();
  }

  if (status.phase === "Active") {
    const job = status.job;
    if (job?.completedAt) {
      // The job is over but the runner has not exited: give it a grace period, then stop it.
      const stopAt = Date.parse(job.completedAt) + config.completedGraceMs;
      if (now >= stopAt) {
        draft.actions.push({
          type: "stopPod",
          reason: `the job completed at ${job.completedAt} and the runner did not exit within ${Math.round(config.completedGraceMs / 1000)}s`,
        });
      } else draft.requeue.push(stopAt - now);
      return finish();
    }
    // Fallback for a completed event that never came: ask GitHub now and then whether the runner is still busy.
    const since =
      Date.parse(
        job?.assignedAt ?? findCondition(status.conditions, RunnerConditionTypes.Online)?.lastTransitionTime ?? "",
      ) || now;
    const firstAt = since + config.activeCheckAfterMs;
    const dueAt = Math.max(
      facts.github && facts.jobChecks > 0
        ? Math.max(firstAt, facts.github.checkedAt + config.activeCheckIntervalMs)
        : firstAt,
      checkRetryAt(facts, config),
    );
    const answer = facts.github;
    if (answer && facts.jobChecks > 0 && (!answer.found || !answer.busy)) {
      status.job = {
        ...(job ?? { id: 0 }),
        completedAt: toRfc3339(new Date(answer.checkedAt)),
      };
      draft.actions.push({
        type: "event",
        eventType: "Normal",
        reason: Reasons.JobCompleted,
        message: "GitHub reports the runner no longer busy; its completed event never arrived.",
        withStatus: true,
      });
      draft.requeue.push(config.completedGraceMs);
      return finish();
    }
    if (now >= dueAt) draft.actions.push({ type: "checkRunner", purpose: "job", githubName, id: runnerId });
    else draft.requeue.push(dueAt - now);
    return finish();
  }
  return finish();
}

/** After a failed check: when GitHub allows the next one (rate limit), else a doubling backoff; 0 when none failed. */
function checkRetryAt(facts: RunnerFacts, config: RunnerPlanConfig): number {
  const error = facts.lastCheckError;
  if (!error) return 0;
  return Math.max(
    error.retryAt ?? 0,
    error.at + exponentialBackoff(facts.checkFailures ?? 1, config.onlineCheckBaseMs, config.onlineCheckMaxMs),
  );
}

/** The runner id and OS GitHub gave at registration, as the JIT Secret's annotations keep them. */
export function registrationOnSecret(secret: V1Secret): { id: number; os?: string } | undefined {
  const annotations = secret.metadata?.annotations ?? {};
  const id = Number(annotations[RUNNER_ID_ANNOTATION]);
  if (!Number.isSafeInteger(id) || id <= 0) return undefined;
  const os = annotations[RUNNER_OS_ANNOTATION];
  return os ? { id, os } : { id };
}

/** The JIT Secret's runner id and OS, when the Runner's spec does not hold them yet. */
export function registrationToFinish(runner: RunnerObject, secret: V1Secret): { id: number; os?: string } | undefined {
  return runner.spec.id === undefined ? registrationOnSecret(secret) : undefined;
}

/**
 * Whether a runner's Secret may exist though the cache does not show it: written by an earlier
 * leader, or by an attempt of this process that failed half-way. Not when the Runner was created
 * after this process became the only one registering (`soleRegistrarSince`, epoch ms) and this
 * process has not begun registering it: then the apiserver need not be asked before GitHub is.
 */
export function secretMayExistUnseen(o: {
  createdAt: number;
  soleRegistrarSince: number | undefined;
  registrationBegun: boolean;
}): boolean {
  if (o.soleRegistrarSince === undefined || o.registrationBegun || Number.isNaN(o.createdAt)) return true;
  return o.createdAt <= o.soleRegistrarSince;
}
