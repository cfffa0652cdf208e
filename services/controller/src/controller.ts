// The controller's parts put together: informers (started on every replica so a standby has warm
// caches), the Runner and RunnerSet work queues and reconcile loops and the job-event consumer
// (started only on the leader), and leader election on a Lease.

import type { KubeConfig, V1ControllerRevision, V1Pod, V1Secret } from "@kubernetes/client-node";
import { REVISION_HASH_LABEL, RUNNER_NAME_LABEL, RUNNER_SET_RESOURCE, selectorMatches } from "@octorun/api";
import { type BusConnection, JobEventConsumer, jobSubject } from "@octorun/bus";
import { createGitHubClient, type GitHubAuthConfig, type GitHubClient } from "@octorun/github";
import {
  ControllerRevisions,
  EventRecorder,
  Informer,
  KubeClient,
  type KubeLogger,
  LeaderElector,
  objectKey,
  Pods,
  ReconcileLoop,
  RunnerSets,
  Runners,
  Secrets,
  silentLogger,
  WorkQueue,
} from "@octorun/kube";
import type { Logger } from "@octorun/runtime";
import type { Registry } from "prom-client";
import { trimRunnerPod, trimRunnerSecret, withoutManagedFields } from "./cache-trim.ts";
import { GitHubCredentials } from "./github-credentials.ts";
import { JobEventHandler, runnerIndexers } from "./job-events.ts";
import { ControllerMetrics } from "./metrics.ts";
import { defaultRunnerPlanConfig, type RunnerPlanConfig } from "./runner-plan.ts";
import { RunnerReconciler } from "./runner-reconciler.ts";
import { defaultRunnerSetPlanConfig, mattersToRunnerSet, type RunnerSetPlanConfig } from "./runnerset-plan.ts";
import { NAMESPACE_INDEX, OWNER_INDEX, RunnerSetReconciler } from "./runnerset-reconciler.ts";
import type { RunnerObject, RunnerSetObject } from "./types.ts";

export const FIELD_MANAGER = "octorun-controller";
export const REPORTING_CONTROLLER = "octorun.github.io/controller";

/** creationTimestamp is the apiserver's clock, whole seconds: allowance for the difference. */
const CLOCK_SKEW_MS = 2_000;
/**
 * A RunnerSet plans over all its Runners: the changes of many Runners in a short while (a scale-up,
 * a burst of jobs) are planned together, at most this often.
 */
const SET_COALESCE_MS = 100;

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  /** The controller's own GitHub credential: for every Runner that names no Secret of its own. */
  github: GitHubClient;
  /**
   * Builds the client of a credential a Runner's Secret holds (`credentialName` labels its
   * metrics); by default a plain client with this process's registry, logger and allowed hosts.
   */
  githubForCredential?: (auth: GitHubAuthConfig, credentialName: string) => GitHubClient;
  /** How long a credential Secret's content is trusted before it is read again (default 30 s). */
  credentialRefreshMs?: number;
  bus: BusConnection;
  /** This replica's name (Pod name): leader identity and Event reportingInstance. */
  identity: string;
  /** Watch these namespaces only (every namespace when absent or empty). */
  namespaces?: readonly string[] | undefined;
  /** Leader election on a Lease; without it this replica always leads. */
  leaderElection?:
    | { namespace: string; name: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number }
    | undefined;
  runnerPlan?: Partial<RunnerPlanConfig>;
  runnerSetPlan?: Partial<RunnerSetPlanConfig>;
  runnerWorkers?: number;
  runnerSetWorkers?: number;
  jobEventConcurrency?: number;
  /** The durable JetStream consumer's name. */
  consumerName?: string;
  /** Informers list again this often, healing anything a watch missed (0: never). */
  relistMs?: number;
  registry?: Registry;
  logger?: Logger;
  /** Redacts secrets from Event notes. */
  redact?: (text: string) => string;
  /** Called when this replica loses leadership after having led (the process should exit). */
  onLostLeadership?: () => void;
}

export class Controller {
  readonly client: KubeClient;
  readonly runners: Informer<RunnerObject>;
  readonly runnerSets: Informer<RunnerSetObject>;
  readonly pods: Informer<V1Pod>;
  readonly secrets: Informer<V1Secret>;
  readonly revisions: Informer<V1ControllerRevision>;
  readonly runnerQueue: WorkQueue;
  readonly runnerSetQueue: WorkQueue;
  readonly runnerReconciler: RunnerReconciler;
  readonly runnerSetReconciler: RunnerSetReconciler;
  readonly metrics: ControllerMetrics;
  readonly #o: ControllerOptions;
  readonly #logger: KubeLogger;
  readonly #runnerLoop: ReconcileLoop;
  readonly #runnerSetLoop: ReconcileLoop;
  readonly #consumer: JobEventConsumer;
  readonly #elector: LeaderElector | undefined;
  #leading = false;
  #leadingSince: number | undefined;
  #everLed = false;
  #stopped = false;
  #leadership: Promise<void> | undefined;

