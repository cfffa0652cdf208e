// The Runner reconciler: reads the Runner, its Pod and Secret from the caches, lets planRunner
// decide, and carries the actions out. GitHub answers are kept as facts between reconciles.

import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import {
  githubRunnerLabels,
  JIT_CONFIG_SECRET_KEY,
  REGISTRATION_TOKEN_SECRET_KEY,
  Reasons,
  RUNNER_FINALIZER,
  RUNNER_ID_ANNOTATION,
  RUNNER_NAME_LABEL,
  RUNNER_OS_ANNOTATION,
  RunnerUrlError,
  SAFE_TO_EVICT_ANNOTATION,
  TOKEN_EXPIRES_AT_ANNOTATION,
} from "@octorun/api";
import type { GitHubRunnerClient } from "@octorun/github";
import { GitHubRunnerBusyError } from "@octorun/github";
import {
  addFinalizer,
  done,
  type EventRecorder,
  type Informer,
  isAlreadyExists,
  isNotFound,
  isOwnedBy,
  KubeApiError,
  type KubeClient,
  type KubeLogger,
  ownerReference,
  Pods,
  patchStatus,
  type ReconcileResult,
  type Reconciler,
  Runners,
  removeFinalizer,
  requeueAfter,
  Secrets,
  silentLogger,
} from "@octorun/kube";
import { type GitHubCredentials, GitHubCredentialsError } from "./github-credentials.ts";
import { judgeGitHubError, outcomeOf } from "./github-errors.ts";
import type { ControllerMetrics } from "./metrics.ts";
import { RegistrationTurns } from "./registration-turns.ts";
import { canonicalJson } from "./revisions.ts";
import {
  emptyFacts,
  planRunner,
  type RunnerAction,
  type RunnerFacts,
  type RunnerPlanConfig,
  registrationOnSecret,
  registrationToFinish,
  type SecretFacts,
  secretMayExistUnseen,
} from "./runner-plan.ts";
import { runnerSecretName } from "./runner-pod.ts";
import { statusWriteDelay } from "./status-write.ts";
import type { RunnerObject } from "./types.ts";
import { noteWrite, stillUnseen } from "./unseen-writes.ts";

export interface RunnerReconcilerOptions {
  client: KubeClient;
  runners: Informer<RunnerObject>;
  pods: Informer<V1Pod>;
  secrets: Informer<V1Secret>;
  /** The GitHub client of each Runner's credential (its own Secret's, or the controller's). */
  credentials: GitHubCredentials;
  events: EventRecorder;
  config: RunnerPlanConfig;
  metrics: ControllerMetrics;
  logger?: KubeLogger;
  now?: () => number;
  /**
   * From when (epoch ms) a newly created Runner can only have been registered by this process: it
   * leads, and any earlier leader has noticed it does not. Undefined while that is not known.
   */
  soleRegistrarSince?: () => number | undefined;
  /** Runners asking GitHub to register them at once; the rest wait their turn without holding a worker (default 8). */
  registrationsAtOnce?: number;
  /** Puts a Runner's key first on the work queue: how a Runner whose registration turn came is woken. */
  enqueue?: (key: string) => void;
}

/** Re-plans after a GitHub answer within one reconcile, at most this often. */
const MAX_ROUNDS = 4;
const BUSY_RETRY_MS = 30_000;
/** Longest wait for the caches to show this process's own writes before planning without them. */
const UNSEEN_WAIT_MS = 30_000;

export class RunnerReconciler implements Reconciler {
  readonly #o: RunnerReconcilerOptions;
  readonly #logger: KubeLogger;
  readonly #now: () => number;
  /** GitHub facts by Runner uid. */
  readonly #facts = new Map<string, RunnerFacts>();
  readonly #uidByKey = new Map<string, string>();
  /** Registration turns per credential: one App's rate limit or slow answers cannot hold up another's runners. */
  readonly #turns = new Map<string, RegistrationTurns>();

  constructor(options: RunnerReconcilerOptions) {
    this.#o = options;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
  }

