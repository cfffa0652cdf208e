// Redelivery of failed workflow_job webhooks. GitHub never retries a failed delivery by itself: when
// every github-ingress replica is down (or answers 5xx) the event is lost and a Runner never learns
// its job. GitHub's remedy is the App's delivery log: list recent attempts, ask again for those that
// failed (docs.github.com "Automatically redelivering failed deliveries for a GitHub App webhook").
// A redelivery keeps the `X-GitHub-Delivery` guid, which is the JetStream message id, so an event
// that did get stored after all is not stored twice. GitHub App auth only (a token cannot see the
// App's deliveries). The decision is the pure deliveriesToRedeliver(); the class does the I/O.
import type { GitHubAuthConfig, GitHubClient, WebhookDeliveryItem } from "@octorun/github";
import { GitHubConfigError } from "@octorun/github";
import { type KubeLogger, silentLogger } from "@octorun/kube";
import type { ConfigSchema } from "@octorun/runtime";
import { Counter, Gauge, type Registry } from "prom-client";

/** The fields of a delivery attempt the decision reads. */
export type DeliveryAttempt = Pick<
  WebhookDeliveryItem,
  "id" | "guid" | "delivered_at" | "status_code" | "event" | "action" | "redelivery"
>;

/** What this replica already asked GitHub for one guid. */
export interface RedeliveryRecord {
  /** Redeliveries requested so far (answered or not). */
  requests: number;
  /** When the last one was requested (epoch ms). */
  lastRequestedAt: number;
  /** The give-up was already reported. */
  gaveUp?: boolean;
}

export interface RedeliveryPolicy {
  /** Redeliveries per event at most (default 5). */
  maxRedeliveries: number;
  /** Time a requested redelivery has to show up before the event is asked for again (default: the interval). */
  retryAfterMs: number;
}

export interface RedeliveryPlan {
  /** One per event, oldest event first: the latest failed attempt's id, and which request this is (1-based). */
  redeliver: { guid: string; deliveryId: number; action: string | null; attempt: number }[];
  /** Events that still fail after maxRedeliveries requests (reported once). */
  giveUp: { guid: string; action: string | null; requests: number }[];
}

const EVENT = "workflow_job";
const succeeded = (attempt: DeliveryAttempt) => attempt.status_code >= 200 && attempt.status_code < 300;

/**
 * Which workflow_job events to redeliver now. An event (guid) qualifies when none of its listed
 * attempts succeeded (the ingress answers 2xx only after JetStream stored the event, so one success
 * is enough) and this replica asked fewer than maxRedeliveries times, the last time at least
 * retryAfterMs ago. A refused connection or a timeout (status code 0), a 3xx, 4xx or 5xx all failed.
 */
export function deliveriesToRedeliver(
  deliveries: readonly DeliveryAttempt[],
  alreadyRequested: ReadonlyMap<string, RedeliveryRecord>,
  now: number,
  policy: RedeliveryPolicy = { maxRedeliveries: 5, retryAfterMs: 60_000 },
): RedeliveryPlan {
  const byGuid = new Map<string, DeliveryAttempt[]>();
  for (const attempt of deliveries) {
    if (attempt.event !== EVENT) continue;
    const attempts = byGuid.get(attempt.guid);
    if (attempts) attempts.push(attempt);
    else byGuid.set(attempt.guid, [attempt]);
  }
  const plan: RedeliveryPlan = { redeliver: [], giveUp: [] };
  const pending: { first: number; entry: RedeliveryPlan["redeliver"][number] }[] = [];
  for (const [guid, attempts] of byGuid) {
    if (attempts.some(succeeded)) continue;
    const latest = attempts.reduce((a, b) => (newer(b, a) ? b : a));
    const record = alreadyRequested.get(guid);
    const requests = record?.requests ?? 0;
    if (requests >= policy.maxRedeliveries) {
      if (!record?.gaveUp) plan.giveUp.push({ guid, action: latest.action, requests });
      continue;
    }
    if (record && now - record.lastRequestedAt < policy.retryAfterMs) continue; // the last request may still be under way
    const first = Math.min(...attempts.map((a) => Date.parse(a.delivered_at)));
    pending.push({ first, entry: { guid, deliveryId: latest.id, action: latest.action, attempt: requests + 1 } });
  }
  pending.sort((a, b) => a.first - b.first || a.entry.deliveryId - b.entry.deliveryId);
  plan.redeliver = pending.map((p) => p.entry);
  return plan;
}

