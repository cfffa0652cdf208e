import type { Logger } from "@octorun/runtime";
import {
  AckPolicy,
  type Consumer,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamManager,
  type JsMsg,
  NatsError,
  nanos,
} from "nats";
import { Counter, type Registry } from "prom-client";
import type { BusConnection } from "./connection.ts";
import { type DeliverySample, deliveryStalled, reconsumeDelayMs } from "./delivery-check.ts";
import { BusConfigurationError } from "./errors.ts";
import { decodeJobEvent, InvalidJobEventError, type JobEvent } from "./job-event.ts";
import { JOB_STREAM } from "./subjects.ts";

/** One job event handed to a handler, with the ways to settle it. */
export interface JobMessage {
  event: JobEvent;
  subject: string;
  /** Stream sequence. */
  seq: number;
  /** When JetStream stored the message (epoch ms). */
  storedAt: number;
  /** 1 on the first delivery. */
  deliveryCount: number;
  /** No more deliveries follow if this one is not acknowledged (max deliveries reached). */
  lastDelivery: boolean;
  /** Done: JetStream confirms it will not deliver this message again. */
  ack(): Promise<void>;
  /** Transient failure: deliver again after delayMs (the consumer's backoff when omitted). */
  nak(delayMs?: number): void;
  /** The message can never apply: never deliver it again. */
  term(reason: string): void;
  /** Still working: restarts the acknowledgement timer. */
  working(): void;
}

export type JobMessageHandler = (message: JobMessage) => Promise<void>;

export interface JobConsumerOptions {
  bus: BusConnection;
  /** The durable consumer's name (one per reading service). */
  durable: string;
  handler: JobMessageHandler;
  /** Subjects to receive (`octorun.jobs.assigned`, …); every job subject when omitted. */
  filterSubjects?: string[];
  /** Deliveries of one message before JetStream gives up on it. */
  maxDeliver?: number;
  /**
   * Redelivery delays of an unacknowledged message, by delivery; the first is also how long a
   * handler has before the message counts as unacknowledged (call `working()` to extend it).
   */
  backoffMs?: number[];
  /** Messages handed out and not yet settled, at most. */
  maxAckPending?: number;
  /** Handlers running at once. */
  concurrency?: number;
  /** How often the consumer checks that events waiting for it do arrive (0: never). */
  deliveryCheckMs?: number;
  logger?: Logger;
  registry?: Registry;
}

const defaults = {
  maxDeliver: 10,
  backoffMs: [30_000, 60_000, 300_000],
  maxAckPending: 256,
  concurrency: 1,
  deliveryCheckMs: 5_000,
};

type RestartReason = "ended" | "failed" | "stalled";

/**
 * A durable pull consumer of the job stream with explicit acknowledgement. Each message is checked
 * against the job event schema; an invalid one is terminated and counted, never handed out. A
 * handler that throws gets its message nak'ed with the backoff delay for its delivery; one that
 * returns without settling has it acknowledged.
 *
 * It keeps consuming until stopped: when the consumption ends (the durable deleted or lost by the
 * servers, an error) it declares the consumer again and goes on, with backoff; when events wait
 * for it and none arrives between two delivery checks, it pulls again. Either is logged and counted.
 */