  #turnsOf(runner: RunnerObject): RegistrationTurns {
    const secret = runner.spec.githubSecretRef?.name;
    const credential = secret ? `${runner.metadata.namespace}/${secret}` : "";
    let turns = this.#turns.get(credential);
    if (!turns) {
      turns = new RegistrationTurns({
        limit: this.#o.registrationsAtOnce ?? 8,
        wake: (key) => this.#o.enqueue?.(key),
      });
      this.#turns.set(credential, turns);
    }
    return turns;
  }

  /** A reconcile of `key` ended: its turn (of whichever credential) passes on (registration-turns.ts). */
  #settleTurns(key: string, waiting: boolean): void {
    for (const turns of this.#turns.values()) turns.settle(key, waiting);
  }

  /** Facts of a Runner, for tests and the job-event fallback. */
  factsOf(uid: string): RunnerFacts | undefined {
    return this.#facts.get(uid);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const turn = { waiting: false };
    try {
      return await this.#reconcile(key, turn);
    } finally {
      this.#settleTurns(key, turn.waiting);
    }
  }

  async #reconcile(key: string, turn: { waiting: boolean }): Promise<ReconcileResult> {
    const cached = this.#o.runners.get(key);
    if (!cached) {
      this.#forgetKey(key);
      return done();
    }
    let current = cached;
    const uid = current.metadata.uid ?? "";
    const facts = this.#facts.get(uid) ?? emptyFacts();
    this.#facts.set(uid, facts);
    this.#uidByKey.set(key, uid);
    const { namespace = "", name = "" } = current.metadata;
    const ownedChild = <T extends V1Pod | V1Secret>(child: T | undefined) =>
      child && isOwnedBy(child, cached) ? child : undefined;
    const podOf = () => ownedChild(this.#o.pods.getByName(namespace, name));
    const secretOf = () => ownedChild(this.#o.secrets.getByName(namespace, runnerSecretName(name)));

    const startedAt = this.#now();
    facts.unseen = stillUnseen(
      facts.unseen,
      { generation: current.metadata.generation, podUid: podOf()?.metadata?.uid, secretUid: secretOf()?.metadata?.uid },
      startedAt,
      UNSEEN_WAIT_MS,
    );
    // The watch event of the unseen write wakes this Runner; the requeue only bounds the wait.
    if (facts.unseen) return requeueAfter(facts.unseen.since + UNSEEN_WAIT_MS - startedAt);

    for (let round = 0; round < MAX_ROUNDS; round++) {
      const pod = podOf();
      const secret = secretOf();
      const plan = planRunner({
        runner: current,
        urlRefused: this.#urlRefused(current),
        pod,
        secret: secret ? this.#secretFacts(secret) : undefined,
        facts,
        now: this.#now(),
        config: this.#o.config,
      });
      let replan = false;
      for (const action of plan.actions) {
        if (action.type === "event" && action.withStatus) continue;
        if (action.type === "register" && !this.#turnsOf(current).take(key)) {
          turn.waiting = true;
          return done(); // woken when its turn comes
        }
        const outcome = await this.#execute(action, current, facts, pod);
        if (outcome.runner) current = outcome.runner;
        if (outcome.result) return outcome.result;
        if (outcome.replan) {
          replan = true;
          break;
        }
      }
      if (replan) continue;
      // A Pod just created comes back through the watch and the Runner is planned again with it:
      // its status is written then, once, instead of a Pending status that is already out of date.
      const podCreated = plan.actions.some((a) => a.type === "createPod");
      if (current.metadata.deletionTimestamp) {
        if (!(current.metadata.finalizers ?? []).includes(RUNNER_FINALIZER)) this.#facts.delete(uid);
      } else if (!podCreated && canonicalJson(plan.status) !== canonicalJson(current.status ?? {})) {
        const now = this.#now();
        const delay = statusWriteDelay(current.status, plan.status, {
          now,
          deferredSince: facts.statusDeferredSince,
          deferMs: this.#o.config.pendingStatusDeferMs,
        });
        if (delay > 0) {
          facts.statusDeferredSince ??= now;
          return requeueAfter(Math.min(delay, plan.requeueAfterMs ?? delay));
        }
        facts.statusDeferredSince = undefined;
        // Optimistic lock: a job event written meanwhile makes this fail (409) and the Runner is planned again.
        current = await patchStatus<RunnerObject>(
          this.#o.client,
          Runners,
          current,
          { ...plan.status },
          { optimisticLock: true },
        );
        for (const action of plan.actions) {
          if (action.type === "event" && action.withStatus) {
            this.#event(current, action.eventType, action.reason, action.message);
          }
        }
      }
      return plan.requeueAfterMs !== undefined ? requeueAfter(plan.requeueAfterMs) : done();
    }
    return requeueAfter(0);
  }

  #forgetKey(key: string): void {
    const uid = this.#uidByKey.get(key);
    if (uid !== undefined) this.#facts.delete(uid);
    this.#uidByKey.delete(key);
  }

  #secretFacts(secret: V1Secret): SecretFacts {
    const key = this.#o.config.mode === "jit" ? JIT_CONFIG_SECRET_KEY : REGISTRATION_TOKEN_SECRET_KEY;
    const expires = secret.metadata?.annotations?.[TOKEN_EXPIRES_AT_ANNOTATION];
    const registration = registrationOnSecret(secret);
    return {
      hasCredentials: Boolean(secret.data?.[key] || secret.stringData?.[key]),
      tokenExpiresAt: expires ? Date.parse(expires) : undefined,
      runnerId: registration?.id,
      // A JIT answer says "unknown" until the runner first connects.
      runnerOs: registration?.os !== "unknown" ? registration?.os : undefined,
    };
  }

  async #github<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      const value = await call();
      this.#o.metrics.githubCalls.inc({ operation, outcome: "ok" });
      return value;
    } catch (error) {
      this.#o.metrics.githubCalls.inc({ operation, outcome: outcomeOf(error) });
      throw error;
    }
  }

  /** Why the controller's allow-list refuses the Runner's URL, or undefined when it accepts it. */
  #urlRefused(runner: RunnerObject): string | undefined {
    try {
      this.#o.credentials.parseUrl(runner.spec.url);
      return undefined;
    } catch (error) {
      if (error instanceof RunnerUrlError) return error.message;
      throw error;
    }
  }

  async #clientFor(runner: RunnerObject): Promise<GitHubRunnerClient> {
    return (await this.#o.credentials.clientFor(runner)).forUrl(runner.spec.url);
  }

  #event(runner: RunnerObject, type: "Normal" | "Warning", reason: string, note: string, action = "Reconcile"): void {
    void this.#o.events.record(runner, { type, reason, action, note });
  }

  async #execute(
    action: RunnerAction,
    runner: RunnerObject,
    facts: RunnerFacts,
    pod: V1Pod | undefined,
  ): Promise<{ runner?: RunnerObject; result?: ReconcileResult; replan?: boolean }> {
    const { client } = this.#o;
    const namespace = runner.metadata.namespace ?? "";
    const name = runner.metadata.name ?? "";
    const key = `${namespace}/${name}`;
    switch (action.type) {
      case "addFinalizer":
        return { runner: await addFinalizer(client, Runners, runner, RUNNER_FINALIZER) };
      case "register":
        return this.#register(runner, facts, action.githubName);
      case "refreshToken": {
        const token = await this.#github("createRegistrationToken", async () =>
          (await this.#clientFor(runner)).createRegistrationToken(),
        );
        await client.mergePatch(Secrets, namespace, runnerSecretName(name), {
          metadata: { annotations: { [TOKEN_EXPIRES_AT_ANNOTATION]: token.expiresAt } },
          data: { [REGISTRATION_TOKEN_SECRET_KEY]: Buffer.from(token.token).toString("base64") },
        });
        this.#event(
          runner,
          "Normal",
          "TokenRefreshed",
          `Registration token refreshed; it expires at ${token.expiresAt}.`,
        );
        return {};
      }
      case "createPod":
        try {
          const created = await client.create<V1Pod>(Pods, action.pod);
          facts.unseen = noteWrite(facts.unseen, { podUid: created.metadata?.uid }, this.#now());
        } catch (error) {
          if (!isAlreadyExists(error)) throw error;
        }
        return {};
      case "setSafeToEvict":
        try {
          await client.mergePatch(Pods, namespace, name, {
            metadata: { annotations: { [SAFE_TO_EVICT_ANNOTATION]: action.value } },
          });
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
        return {};
      case "checkRunner": {
        const gh = await this.#clientFor(runner);
        const id = action.id;
        let found: Awaited<ReturnType<GitHubRunnerClient["getRunner"]>>;
        try {
          found =
            id !== undefined
              ? await this.#github("getRunner", () => gh.getRunner(id))
              : await this.#github("findRunnerByName", () => gh.findRunnerByName(action.githubName));
        } catch (error) {
          // Remembered and shown in the Online condition; the plan waits (until GitHub's reset when rate limited).
          facts.checkFailures = (facts.checkFailures ?? 0) + 1;
          facts.lastCheckError = judgeGitHubError(error, this.#now(), this.#o.config.credentialsRetryMs);
          this.#logger.warn("could not ask GitHub about a runner", {
            key,
            purpose: action.purpose,
            error: facts.lastCheckError.message,
            attempt: facts.checkFailures,
          });
          return { replan: true };
        }
        facts.checkFailures = 0;
        facts.lastCheckError = undefined;
        if (action.purpose === "online") facts.onlineChecks++;
        else facts.jobChecks++;
        facts.github = {
          checkedAt: this.#now(),
          found: found !== undefined,
          online: found?.status === "online",
          busy: found?.busy ?? false,
        };
        let updated: RunnerObject | undefined;
        if (
          found &&
          (runner.spec.id === undefined || (found.os && found.os !== "unknown" && runner.spec.os !== found.os))
        ) {
          updated = await client.mergePatch<RunnerObject>(Runners, namespace, name, {
            spec: { id: found.id, os: found.os },
          });
          facts.unseen = noteWrite(facts.unseen, { generation: updated.metadata.generation }, this.#now());
        }
        this.#logger.debug("asked GitHub about a runner", {
          key,
          purpose: action.purpose,
          online: facts.github.online,
          busy: facts.github.busy,
        });
        return { ...(updated ? { runner: updated } : {}), replan: true };
      }
      case "recordRegistration":
        return { runner: await this.#writeRegistration(runner, facts, { id: action.id, os: action.os }) };
      case "stopPod":
        this.#event(runner, "Normal", "RunnerStopped", `Stopping the runner Pod: ${action.reason}.`);
        try {
          await client.delete(Pods, namespace, name, pod?.metadata?.uid ? { uid: pod.metadata.uid } : {});
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
        return {};
      case "deleteRegistration":
        try {
          const gh = await this.#clientFor(runner);
          await this.#github("deleteRunner", () => gh.deleteRunner(action.id));
          facts.registrationRemoved = true;
          this.#event(runner, "Normal", "RegistrationRemoved", `Removed runner ${action.id} from GitHub.`, "Delete");
          return {};
        } catch (error) {
          if (error instanceof GitHubCredentialsError) {
            // The Secret went first (deleted with its RunnerSet, say): the registration cannot be
            // removed, and waiting would hold the Runner forever. GitHub drops an ephemeral runner
            // that never connects by itself.
            facts.registrationRemoved = true;
            this.#event(
              runner,
              "Warning",
              Reasons.CredentialsInvalid,
              `Could not remove runner ${action.id} from GitHub: ${error.message}; GitHub removes an unused ephemeral runner itself.`,
              "Delete",
            );
            return {};
          }
          if (error instanceof GitHubRunnerBusyError) {
            this.#event(
              runner,
              "Normal",
              "WaitingForJob",
              "GitHub says the runner is running a job; deleting it after the job.",
              "Delete",
            );
            return { result: requeueAfter(BUSY_RETRY_MS) };
          }
          throw error;
        }
      case "deletePod":
        try {
          await client.delete(Pods, namespace, name);
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
        return {};
      case "deleteSecret":
        try {
          await client.delete(Secrets, namespace, runnerSecretName(name));
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
        return {};
      case "removeFinalizer":
        try {
          const updated = await removeFinalizer(client, Runners, runner, RUNNER_FINALIZER);
          this.#facts.delete(runner.metadata.uid ?? "");
          return { runner: updated };
        } catch (error) {
          if (isNotFound(error)) return { result: done() };
          throw error;
        }
      case "event":
        this.#event(runner, action.eventType, action.reason, action.message);
        return {};
    }
  }

  /** The Secret exists: a registration cut short before spec.id was written is finished from it. */
  async #finishRegistration(runner: RunnerObject, facts: RunnerFacts, secret: V1Secret) {
    const registered = registrationToFinish(runner, secret);
    if (!registered || facts.writtenId === registered.id) return {};
    return { runner: await this.#writeRegistration(runner, facts, registered) };
  }

  /** Writes the registration's id (and OS, when known) to spec; the next plan waits to see it. */
  async #writeRegistration(runner: RunnerObject, facts: RunnerFacts, registration: { id: number; os?: string }) {
    const { namespace = "", name = "" } = runner.metadata;
    const spec = { id: registration.id, ...(registration.os ? { os: registration.os } : {}) };
    const updated = await this.#o.client.mergePatch<RunnerObject>(Runners, namespace, name, { spec });
    facts.writtenId = registration.id;
    facts.unseen = noteWrite(facts.unseen, { generation: updated.metadata.generation }, this.#now());
    return updated;
  }

  async #register(runner: RunnerObject, facts: RunnerFacts, githubName: string) {
    const { client, config } = this.#o;
    const namespace = runner.metadata.namespace ?? "";
    const name = runner.metadata.name ?? "";
    const secretName = runnerSecretName(name);
    // A Secret missing from the cache may exist (written by an earlier leader or an attempt of this
    // process that failed half-way): ask the apiserver before asking GitHub, unless neither can be.
    const unseenSecretPossible = secretMayExistUnseen({
      createdAt: new Date(runner.metadata.creationTimestamp ?? 0).getTime(),
      soleRegistrarSince: this.#o.soleRegistrarSince?.(),
      registrationBegun: facts.registrationBegun === true,
    });
    if (unseenSecretPossible) {
      const existing = await client.find<V1Secret>(Secrets, namespace, secretName);
      if (existing) return this.#finishRegistration(runner, facts, existing);
    }
    facts.registrationBegun = true;
    // The turn covers GitHub's answer only: the writes that follow need not hold up the next runner.
    const endTurn = () => this.#settleTurns(`${namespace}/${name}`, false);
    const labels = githubRunnerLabels(runner);
    const secretMeta = {
      name: secretName,
      namespace,
      labels: { [RUNNER_NAME_LABEL]: name },
      ownerReferences: [ownerReference(Runners, runner)],
    };
    try {
      const gh = await this.#clientFor(runner);
      let credentials: { annotations: Record<string, string>; data: Record<string, string> };
      if (config.mode === "jit") {
        const jit = await this.#github("generateJitConfig", () =>
          gh.generateJitConfig({
            name: githubName,
            labels: labels.length > 0 ? labels : [`runner=${name}`],
            group: runner.spec.group,
            workFolder: runner.spec.workdir,
          }),
        ).finally(endTurn);
        credentials = {
          annotations: {
            [RUNNER_ID_ANNOTATION]: String(jit.runner.id),
            ...(jit.runner.os ? { [RUNNER_OS_ANNOTATION]: jit.runner.os } : {}),
          },
          data: { [JIT_CONFIG_SECRET_KEY]: Buffer.from(jit.encodedJitConfig).toString("base64") },
        };
      } else {
        const token = await this.#github("createRegistrationToken", () => gh.createRegistrationToken()).finally(
          endTurn,
        );
        credentials = {
          annotations: { [TOKEN_EXPIRES_AT_ANNOTATION]: token.expiresAt },
          data: { [REGISTRATION_TOKEN_SECRET_KEY]: Buffer.from(token.token).toString("base64") },
        };
      }
      const secret = await client.create<V1Secret>(Secrets, {
        metadata: { ...secretMeta, annotations: credentials.annotations },
        type: "Opaque",
        data: credentials.data,
      } as V1Secret);
      facts.unseen = noteWrite(facts.unseen, { secretUid: secret.metadata?.uid }, this.#now());
    } catch (error) {
      if (isAlreadyExists(error)) return {};
      const judged = judgeGitHubError(error, this.#now(), this.#o.config.credentialsRetryMs);
      // Kubernetes errors are not GitHub's fault: let the loop retry them with its backoff.
      if (!judged.permanent && error instanceof KubeApiError) throw error;
      // A bad credential Secret waits for its owner to fix it: that is no attempt towards Failed.
      if (!(error instanceof GitHubCredentialsError)) facts.registrationFailures++;
      facts.lastRegistrationError = judged;
      this.#event(runner, "Warning", judged.reason, `Registration with GitHub failed: ${judged.message}`, "Register");
      this.#logger.warn("runner registration failed", {
        key: `${namespace}/${name}`,
        error: judged.message,
        attempt: facts.registrationFailures,
      });
      return { replan: true };
    }
    facts.registrationFailures = 0;
    facts.lastRegistrationError = undefined;
    this.#event(runner, "Normal", "Registered", `Registered with GitHub as ${githubName}.`, "Register");
    return {};
  }
}
