// The parts of the state-metrics service, assembled: Runner and RunnerSet informers feeding
// pre-rendered stores, the job stream's durable consumer feeding job metrics, and the /metrics
// server. Read-only: it lists and watches, and only acknowledges its own consumer's messages.

import type { KubernetesObject } from "@kubernetes/client-node";
import type { Runner, RunnerSet } from "@octorun/api";
import { type BusConnection, type JobEvent, JobEventConsumer } from "@octorun/bus";
import { exponentialBackoff, Informer, jitter, type KubeClient, RunnerSets, Runners, sleep } from "@octorun/kube";
import type { Logger } from "@octorun/runtime";
import type { Registry } from "prom-client";
import type { MetricsSource } from "./custom-metrics-api.ts";
import { CustomMetricsServer } from "./custom-metrics-server.ts";
import type { Placement } from "./job-book.ts";
import { JobMetrics } from "./job-metrics.ts";
import { replayAcknowledged } from "./job-replay.ts";
import type { LabelAllowlist } from "./label-names.ts";
import { MetricsServer } from "./metrics-server.ts";
import { MetricsStore } from "./metrics-store.ts";
import { placementOfRunner } from "./placement.ts";
import { runnerFamilies } from "./runner-families.ts";
import { runnerSetFamilies } from "./runnerset-families.ts";
import { trimRunner, trimRunnerSet } from "./trim.ts";

export interface StateMetricsOptions {
  kube: KubeClient;
  /** The job stream; job metrics are off without it. */
  bus?: BusConnection;
  /** Job metrics and process metrics; also written on /metrics. */
  registry: Registry;
  logger: Logger;
  metricsHost?: string;
  metricsPort: number;
  /** Watch these namespaces only; every namespace when absent or empty. */
  namespaces?: readonly string[];
  metadataLabelsAllowlist: LabelAllowlist;
  jobLabelsAllowlist: readonly string[];
  /** The durable consumer's name. */
  consumerName: string;
  /** How often the informers relist to heal missed watch events (0: never). */
  relistMs?: number;
  pruneIntervalMs?: number;
  /** After a restart, rebuild the waiting jobs from the events of this window (0: do not). */
  replayWindowMs?: number;
  /** Serve custom.metrics.k8s.io over HTTPS (an aggregated API); off when absent. */
  customMetrics?: {
    host: string;
    port: number;
    tlsCertFile: string;
    tlsKeyFile: string;
    refreshMs?: number;
    accessCacheMs?: number;
  };
}

export class StateMetrics {
  // The informer is typed with client-node's object (Date timestamps); the JSON it holds has the
  // API's shape (RFC 3339 strings), hence the casts through `asRunner`/`asRunnerSet`.
  readonly runners: Informer<KubernetesObject>;
  readonly runnerSets: Informer<KubernetesObject>;
  readonly runnerStore: MetricsStore<Runner>;
  readonly runnerSetStore: MetricsStore<RunnerSet>;
  readonly jobs: JobMetrics;
  readonly server: MetricsServer;
  readonly customMetrics: CustomMetricsServer | undefined;
  readonly #consumer: JobEventConsumer | undefined;
  readonly #options: StateMetricsOptions;
  #pruneTimer: NodeJS.Timeout | undefined;
  #consuming: Promise<void> | undefined;
  readonly #stop = new AbortController();
  /** True once the durable consumer reads the job stream. */
  consumerStarted = false;