export class JobEventConsumer {
  readonly #options: JobConsumerOptions & typeof defaults;
  readonly #metrics: {
    invalid: Counter<"consumer">;
    settled: Counter<"consumer" | "outcome">;
    restarts: Counter<"consumer" | "reason">;
  };
  #messages: ConsumerMessages | undefined;
  /** The consumer `#messages` reads, for the delivery check's info request. */
  #consumer: Consumer | undefined;
  #restartReason: RestartReason | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #stopping: Promise<void> | undefined;
  readonly #wake = new AbortController();
  #deliveryCheck: NodeJS.Timeout | undefined;
  #lastSample: DeliverySample | undefined;
  #checking = false;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: JobConsumerOptions) {
    this.#options = { ...defaults, ...options };
    if (this.#options.maxDeliver <= this.#options.backoffMs.length)
      throw new BusConfigurationError("maxDeliver must be larger than the number of backoff steps");
    const registers = options.registry ? [options.registry] : [];
    this.#metrics = {
      invalid: reuse(options.registry, "octorun_bus_invalid_messages_total", () => {
        return new Counter({
          name: "octorun_bus_invalid_messages_total",
          help: "Messages on the job stream that were not valid job events (terminated, never handled)",
          labelNames: ["consumer"],
          registers,
        });
      }),
      settled: reuse(options.registry, "octorun_bus_messages_total", () => {
        return new Counter({
          name: "octorun_bus_messages_total",
          help: "Job events settled by a consumer, by outcome (ack, nak, term)",
          labelNames: ["consumer", "outcome"],
          registers,
        });
      }),
      restarts: reuse(options.registry, "octorun_bus_consumer_restarts_total", () => {
        return new Counter({
          name: "octorun_bus_consumer_restarts_total",
          help: "Times a consumer consumed again: its consumption ended or failed, or events waited and none arrived (stalled)",
          labelNames: ["consumer", "reason"],
          registers,
        });
      }),
    };
  }

  /** The consumer's declaration. */
  consumerConfig(): Partial<ConsumerConfig> & { durable_name: string } {
    const o = this.#options;
    return {
      durable_name: o.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(o.backoffMs[0] ?? 30_000),
      max_deliver: o.maxDeliver,
      backoff: o.backoffMs.map((ms) => nanos(ms)),
      max_ack_pending: o.maxAckPending,
      ...(o.filterSubjects && o.filterSubjects.length > 0 ? { filter_subjects: o.filterSubjects } : {}),
    };
  }

  /** Declares the durable consumer (created, or updated to this declaration). */
  async declare(jsm: JetStreamManager): Promise<void> {
    const config = this.consumerConfig();
    try {
      await jsm.consumers.info(JOB_STREAM, config.durable_name);
    } catch (error) {
      if (!(error instanceof NatsError && error.api_error?.err_code === 10014)) throw error; // consumer not found
      await jsm.consumers.add(JOB_STREAM, config);
      return;
    }
    const { durable_name: _name, ack_policy: _ack, deliver_policy: _deliver, ...updatable } = config;
    await jsm.consumers.update(JOB_STREAM, config.durable_name, updatable);
  }

  /** Declares the consumer and starts handing out messages; resolves once consuming. */
  async start(): Promise<void> {
    await this.#options.bus.ready();
    this.#messages = await this.#consume();
    this.#running = this.#consumeUntilStopped(this.#messages);
    const every = this.#options.deliveryCheckMs;
    if (every > 0) this.#deliveryCheck = setInterval(() => void this.#checkDelivery(), every).unref();
  }

  /** Stops fetching and waits for the handlers that are running. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopped = true;
      clearInterval(this.#deliveryCheck);
      this.#wake.abort();
      await this.#messages?.close();
      await this.#running;
      await Promise.all(this.#inFlight);
    })();
    return this.#stopping;
  }

  /** Declares the consumer and opens a consumption of it; the servers' notices are logged. */
  async #consume(): Promise<ConsumerMessages> {
    const { bus, durable, maxAckPending } = this.#options;
    await this.declare(await bus.jetstreamManager());
    const consumer = await bus.jetstream().consumers.get(JOB_STREAM, durable);
    this.#consumer = consumer;
    // Without abort_on_missing_resource nats.js waits forever for a deleted durable to come back.
    const messages = await consumer.consume({
      max_messages: Math.min(maxAckPending, 100),
      abort_on_missing_resource: true,
    });
    void this.#logNotices(messages);
    return messages;
  }

  async #consumeUntilStopped(first: ConsumerMessages): Promise<void> {
    const { durable, logger } = this.#options;
    let messages: ConsumerMessages | undefined = first;
    for (let attempt = 0; ; attempt++) {
      if (messages) {
        let reason: RestartReason = "ended";
        let error: string | undefined;
        await this.#loop(messages).catch((e: Error) => {
          reason = "failed";
          error = e.message;
        });
        // Nothing to check or close until the next consumption is open.
        if (this.#messages === messages) this.#messages = undefined;
        if (this.#ended()) return;
        reason = this.#restartReason ?? reason;
        this.#restartReason = undefined;
        this.#metrics.restarts.inc({ consumer: durable, reason });
        logger?.warn("job event consumption stopped; declaring the consumer again and consuming on", {
          consumer: durable,
          reason,
          error,
        });
        messages = undefined;
      }
      await sleep(reconsumeDelayMs(attempt), this.#wake.signal);
      if (this.#ended()) return;
      try {
        messages = await this.#consume();
      } catch (error) {
        logger?.warn("could not consume the job stream again; retrying", {
          consumer: durable,
          attempt: attempt + 1,
          error: (error as Error).message,
        });
        continue;
      }
      if (this.#ended()) {
        await messages.close();
        return;
      }
      this.#messages = messages;
      this.#lastSample = undefined;
      attempt = -1;
    }
  }

  /** Stopped, or its connection closed for good (a consumer ends with its connection). */
  #ended(): boolean {
    if (!this.#stopped && this.#options.bus.closed())
      this.#options.logger?.info("the NATS connection was closed; the job consumer ends", {
        consumer: this.#options.durable,
      });
    return this.#stopped || this.#options.bus.closed();
  }

  async #loop(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      if (this.#stopped) break;
      const task = this.#handle(msg).finally(() => this.#inFlight.delete(task));
      this.#inFlight.add(task);
      if (this.#inFlight.size >= this.#options.concurrency) await Promise.race(this.#inFlight);
    }
  }

  /** Compares what the consumer holds for us with what arrived since the last check. */
  async #checkDelivery(): Promise<void> {
    const messages = this.#messages;
    if (this.#stopped || this.#checking || !messages || !this.#options.bus.connected()) return;
    this.#checking = true;
    try {
      const info = await this.#consumer?.info();
      if (!info || messages !== this.#messages) return;
      const sample: DeliverySample = {
        received: messages.getReceived(),
        undelivered: info.num_pending,
        ackPending: info.num_ack_pending,
        maxAckPending: info.config.max_ack_pending ?? -1,
        paused: info.paused === true,
      };
      const stalled = deliveryStalled(this.#lastSample, sample);
      this.#lastSample = sample;
      if (!stalled) return;
      this.#options.logger?.warn("job events wait for this consumer and none arrived; pulling again", {
        consumer: this.#options.durable,
        undelivered: sample.undelivered,
        sinceMs: this.#options.deliveryCheckMs,
      });
      this.#restartReason = "stalled";
      await messages.close();
    } catch (error) {
      // A failed check tells nothing about delivery: the next one decides.
      this.#lastSample = undefined;
      this.#options.logger?.debug("job consumer delivery check failed", {
        consumer: this.#options.durable,
        error: (error as Error).message,
      });
    } finally {
      this.#checking = false;
    }
  }

  async #logNotices(messages: ConsumerMessages): Promise<void> {
    const { durable, logger } = this.#options;
    for await (const notice of await messages.status()) {
      if (notice.type === "heartbeats_missed" || notice.type.startsWith("consumer_") || notice.type === "no_responders")
        logger?.warn("job consumer notice from nats", { consumer: durable, notice: notice.type, data: notice.data });
    }
  }

  async #handle(msg: JsMsg): Promise<void> {
    const { durable, logger, backoffMs, maxDeliver, handler } = this.#options;
    let event: JobEvent;
    try {
      event = decodeJobEvent(msg.data);
    } catch (error) {
      const problems = error instanceof InvalidJobEventError ? error.problems.join("; ") : String(error);
      logger?.error("terminated an invalid job event", { seq: msg.seq, subject: msg.subject, problems });
      msg.term(`invalid job event: ${problems}`.slice(0, 200));
      this.#metrics.invalid.inc({ consumer: durable });
      this.#metrics.settled.inc({ consumer: durable, outcome: "term" });
      return;
    }
    const deliveryCount = msg.info.deliveryCount;
    const backoff = backoffMs[Math.min(deliveryCount - 1, backoffMs.length - 1)] ?? 30_000;
    let settled = false;
    const settle = (outcome: "ack" | "nak" | "term") => {
      if (settled) return false;
      settled = true;
      this.#metrics.settled.inc({ consumer: durable, outcome });
      return true;
    };
    const message: JobMessage = {
      event,
      subject: msg.subject,
      seq: msg.seq,
      storedAt: msg.info.timestampNanos / 1e6,
      deliveryCount,
      lastDelivery: deliveryCount >= maxDeliver,
      ack: async () => {
        if (settle("ack")) await msg.ackAck();
      },
      nak: (delayMs) => {
        if (settle("nak")) msg.nak(delayMs ?? backoff);
      },
      term: (reason) => {
        if (settle("term")) msg.term(reason.slice(0, 200));
      },
      working: () => msg.working(),
    };
    try {
      await handler(message);
      if (!settled) await message.ack();
    } catch (error) {
      logger?.error("job event handler failed; delivering it again later", {
        deliveryId: event.deliveryId,
        seq: msg.seq,
        deliveryCount,
        delayMs: backoff,
        error: (error as Error).message,
      });
      message.nak();
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

function reuse<T>(registry: Registry | undefined, name: string, create: () => T): T {
  return (registry?.getSingleMetric(name) as T | undefined) ?? create();
}