function newer(a: DeliveryAttempt, b: DeliveryAttempt): boolean {
  const at = Date.parse(a.delivered_at);
  const bt = Date.parse(b.delivered_at);
  return at > bt || (at === bt && a.id > b.id);
}

/** The settings of this part, to merge into the controller's (mergeSchemas). */
export const webhookRedeliverySettings: ConfigSchema = {
  properties: {
    WEBHOOK_REDELIVERY_INTERVAL_SECONDS: {
      type: "integer",
      minimum: 0,
      maximum: 3600,
      default: 60,
      description:
        "how often the GitHub App's webhook delivery log is read to redeliver failed workflow_job webhooks (0: never; GitHub App auth only)",
    },
    WEBHOOK_REDELIVERY_MAX_ATTEMPTS: {
      type: "integer",
      minimum: 1,
      maximum: 100,
      default: 5,
      description: "redeliveries requested for one failed workflow_job webhook at most",
    },
  },
};

export interface WebhookRedeliveryConfig {
  WEBHOOK_REDELIVERY_INTERVAL_SECONDS: number;
  WEBHOOK_REDELIVERY_MAX_ATTEMPTS: number;
}

/**
 * The part as the settings ask for it, or undefined (with a log line saying why) when it is off:
 * an interval of 0, or token auth (a personal access token cannot see an App's deliveries).
 */
export function webhookRedeliveryFromConfig(
  config: WebhookRedeliveryConfig,
  auth: GitHubAuthConfig,
  options: Omit<WebhookRedeliveryOptions, "intervalMs" | "maxRedeliveries">,
): WebhookRedelivery | undefined {
  const logger = options.logger ?? silentLogger;
  if (config.WEBHOOK_REDELIVERY_INTERVAL_SECONDS === 0) {
    logger.info("webhook redelivery is off (WEBHOOK_REDELIVERY_INTERVAL_SECONDS=0)");
    return undefined;
  }
  if (auth.type !== "app") {
    logger.info("webhook redelivery is off: it needs GitHub App auth, and GITHUB_TOKEN is set");
    return undefined;
  }
  return new WebhookRedelivery({
    ...options,
    intervalMs: config.WEBHOOK_REDELIVERY_INTERVAL_SECONDS * 1000,
    maxRedeliveries: config.WEBHOOK_REDELIVERY_MAX_ATTEMPTS,
  });
}

export interface WebhookRedeliveryOptions {
  github: Pick<GitHubClient, "listWebhookDeliveries" | "redeliverWebhookDelivery">;
  /** How often the delivery log is read (WEBHOOK_REDELIVERY_INTERVAL_SECONDS × 1000). */
  intervalMs: number;
  /** Each look reaches back this far before the previous one (default: max(5 min, 2 intervals)). */
  overlapMs?: number;
  /** The first look reaches back this far (default 1 h): failures from before this replica led. */
  initialLookbackMs?: number;
  /** Redeliveries per event at most (default 5). */
  maxRedeliveries?: number;
  /** Looks happen only while this says so (e.g. `() => controller.isLeader()`); default always. */
  active?: () => boolean;
  now?: () => number;
  logger?: KubeLogger;
  registry?: Registry;
}