  constructor(options: StateMetricsOptions) {
    this.#options = options;
    const { namespaces, logger } = options;
    const kube = options.kube;
    const relistMs = options.relistMs ?? 10 * 60_000;
    this.runners = new Informer({
      client: kube,
      type: Runners,
      namespaces,
      relistMs,
      logger,
      // Cut to the fields the families read as each object arrives (kube-state-metrics does the same).
      transform: trimRunner,
      indexers: {
        githubName: (obj) => {
          const name = asRunner(obj).status?.runnerName;
          return name ? [name] : [];
        },
        githubId: (obj) => {
          const id = asRunner(obj).spec?.id;
          return id !== undefined ? [String(id)] : [];
        },
      },
    });
    this.runnerSets = new Informer({
      client: kube,
      type: RunnerSets,
      namespaces,
      relistMs,
      logger,
      transform: trimRunnerSet,
    });
    this.runnerStore = new MetricsStore(runnerFamilies({ labelsAllowlist: options.metadataLabelsAllowlist }));
    this.runnerSetStore = new MetricsStore(runnerSetFamilies({ labelsAllowlist: options.metadataLabelsAllowlist }));
    for (const [informer, store] of [
      [this.runners, this.runnerStore],
      [this.runnerSets, this.runnerSetStore],
    ] as const) {
      const s = store as MetricsStore<Runner | RunnerSet>;
      const cast = (obj: KubernetesObject) => obj as unknown as Runner | RunnerSet;
      informer.on("add", (obj) => s.upsert(cast(obj)));
      informer.on("update", (oldObj, newObj) => s.replace(cast(oldObj), cast(newObj)));
      informer.on("delete", (obj) => s.delete(cast(obj)));
    }
    this.jobs = new JobMetrics({
      registry: options.registry,
      labelsAllowlist: options.jobLabelsAllowlist,
      placementOf: (event) => this.placementOf(event),
      runnerSets: () => this.runnerSets.list().map(asRunnerSet),
    });
    if (options.bus) {
      this.#consumer = new JobEventConsumer({
        bus: options.bus,
        durable: options.consumerName,
        logger,
        registry: options.registry,
        maxAckPending: 1000,
        handler: async (message) => {
          this.jobs.record(message.event);
        },
      });
    }
    this.server = new MetricsServer({
      sources: [this.runnerStore, this.runnerSetStore],
      registry: options.registry,
      logger,
      host: options.metricsHost ?? "0.0.0.0",
      port: options.metricsPort,
    });
    if (options.customMetrics) {
      this.customMetrics = new CustomMetricsServer({
        ...options.customMetrics,
        kube,
        source: this.metricsSource(),
        registry: options.registry,
        logger,
      });
    }
  }

  /** What the custom metrics API reads: the RunnerSet cache and the waiting jobs. */
  metricsSource(): MetricsSource {
    return {
      runnerSet: (namespace, name) => {
        const set = this.runnerSets.getByName(namespace, name);
        return set ? asRunnerSet(set) : undefined;
      },
      runnerSets: (namespace) =>
        this.runnerSets
          .list()
          .map(asRunnerSet)
          .filter((set) => set.metadata?.namespace === namespace),
      queuedJobs: (sets) => [...this.jobs.queuedJobsFor(sets).values()],
    };
  }

  /** Where the runner that took a job belongs, found by its GitHub name, else by its GitHub id. */
  placementOf(event: JobEvent): Placement | undefined {
    const byName = event.runner.name ? this.runners.byIndex("githubName", event.runner.name)[0] : undefined;
    const runner =
      byName ?? (event.runner.id !== null ? this.runners.byIndex("githubId", String(event.runner.id))[0] : undefined);
    return runner ? placementOfRunner(asRunner(runner)) : undefined;
  }

  /** Starts watching and serving; resolves once both caches are filled (ready). */
  async start(signal?: AbortSignal): Promise<void> {
    this.runners.start();
    this.runnerSets.start();
    await this.server.start();
    await Promise.all([this.runners.waitForSync(signal), this.runnerSets.waitForSync(signal)]);
    // Job events name runners: read them only once the Runner cache can place them.
    this.#consuming = this.#startConsumer();
    // Answer only from filled caches: an HPA must not see a RunnerSet's demand as missing.
    await this.customMetrics?.start();
    this.#pruneTimer = setInterval(() => this.jobs.prune(), this.#options.pruneIntervalMs ?? 60_000);
    this.#pruneTimer.unref();
  }

  /** Ready when both caches have been filled. */
  ready(): true | string {
    if (!this.runners.hasSynced()) return "the Runner cache is not filled yet";
    if (!this.runnerSets.hasSynced()) return "the RunnerSet cache is not filled yet";
    return true;
  }

  /** Keeps trying to declare and start the consumer: NATS or the stream may not be there yet. */
  async #startConsumer(): Promise<void> {
    const consumer = this.#consumer;
    if (!consumer) return;
    const { bus, logger, consumerName } = this.#options;
    const replayWindowMs = this.#options.replayWindowMs ?? 24 * 3600_000;
    let replayed = replayWindowMs <= 0;
    for (let attempt = 1; !this.#stop.signal.aborted; attempt++) {
      try {
        if (!replayed && bus) {
          await bus.ready();
          try {
            const count = await replayAcknowledged({
              bus,
              durable: consumerName,
              since: new Date(Date.now() - replayWindowMs),
              apply: (event) => this.jobs.restore(event),
            });
            logger.info("rebuilt the waiting jobs from the job stream", {
              events: count,
              waiting: this.jobs.book.queuedCount,
            });
          } catch (error) {
            // Without it the waiting-jobs gauges start empty and fill as new jobs are queued.
            logger.warn("cannot replay the job stream; waiting jobs from before this start are not counted", {
              error: (error as Error).message,
            });
          }
          replayed = true;
        }
        await consumer.start();
        this.consumerStarted = true;
        this.#options.logger.info("reading the job stream", { consumer: this.#options.consumerName });
        return;
      } catch (error) {
        const delayMs = jitter(exponentialBackoff(attempt, 1_000, 30_000));
        this.#options.logger.warn("cannot read the job stream yet; retrying", {
          consumer: this.#options.consumerName,
          error: (error as Error).message,
          retryInMs: Math.round(delayMs),
        });
        await sleep(delayMs, this.#stop.signal).catch(() => {});
      }
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#pruneTimer);
    this.#stop.abort();
    await this.#consuming;
    if (this.consumerStarted) await this.#consumer?.stop();
    await Promise.all([this.runners.stop(), this.runnerSets.stop()]);
    await Promise.all([this.server.stop(), this.customMetrics?.stop()]);
  }
}

function asRunner(obj: KubernetesObject): Runner {
  return obj as unknown as Runner;
}

function asRunnerSet(obj: KubernetesObject): RunnerSet {
  return obj as unknown as RunnerSet;
}
