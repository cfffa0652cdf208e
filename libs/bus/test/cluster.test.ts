import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type NatsCluster, startNatsCluster, waitFor } from "@octorun/testkit";
import { connect, type NatsConnection } from "nats";
import {
  BusConnection,
  defaultJobStreamLimits,
  ensureJobStream,
  JOB_STREAM,
  type JobEvent,
  JobEventConsumer,
  jobConsumerPermissions,
  jobPublisherPermissions,
  jobStreamManagerPermissions,
  mergePermissions,
  publishJobEvent,
  serviceInbox,
} from "../src/index.ts";
import { freshEvent } from "./fixtures.ts";

const event = (overrides: Partial<JobEvent> = {}): JobEvent => freshEvent("cluster", overrides);

describe("the job consumer on a three-node JetStream cluster", () => {
  let cluster: NatsCluster;
  let admin: NatsConnection;
  let publisher: BusConnection;

  before(async () => {
    cluster = await startNatsCluster({
      users: [
        { user: "admin", password: "admin-pass" },
        {
          user: "ingress",
          password: "ingress-pass",
          ...mergePermissions(jobPublisherPermissions(), jobStreamManagerPermissions()),
        },
        { user: "controller", password: "controller-pass", ...jobConsumerPermissions("controller") },
      ],
    });
    admin = await connect({ servers: cluster.url.split(","), user: "admin", pass: "admin-pass" });
    publisher = new BusConnection({
      servers: cluster.url.split(","),
      name: "ingress",
      user: "ingress",
      password: "ingress-pass",
      inboxPrefix: serviceInbox("octorun-github-ingress"),
      reconnectWaitMs: 100,
      onConnect: async (bus) =>
        void (await ensureJobStream(await bus.jetstreamManager(), { ...defaultJobStreamLimits, replicas: 3 })),
    });
    await publisher.ready();
  });
  after(async () => {
    await publisher?.close();
    await admin?.close();
    await cluster?.stop();
  });

  /** Publishes, retrying while the cluster elects new leaders. */
  const publish = async (e: JobEvent) => {
    await waitFor(
      `event ${e.deliveryId} stored`,
      async () => {
        try {
          await publishJobEvent(publisher.jetstream(), e);
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  };

  // nats.js alone re-pulls only after two missed idle heartbeats (45 s here, measured); the
  // consumer's delivery check pulls again once events wait and none arrives.
  test("when the node leading the consumer dies, events published afterwards still arrive within 20 s", async () => {
    const leaderOf = async () =>
      (await (await admin.jetstreamManager()).consumers.info(JOB_STREAM, "controller")).cluster?.leader;
    const seen = new Set<string>();
    // Connected to one node that is not the consumer's leader: the connection survives the kill,
    // only what the leader held (the pending pull requests) is lost with it.
    let bus: BusConnection | undefined;
    let consumer: JobEventConsumer | undefined;
    const setup = new JobEventConsumer({ bus: publisher, durable: "controller", handler: async () => {} });
    await setup.declare(await admin.jetstreamManager());
    await waitFor("a consumer leader", async () => (await leaderOf()) !== undefined, { timeoutMs: 20_000 });
    try {
      for (let round = 0; round < 3; round++) {
        const leader = await leaderOf();
        const leaderIndex = cluster.nodes.findIndex((_, i) => leader === `octorun-nats-${i}`);
        assert.ok(leaderIndex >= 0, `leader ${leader} is a node of the cluster`);
        {
          const other = cluster.nodes[(leaderIndex + 1) % cluster.nodes.length]!;
          bus = new BusConnection({
            servers: [other.url],
            name: "controller",
            user: "controller",
            password: "controller-pass",
            inboxPrefix: serviceInbox("controller"),
            reconnectWaitMs: 100,
          });
          consumer = new JobEventConsumer({
            bus,
            durable: "controller",
            deliveryCheckMs: 1_000,
            handler: async (m) => void seen.add(m.event.deliveryId),
          });
          await consumer.start();
        }
        const warmup = event();
        await publish(warmup);
        await waitFor("the consumer delivers", () => seen.has(warmup.deliveryId), { timeoutMs: 20_000 });

        const node = cluster.nodes[leaderIndex]!;
        for (const pid of node.pids()) process.kill(pid, "SIGKILL");
        const after = Array.from({ length: 5 }, () => event());
        for (const e of after) await publish(e);
        await waitFor(
          `round ${round}: every event published after the leader died delivered`,
          () => after.every((e) => seen.has(e.deliveryId)),
          { timeoutMs: 20_000, intervalMs: 100 },
        );
        await consumer.stop();
        await bus?.close();
        consumer = undefined;
        await node.resume();
        await waitFor("the consumer has a leader again", async () => (await leaderOf()) !== undefined, {
          timeoutMs: 20_000,
        });
      }
    } finally {
      await consumer?.stop();
      await bus?.close();
    }
  });
});