/** Reads the App's webhook delivery log every interval and redelivers failed workflow_job events. */
export class WebhookRedelivery {
  readonly #o: WebhookRedeliveryOptions;
  readonly #now: () => number;
  readonly #logger: KubeLogger;
  readonly #metrics: RedeliveryMetrics;
  readonly #policy: RedeliveryPolicy;
  readonly #overlapMs: number;
  readonly #requested = new Map<string, RedeliveryRecord>();
  #lastLookAt: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(options: WebhookRedeliveryOptions) {
    if (!(options.intervalMs > 0)) throw new RangeError("WebhookRedelivery: intervalMs must be positive");
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger ?? silentLogger;
    this.#metrics = new RedeliveryMetrics(options.registry);
    this.#policy = { maxRedeliveries: options.maxRedeliveries ?? 5, retryAfterMs: options.intervalMs };
    this.#overlapMs = options.overlapMs ?? Math.max(5 * 60_000, 2 * options.intervalMs);
  }

  /** Looks at once, then every interval (a look never overlaps the previous one). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops the timer and waits for a look under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One look: list, decide, redeliver. Exposed for tests and for a caller that wants to look now. */
  async runOnce(): Promise<void> {
    if (this.#o.active && !this.#o.active()) return;
    const started = this.#now();
    const since = (this.#lastLookAt ?? started - (this.#o.initialLookbackMs ?? 3_600_000)) - this.#overlapMs;
    let deliveries: WebhookDeliveryItem[];
    try {
      deliveries = await this.#o.github.listWebhookDeliveries({ since });
    } catch (error) {
      this.#metrics.looks.inc({ result: "error" });
      if (error instanceof GitHubConfigError) {
        // It can never work with these credentials: say so once and stop looking.
        this.#logger.error("webhook redelivery needs GitHub App auth; stopped", { error: error.message });
        this.#stopped = true;
        return;
      }
      this.#logger.warn("could not list webhook deliveries; trying again next time", {
        error: (error as Error).message,
      });
      return; // the next look starts from the same point
    }
    this.#lastLookAt = started;
    this.#metrics.looks.inc({ result: "ok" });
    this.#metrics.lastLook.set(started / 1000);

    const plan = deliveriesToRedeliver(deliveries, this.#requested, this.#now(), this.#policy);
    for (const { guid, action, requests } of plan.giveUp) {
      const record = this.#requested.get(guid);
      if (record) record.gaveUp = true;
      this.#metrics.redeliveries.inc({ result: "gave_up" });
      this.#logger.error("webhook delivery still fails after redeliveries; giving up", {
        deliveryId: guid,
        action,
        requests,
      });
    }
    for (const { guid, deliveryId, action, attempt } of plan.redeliver) {
      if (this.#stopped) break;
      this.#requested.set(guid, { requests: attempt, lastRequestedAt: this.#now() });
      try {
        await this.#o.github.redeliverWebhookDelivery(deliveryId);
        this.#metrics.redeliveries.inc({ result: "requested" });
        this.#logger.info("redelivery of a failed webhook requested", {
          deliveryId: guid,
          attemptId: deliveryId,
          action,
          attempt,
        });
      } catch (error) {
        this.#metrics.redeliveries.inc({ result: "error" });
        this.#logger.warn("could not request a webhook redelivery", {
          deliveryId: guid,
          attemptId: deliveryId,
          attempt,
          error: (error as Error).message,
        });
      }
    }
    // Forget events that left every future look's window.
    for (const [guid, record] of this.#requested) {
      if (record.lastRequestedAt < since - this.#overlapMs) this.#requested.delete(guid);
    }
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.runOnce()
        .catch((error: unknown) => {
          this.#logger.error("webhook redelivery look failed", { error: (error as Error).message });
        })
        .finally(() => {
          this.#running = undefined;
          this.#schedule(this.#o.intervalMs);
        });
    }, delayMs);
  }
}

class RedeliveryMetrics {
  readonly redeliveries: Counter<"result">;
  readonly looks: Counter<"result">;
  readonly lastLook: Gauge;

  constructor(registry: Registry | undefined) {
    const registers = registry ? [registry] : [];
    const reuse = <T>(name: string, make: () => T): T => (registry?.getSingleMetric(name) as T | undefined) ?? make();
    this.redeliveries = reuse(
      "octorun_webhook_redeliveries_total",
      () =>
        new Counter({
          name: "octorun_webhook_redeliveries_total",
          help: "Redeliveries of failed workflow_job webhooks, by result (requested, error: GitHub refused the request, gave_up: still failing after the maximum).",
          labelNames: ["result"],
          registers,
        }),
    );
    for (const result of ["requested", "error", "gave_up"]) this.redeliveries.inc({ result }, 0);
    this.looks = reuse(
      "octorun_webhook_delivery_looks_total",
      () =>
        new Counter({
          name: "octorun_webhook_delivery_looks_total",
          help: "Reads of the GitHub App's webhook delivery log, by result (ok, error).",
          labelNames: ["result"],
          registers,
        }),
    );
    this.lastLook = reuse(
      "octorun_webhook_delivery_last_look_timestamp_seconds",
      () =>
        new Gauge({
          name: "octorun_webhook_delivery_last_look_timestamp_seconds",
          help: "When the webhook delivery log was last read successfully.",
          registers,
        }),
    );
  }
}