  constructor(options: ControllerOptions) {
    this.#o = options;
    this.#logger = options.logger ?? silentLogger;
    const logger = this.#logger;
    const { registry, namespaces } = options;
    this.client = new KubeClient(options.kubeConfig, { fieldManager: FIELD_MANAGER });
    this.metrics = new ControllerMetrics(registry);
    const relistMs = options.relistMs ?? 10 * 60_000;
    const client = this.client;
    this.runners = new Informer<RunnerObject>({
      client,
      type: Runners,
      namespaces,
      relistMs,
      logger,
      indexers: { ...runnerIndexers, [NAMESPACE_INDEX]: (r) => [r.metadata.namespace ?? ""] },
      transform: withoutManagedFields,
    });
    this.runnerSets = new Informer<RunnerSetObject>({
      client,
      type: RunnerSets,
      namespaces,
      relistMs,
      logger,
      transform: withoutManagedFields,
    });
    this.pods = new Informer<V1Pod>({
      client,
      type: Pods,
      namespaces,
      labelSelector: RUNNER_NAME_LABEL,
      relistMs,
      logger,
      transform: trimRunnerPod,
    });
    this.secrets = new Informer<V1Secret>({
      client,
      type: Secrets,
      namespaces,
      labelSelector: RUNNER_NAME_LABEL,
      relistMs,
      logger,
      transform: trimRunnerSecret,
    });
    this.revisions = new Informer<V1ControllerRevision>({
      client,
      type: ControllerRevisions,
      namespaces,
      labelSelector: REVISION_HASH_LABEL,
      relistMs,
      logger,
      indexers: {
        [OWNER_INDEX]: (r) => (r.metadata?.ownerReferences ?? []).filter((o) => o.controller).map((o) => o.uid),
      },
      transform: withoutManagedFields,
    });
    this.runnerQueue = new WorkQueue({ name: "runner", registry });
    this.runnerSetQueue = new WorkQueue({ name: "runnerset", registry });
    const events = new EventRecorder({
      client,
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: options.identity,
      logger,
      ...(registry ? { registry } : {}),
      ...(options.redact ? { redact: options.redact } : {}),
    });
    this.runnerReconciler = new RunnerReconciler({
      client,
      runners: this.runners,
      pods: this.pods,
      secrets: this.secrets,
      credentials: new GitHubCredentials({
        client,
        fallback: options.github,
        clientFor:
          options.githubForCredential ??
          ((auth, credentialName) =>
            createGitHubClient({
              auth,
              credentialName,
              enterpriseHosts: options.github.enterpriseHosts,
              ...(registry ? { registry } : {}),
              logger,
            })),
        ...(options.credentialRefreshMs !== undefined ? { refreshMs: options.credentialRefreshMs } : {}),
      }),
      events,
      config: { ...defaultRunnerPlanConfig, ...options.runnerPlan },
      metrics: this.metrics,
      logger,
      // A lease is taken only after the earlier leader's ran out, and a leader that cannot renew
      // stops before that: no one else registers a Runner created after this process led.
      soleRegistrarSince: () => (this.#leadingSince === undefined ? undefined : this.#leadingSince + CLOCK_SKEW_MS),
      enqueue: (key) => this.runnerQueue.addFirst(key),
    });
    this.runnerSetReconciler = new RunnerSetReconciler({
      client,
      runnerSets: this.runnerSets,
      runners: this.runners,
      revisions: this.revisions,
      events,
      config: { ...defaultRunnerSetPlanConfig, ...options.runnerSetPlan },
      metrics: this.metrics,
      logger,
    });
    this.#runnerLoop = new ReconcileLoop({
      name: "runner",
      reconciler: this.runnerReconciler,
      queue: this.runnerQueue,
      concurrency: options.runnerWorkers ?? 16,
      registry,
      logger,
    });
    this.#runnerSetLoop = new ReconcileLoop({
      name: "runnerset",
      reconciler: this.runnerSetReconciler,
      queue: this.runnerSetQueue,
      concurrency: options.runnerSetWorkers ?? 4,
      registry,
      logger,
    });
    const handler = new JobEventHandler({ client, runners: this.runners, metrics: this.metrics, logger, events });
    this.#consumer = new JobEventConsumer({
      bus: options.bus,
      durable: options.consumerName ?? "octorun-controller",
      handler: handler.handle,
      filterSubjects: [jobSubject("assigned"), jobSubject("completed")],
      concurrency: options.jobEventConcurrency ?? 16,
      backoffMs: [5_000, 30_000, 120_000],
      ...(options.logger ? { logger: options.logger } : {}),
      ...(registry ? { registry } : {}),
    });
    if (options.leaderElection) {
      this.#elector = new LeaderElector({
        client,
        ...options.leaderElection,
        identity: options.identity,
        logger,
        onStartedLeading: (signal) => this.#lead(signal),
        onStoppedLeading: () => {
          if (this.#everLed && !this.#stopped) {
            this.#logger.error("lost leadership; stopping", { identity: options.identity });
            options.onLostLeadership?.();
          }
        },
      });
    }
    this.#wire();
  }

  #wire(): void {
    const enqueueRunner = (r: RunnerObject) => {
      this.runnerQueue.add(objectKey(r));
      this.#enqueueSetsOf(r);
    };
    this.runners.on("add", enqueueRunner);
    this.runners.on("update", (old, r) => {
      this.runnerQueue.add(objectKey(r));
      if (!mattersToRunnerSet(old, r)) return;
      this.#enqueueSetsOf(r);
      if (old.metadata.labels !== r.metadata.labels) this.#enqueueSetsOf(old);
    });
    this.runners.on("delete", enqueueRunner);
    const byRunnerLabel = (obj: V1Pod | V1Secret) => {
      const runner = obj.metadata?.labels?.[RUNNER_NAME_LABEL];
      if (runner && obj.metadata?.namespace) this.runnerQueue.add(`${obj.metadata.namespace}/${runner}`);
    };
    for (const informer of [this.pods, this.secrets] as Informer<V1Pod | V1Secret>[]) {
      informer.on("add", byRunnerLabel);
      informer.on("update", (_old, obj) => byRunnerLabel(obj));
      informer.on("delete", byRunnerLabel);
    }
    const enqueueSet = (s: RunnerSetObject) => this.runnerSetQueue.add(objectKey(s));
    this.runnerSets.on("add", enqueueSet);
    this.runnerSets.on("update", (_old, s) => enqueueSet(s));
    this.runnerSets.on("delete", enqueueSet);
    const byOwner = (r: V1ControllerRevision) => {
      const owner = r.metadata?.ownerReferences?.find((o) => o.controller && o.kind === RUNNER_SET_RESOURCE.kind);
      if (owner && r.metadata?.namespace) this.runnerSetQueue.add(`${r.metadata.namespace}/${owner.name}`);
    };
    this.revisions.on("add", byOwner);
    this.revisions.on("delete", byOwner);
  }

  /** The RunnerSet that owns the Runner, or for an orphan every RunnerSet of its namespace that may adopt it. */
  #enqueueSetsOf(runner: RunnerObject): void {
    const namespace = runner.metadata.namespace ?? "";
    const owner = runner.metadata.ownerReferences?.find((o) => o.controller);
    if (owner) {
      if (owner.kind === RUNNER_SET_RESOURCE.kind)
        this.runnerSetQueue.addAfter(`${namespace}/${owner.name}`, SET_COALESCE_MS);
      return;
    }
    for (const set of this.runnerSets.list()) {
      if (set.metadata.namespace === namespace && selectorMatches(set.spec.selector, runner.metadata.labels)) {
        this.runnerSetQueue.addAfter(objectKey(set), SET_COALESCE_MS);
      }
    }
  }

  get informers(): Informer<never>[] {
    return [this.runners, this.runnerSets, this.pods, this.secrets, this.revisions] as unknown as Informer<never>[];
  }

  /** Starts the caches (and waits for them), then campaigns for leadership (or leads at once). */
  async start(signal?: AbortSignal): Promise<void> {
    this.#o.bus.start();
    for (const informer of this.informers) informer.start();
    await Promise.all(this.informers.map((i) => i.waitForSync(signal)));
    this.#logger.info("caches synced", { runners: this.runners.size, runnerSets: this.runnerSets.size });
    if (this.#elector) this.#elector.start();
    else void this.#lead(new AbortController().signal);
  }

  async #lead(signal: AbortSignal): Promise<void> {
    if (this.#leading || this.#stopped) return;
    this.#leading = true;
    this.#leadingSince = Date.now();
    this.#everLed = true;
    this.#leadership = (async () => {
      this.#runnerLoop.start();
      this.#runnerSetLoop.start();
      for (const key of this.runners.keys()) this.runnerQueue.add(key);
      for (const key of this.runnerSets.keys()) this.runnerSetQueue.add(key);
      // The consumer starts once NATS is there; until then runners still live through GitHub polling.
      for (let attempt = 1; !signal.aborted && !this.#stopped; attempt++) {
        try {
          await this.#consumer.start();
          this.#logger.info("consuming job events");
          break;
        } catch (error) {
          this.#logger.warn("job event consumer could not start; retrying", {
            error: (error as Error).message,
            attempt,
          });
          await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * attempt)));
        }
      }
    })();
    await this.#leadership;
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** Ready: caches synced and NATS connected. */
  readiness(): true | string {
    const unsynced = this.informers.filter((i) => !i.hasSynced()).map((i) => i.type.plural);
    if (unsynced.length > 0) return `caches not synced: ${unsynced.join(", ")}`;
    if (!this.#o.bus.connected()) return "not connected to NATS";
    return true;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#leadership;
    await this.#consumer.stop().catch(() => undefined);
    await Promise.all([this.#runnerLoop.stop(), this.#runnerSetLoop.stop()]);
    await this.#elector?.stop();
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}
