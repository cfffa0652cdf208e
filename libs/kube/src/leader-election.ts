import type { KubernetesObject } from "@kubernetes/client-node";
import { jitter, sleep } from "./backoff.ts";
import type { KubeClient } from "./client.ts";
import { toMicroTime } from "./conditions.ts";
import { isAlreadyExists, isConflict } from "./errors.ts";
import { errorMessage, type KubeLogger, silentLogger } from "./log.ts";
import { Leases } from "./resource.ts";

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  /** The Lease's name, one per controller (e.g. `octorun-controller`). */
  name: string;
  /** This replica (usually the pod name); must be unique among candidates. */
  identity: string;
  /** How long a non-renewed lease keeps others out. */
  leaseDurationMs?: number;
  /** A leader that could not renew for this long steps down (must be below leaseDurationMs). */
  renewDeadlineMs?: number;
  /** How often candidates try to acquire and the leader renews. */
  retryPeriodMs?: number;
  /** Called when this replica becomes leader; the signal aborts when it stops leading. */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called when this replica stops leading (lost the lease, or stop()). */
  onStoppedLeading?: () => void;
  /** Called when the observed leader changes (including to this replica). */
  onNewLeader?: (identity: string) => void;
  /** Give the lease up on stop() so a standby takes over at once (default true). */
  releaseOnStop?: boolean;
  logger?: KubeLogger;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** A Lease as JSON (times as MicroTime strings, not the typed client's Dates). */
type Lease = KubernetesObject & { spec?: LeaseSpec };

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: a lease is taken over
 * only when its holder has not renewed it for leaseDuration as seen by this replica's own clock
 * (so clocks need not agree); every write is a compare-and-swap on resourceVersion.
 */
export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectorOptions, "onNewLeader" | "onStoppedLeading" | "logger">> &
    Pick<LeaderElectorOptions, "onNewLeader" | "onStoppedLeading">;
  readonly #logger: KubeLogger;
  #stop = new AbortController();
  #running: Promise<void> | undefined;
  #leading = false;
  #observed: LeaseSpec | undefined;
  #observedAt = 0;
  #observedVersion: string | undefined;
  #leader: string | undefined;

  constructor(options: LeaderElectorOptions) {
    const leaseDurationMs = options.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!options.identity) throw new Error("LeaderElector: identity is required");
    if (!(leaseDurationMs > renewDeadlineMs)) {
      throw new Error(
        `LeaderElector: leaseDurationMs (${leaseDurationMs}) must be greater than renewDeadlineMs (${renewDeadlineMs})`,
      );
    }
    if (!(renewDeadlineMs > retryPeriodMs * 1.2)) {
      throw new Error(
        `LeaderElector: renewDeadlineMs (${renewDeadlineMs}) must be greater than 1.2 × retryPeriodMs (${retryPeriodMs})`,
      );
    }
    if (leaseDurationMs < 1000)
      throw new Error("LeaderElector: leaseDurationMs must be at least 1000 (the Lease counts seconds)");
    this.#o = { releaseOnStop: true, ...options, leaseDurationMs, renewDeadlineMs, retryPeriodMs };
    this.#logger = options.logger ?? silentLogger;
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** The holder this replica last saw in the Lease. */
  get leader(): string | undefined {
    return this.#leader;
  }

  start(): void {
    if (this.#running) return;
    this.#stop = new AbortController();
    this.#running = this.#run();
  }

  /** Stops campaigning; a leader steps down (onStoppedLeading) and releases the lease. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    this.#running = undefined;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    const { retryPeriodMs, renewDeadlineMs } = this.#o;
    while (!signal.aborted) {
      while (!signal.aborted && !(await this.#tryAcquireOrRenew())) await sleep(jitter(retryPeriodMs, 1.2), signal);
      if (signal.aborted) break;

      this.#leading = true;
      const leadership = new AbortController();
      this.#logger.info("became leader", { lease: this.#leaseKey(), identity: this.#o.identity });
      void Promise.resolve()
        .then(() => this.#o.onStartedLeading(leadership.signal))
        .catch((error) =>
          this.#logger.error("onStartedLeading failed", { lease: this.#leaseKey(), error: errorMessage(error) }),
        );

      let lastRenew = Date.now();
      while (!signal.aborted) {
        await sleep(retryPeriodMs, signal);
        if (signal.aborted) break;
        if (await this.#tryAcquireOrRenew(renewDeadlineMs - (Date.now() - lastRenew))) {
          lastRenew = Date.now();
        } else if (Date.now() - lastRenew >= renewDeadlineMs) {
          this.#logger.warn("lost leadership: could not renew the lease in time", { lease: this.#leaseKey() });
          break;
        }
      }

      this.#leading = false;
      leadership.abort();
      if (signal.aborted && this.#o.releaseOnStop) await this.#release();
      try {
        this.#o.onStoppedLeading?.();
      } catch (error) {
        this.#logger.error("onStoppedLeading failed", { lease: this.#leaseKey(), error: errorMessage(error) });
      }
    }
  }

  async #tryAcquireOrRenew(timeoutMs = this.#o.renewDeadlineMs): Promise<boolean> {
    const { client, namespace, name, identity, leaseDurationMs } = this.#o;
    const now = Date.now();
    const leaseSeconds = Math.ceil(leaseDurationMs / 1000);
    try {
      const lease = await withTimeout(client.find<Lease>(Leases, namespace, name), timeoutMs);
      if (!lease) {
        const spec: LeaseSpec = {
          holderIdentity: identity,
          leaseDurationSeconds: leaseSeconds,
          acquireTime: toMicroTime(new Date(now)),
          renewTime: toMicroTime(new Date(now)),
          leaseTransitions: 0,
        };
        const created = await withTimeout(
          client.create<Lease>(Leases, { metadata: { name, namespace }, spec }),
          timeoutMs,
        );
        this.#observe(spec, created.metadata?.resourceVersion, now);
        return true;
      }
      const spec: LeaseSpec = lease.spec ?? {};
      this.#observe(spec, lease.metadata?.resourceVersion, now);
      const holder = spec.holderIdentity ?? "";
      const validMs = (spec.leaseDurationSeconds ?? leaseSeconds) * 1000;
      if (holder !== "" && holder !== identity && this.#observedAt + validMs > now) return false;

      const next: LeaseSpec = {
        holderIdentity: identity,
        leaseDurationSeconds: leaseSeconds,
        renewTime: toMicroTime(new Date(now)),
        acquireTime: holder === identity && spec.acquireTime ? spec.acquireTime : toMicroTime(new Date(now)),
        leaseTransitions: holder === identity ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      };
      const updated = await withTimeout(client.replace<Lease>(Leases, { ...lease, spec: next }), timeoutMs);
      this.#observe(next, updated.metadata?.resourceVersion, now);
      return true;
    } catch (error) {
      // 409: another candidate wrote first; anything else: try again next period.
      if (!isConflict(error) && !isAlreadyExists(error)) {
        this.#logger.warn("could not acquire or renew the lease", {
          lease: this.#leaseKey(),
          error: errorMessage(error),
        });
      }
      return false;
    }
  }

  async #release(): Promise<void> {
    const { client, namespace, name, identity } = this.#o;
    try {
      const lease = await client.find<Lease>(Leases, namespace, name);
      if (!lease || lease.spec?.holderIdentity !== identity) return;
      const now = toMicroTime(new Date());
      await client.replace<Lease>(Leases, {
        ...lease,
        spec: {
          holderIdentity: "",
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: lease.spec?.leaseTransitions ?? 0,
        },
      });
      this.#logger.info("released the lease", { lease: this.#leaseKey(), identity });
    } catch (error) {
      this.#logger.warn("could not release the lease", { lease: this.#leaseKey(), error: errorMessage(error) });
    }
  }

  /** Remembers when this replica last saw the lease record change: expiry is judged on the local clock. */
  #observe(spec: LeaseSpec, resourceVersion: string | undefined, now: number): void {
    if (resourceVersion !== this.#observedVersion || !this.#observed) {
      this.#observed = spec;
      this.#observedVersion = resourceVersion;
      this.#observedAt = now;
    }
    const holder = spec.holderIdentity ?? "";
    if (holder !== "" && holder !== this.#leader) {
      this.#leader = holder;
      try {
        this.#o.onNewLeader?.(holder);
      } catch (error) {
        this.#logger.error("onNewLeader failed", { lease: this.#leaseKey(), error: errorMessage(error) });
      }
    }
  }

  #leaseKey(): string {
    return `${this.#o.namespace}/${this.#o.name}`;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  if (!(ms > 0)) return Promise.reject(new Error("renew deadline passed"));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lease request took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
