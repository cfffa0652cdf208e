import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { createLogger } from "@octorun/runtime";
import { type NatsServer, startNatsServer, waitFor } from "@octorun/testkit";
import { connect, type NatsConnection } from "nats";
import { Registry } from "prom-client";
import {
  BusConnection,
  BusUnavailableError,
  defaultJobStreamLimits,
  ensureJobStream,
  InvalidJobEventError,
  JOB_STREAM,
  type JobEvent,
  JobEventConsumer,
  type JobMessage,
  jobConsumerPermissions,
  jobPublisherPermissions,
  jobStreamManagerPermissions,
  mergePermissions,
  publishJobEvent,
  serviceInbox,
} from "../src/index.ts";
import { freshEvent } from "./fixtures.ts";

const event = (overrides: Partial<JobEvent> = {}): JobEvent => freshEvent("delivery", overrides);

describe("the job stream on a real nats-server", () => {
  let server: NatsServer;
  let admin: NatsConnection;
  let publisher: BusConnection;
  const consumers: JobEventConsumer[] = [];

  before(async () => {
    server = await startNatsServer({
      users: [
        { user: "admin", password: "admin-pass" },
        {
          user: "ingress",
          password: "ingress-pass",
          ...mergePermissions(jobPublisherPermissions(), jobStreamManagerPermissions()),
        },
        { user: "controller", password: "controller-pass", ...jobConsumerPermissions("controller") },
        { user: "metrics", password: "metrics-pass", ...jobConsumerPermissions("state-metrics") },
        { user: "recovery", password: "recovery-pass", ...jobConsumerPermissions("recovery") },
      ],
    });
    admin = await connect({ servers: server.url, user: "admin", pass: "admin-pass" });
    publisher = new BusConnection({
      servers: [server.url],
      name: "ingress",
      user: "ingress",
      password: "ingress-pass",
      inboxPrefix: serviceInbox("octorun-github-ingress"),
      reconnectWaitMs: 100,
      onConnect: async (bus) => void (await ensureJobStream(await bus.jetstreamManager())),
    });
    await publisher.ready();
  });
  after(async () => {
    for (const c of consumers) await c.stop();
    await publisher?.close();
    await admin?.close();
    await server?.stop();
  });

  const messages = async () => (await (await admin.jetstreamManager()).streams.info(JOB_STREAM)).state.messages;

  test("the stream is declared idempotently with the configured limits, by the restricted publisher user", async () => {
    const jsm = await publisher.jetstreamManager();
    assert.equal(await ensureJobStream(jsm), "unchanged");
    assert.equal(await ensureJobStream(jsm, { ...defaultJobStreamLimits, maxMessages: 100_000 }), "updated");
    assert.equal(await ensureJobStream(jsm, { ...defaultJobStreamLimits, maxMessages: 100_000 }), "unchanged");
    const info = await (await admin.jetstreamManager()).streams.info(JOB_STREAM);
    assert.equal(info.config.max_msgs, 100_000);
    assert.equal(info.config.storage, "file");
    assert.deepEqual(info.config.subjects, ["octorun.jobs.>"]);
    assert.ok(info.config.duplicate_window >= 600e9);
  });

  test("an after-connect step that fails (JetStream still recovering) is retried until it succeeds", async () => {
    let attempts = 0;
    const bus = new BusConnection({
      servers: [server.url],
      name: "retry",
      user: "ingress",
      password: "ingress-pass",
      inboxPrefix: serviceInbox("octorun-github-ingress"),
      reconnectWaitMs: 50,
      onConnect: async (b) => {
        attempts++;
        if (attempts < 3) throw new Error("JetStream not ready");
        await ensureJobStream(await b.jetstreamManager());
      },
    });
    try {
      await bus.ready(10_000);
      assert.equal(attempts, 3);
    } finally {
      await bus.close();
    }
  });

  test("a job event is stored on its action's subject with the delivery id as message id, once", async () => {
    const e = event({ action: "queued" });
    const before = await messages();
    const first = await publishJobEvent(publisher.jetstream(), e);
    const again = await publishJobEvent(publisher.jetstream(), e);
    assert.equal(first.duplicate, false);
    assert.equal(again.duplicate, true);
    assert.equal(await messages(), before + 1);
    const stored = await (await admin.jetstreamManager()).streams.getMessage(JOB_STREAM, { seq: first.seq });
    assert.equal(stored.subject, "octorun.jobs.queued");
    assert.equal(stored.header.get("Nats-Msg-Id"), e.deliveryId);
    assert.deepEqual(stored.json(), e);
  });

  test("an invalid job event is refused before publishing and nothing is stored", async () => {
    const before = await messages();
    const bad = { ...event(), job: { ...event().job, runId: -1 } };
    await assert.rejects(publishJobEvent(publisher.jetstream(), bad), InvalidJobEventError);
    assert.equal(await messages(), before);
  });

  test("a consumer hands out checked events; ack, nak with delay, term, and an exception are honoured", async () => {
    const received: { id: string; count: number; at: number; last: boolean }[] = [];
    const registry = new Registry();
    const bus = new BusConnection({
      servers: [server.url],
      name: "c",
      user: "controller",
      password: "controller-pass",
      inboxPrefix: serviceInbox("controller"),
    });
    const plan = new Map<string, (m: JobMessage) => Promise<void> | void>();
    const consumer = new JobEventConsumer({
      bus,
      durable: "controller",
      filterSubjects: ["octorun.jobs.assigned"],
      backoffMs: [2_000, 2_000],
      maxDeliver: 3,
      registry,
      handler: async (m) => {
        received.push({ id: m.event.deliveryId, count: m.deliveryCount, at: Date.now(), last: m.lastDelivery });
        await plan.get(m.event.deliveryId)?.(m);
      },
    });
    consumers.push(consumer);
    await consumer.start();

    const acked = event();
    const naked = event();
    const termed = event();
    const failing = event();
    const neverDone = event();
    plan.set(acked.deliveryId, (m) => m.ack());
    plan.set(naked.deliveryId, (m) => (m.deliveryCount === 1 ? m.nak(300) : m.ack()));
    plan.set(termed.deliveryId, (m) => m.term("runner not owned by octorun"));
    plan.set(failing.deliveryId, (m) => {
      if (m.deliveryCount === 1) throw new Error("apiserver unavailable");
    });
    plan.set(neverDone.deliveryId, (m) => m.nak(50));
    const publishedAt = Date.now();
    for (const e of [acked, naked, termed, failing, neverDone]) await publishJobEvent(publisher.jetstream(), e);
    // Not for this consumer's filter: never handed out.
    await publishJobEvent(publisher.jetstream(), event({ action: "queued" }));
    // Not a valid job event: terminated and counted, never handed out.
    await admin.jetstream().publish("octorun.jobs.assigned", Buffer.from('{"version":1}'));

    const count = (id: string) => received.filter((r) => r.id === id).length;
    await waitFor(
      "redeliveries",
      () => count(naked.deliveryId) === 2 && count(failing.deliveryId) === 2 && count(neverDone.deliveryId) === 3,
      {
        timeoutMs: 20_000,
      },
    );
    const secondNak = received.filter((r) => r.id === naked.deliveryId)[1]!;
    assert.ok(secondNak.at - publishedAt >= 300, "nak'ed with a delay");
    const secondFail = received.filter((r) => r.id === failing.deliveryId)[1]!;
    assert.ok(secondFail.at - publishedAt >= 1_900, "an exception naks with the consumer's backoff");
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.equal(count(acked.deliveryId), 1);
    assert.equal(count(termed.deliveryId), 1);
    assert.equal(count(neverDone.deliveryId), 3, "no delivery after max deliveries");
    assert.deepEqual(
      received.filter((r) => r.id === neverDone.deliveryId).map((r) => r.last),
      [false, false, true],
    );
    assert.equal(received.length, 1 + 2 + 1 + 2 + 3);

    const info = await (await admin.jetstreamManager()).consumers.info(JOB_STREAM, "controller");
    assert.equal(info.num_ack_pending, 0);
    assert.equal(info.config.max_deliver, 3);
    const metrics = await registry.getSingleMetricAsString("octorun_bus_invalid_messages_total");
    assert.match(metrics, /octorun_bus_invalid_messages_total\{consumer="controller"\} 1/);
    const settled = await registry.getSingleMetricAsString("octorun_bus_messages_total");
    assert.match(settled, /outcome="term"\} 2/);
    await consumer.stop();
    await bus.close();
  });

  test("a restarted consumer continues where its durable left off", async () => {
    const seen: string[] = [];
    const make = (bus: BusConnection) =>
      new JobEventConsumer({
        bus,
        durable: "state-metrics",
        handler: async (m) => void seen.push(m.event.deliveryId),
      });
    const first = event({ action: "completed" });
    const second = event({ action: "completed" });
    const bus1 = new BusConnection({
      servers: [server.url],
      name: "m",
      user: "metrics",
      password: "metrics-pass",
      inboxPrefix: serviceInbox("state-metrics"),
    });
    const c1 = make(bus1);
    await c1.start();
    await publishJobEvent(publisher.jetstream(), first);
    await waitFor("first event", () => seen.includes(first.deliveryId), { timeoutMs: 10_000 });
    await c1.stop();
    await bus1.close();
    const before = seen.length;
    await publishJobEvent(publisher.jetstream(), second);
    const bus2 = new BusConnection({
      servers: [server.url],
      name: "m",
      user: "metrics",
      password: "metrics-pass",
      inboxPrefix: serviceInbox("state-metrics"),
    });
    const c2 = make(bus2);
    consumers.push(c2);
    await c2.start();
    await waitFor("second event", () => seen.includes(second.deliveryId), { timeoutMs: 10_000 });
    assert.deepEqual(seen.slice(before), [second.deliveryId], "only what it had not acknowledged");
    await c2.stop();
    await bus2.close();
  });

  test("a consumer whose durable is deleted under it declares it again and goes on; the restart is logged and counted", async () => {
    const seen: string[] = [];
    const registry = new Registry();
    const lines: string[] = [];
    const stream = new PassThrough().on("data", (chunk: Buffer) => lines.push(chunk.toString()));
    const bus = new BusConnection({
      servers: [server.url],
      name: "r",
      user: "recovery",
      password: "recovery-pass",
      inboxPrefix: serviceInbox("recovery"),
    });
    const consumer = new JobEventConsumer({
      bus,
      durable: "recovery",
      registry,
      logger: createLogger({ service: "test", stream }),
      handler: async (m) => void seen.push(m.event.deliveryId),
    });
    consumers.push(consumer);
    await consumer.start();
    const first = event({ action: "completed" });
    await publishJobEvent(publisher.jetstream(), first);
    await waitFor("the first event", () => seen.includes(first.deliveryId), { timeoutMs: 10_000 });

    const jsm = await admin.jetstreamManager();
    await jsm.consumers.delete(JOB_STREAM, "recovery");
    await waitFor(
      "the durable declared again",
      async () => (await jsm.consumers.list(JOB_STREAM).next()).some((c) => c.name === "recovery"),
      {
        timeoutMs: 10_000,
      },
    );
    const second = event({ action: "completed" });
    await publishJobEvent(publisher.jetstream(), second);
    await waitFor("the event published after the deletion", () => seen.includes(second.deliveryId), {
      timeoutMs: 10_000,
    });
    const restarts = await registry.getSingleMetricAsString("octorun_bus_consumer_restarts_total");
    assert.match(restarts, /octorun_bus_consumer_restarts_total\{consumer="recovery",reason="(failed|ended)"\} 1/);
    assert.ok(
      lines.some((l) => l.includes('"level":"warn"') && l.includes("declaring the consumer again and consuming on")),
      `logged: ${lines.join("")}`,
    );
    await consumer.stop();
    await bus.close();
  });

  test("while nats-server is down the connection is not ready and publishing fails as unavailable; then it recovers, and so does a consumer", async () => {
    const seen: string[] = [];
    const bus = new BusConnection({
      servers: [server.url],
      name: "m",
      user: "metrics",
      password: "metrics-pass",
      inboxPrefix: serviceInbox("state-metrics"),
      reconnectWaitMs: 100,
    });
    const consumer = new JobEventConsumer({
      bus,
      durable: "state-metrics",
      handler: async (m) => void seen.push(m.event.deliveryId),
    });
    consumers.push(consumer);
    await consumer.start();

    await server.pause();
    await waitFor("disconnect noticed", () => !publisher.connected() && !bus.connected(), { timeoutMs: 10_000 });
    assert.throws(() => publisher.jetstream(), BusUnavailableError);
    await server.resume();
    await publisher.ready(20_000);
    const e = event({ action: "completed" });
    const stored = await publishJobEvent(publisher.jetstream(), e);
    assert.equal(stored.duplicate, false);
    await waitFor("the consumer reads again after the restart", () => seen.includes(e.deliveryId), {
      timeoutMs: 30_000,
    });
    await consumer.stop();
    await bus.close();
  });
});
