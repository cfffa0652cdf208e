import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { AckPolicy, connect, type NatsConnection, nanos, StringCodec } from "nats";
import { type NatsCluster, type NatsServer, startNatsCluster, startNatsServer, waitFor } from "../src/index.ts";

const codec = StringCodec();

describe("real nats-server with JetStream", () => {
  let server: NatsServer;
  before(async () => {
    server = await startNatsServer({
      users: [
        { user: "admin", password: "admin-pass" },
        {
          user: "ingress",
          password: "ingress-pass",
          publish: ["octorun.jobs.>", "$JS.API.>"],
          subscribe: ["_INBOX.>"],
        },
      ],
    });
  });
  after(() => server?.stop());

  const admin = () => connect({ servers: server.url, user: "admin", pass: "admin-pass" });

  test("a message published twice with one message id is stored once (duplicate window)", async () => {
    const nc = await admin();
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: "DEDUPE", subjects: ["dedupe.>"], duplicate_window: nanos(60_000) });
    const js = nc.jetstream();
    const first = await js.publish("dedupe.a", codec.encode("one"), { msgID: "delivery-1" });
    const second = await js.publish("dedupe.a", codec.encode("one again"), { msgID: "delivery-1" });
    assert.equal(first.duplicate, false);
    assert.equal(second.duplicate, true);
    assert.equal((await jsm.streams.info("DEDUPE")).state.messages, 1);
    await nc.close();
  });

  test("a durable consumer delivers an unacknowledged message again after its client reconnects", async () => {
    const nc = await admin();
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: "REDELIVER", subjects: ["redeliver.>"] });
    await jsm.consumers.add("REDELIVER", {
      durable_name: "worker",
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(1_000),
    });
    await nc.jetstream().publish("redeliver.x", codec.encode("job-1"));
    const first = await (await nc.jetstream().consumers.get("REDELIVER", "worker")).next({ expires: 5_000 });
    assert.equal(first && codec.decode(first.data), "job-1");
    await nc.close(); // never acknowledged

    const again = await admin();
    const second = await (await again.jetstream().consumers.get("REDELIVER", "worker")).next({ expires: 10_000 });
    assert.ok(second, "the message came back");
    assert.equal(codec.decode(second.data), "job-1");
    assert.equal(second.info.redelivered, true);
    second.ack();
    await again.flush();
    await again.close();
  });

  test("messages in file storage survive a nats-server restart", async () => {
    const nc = await admin();
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: "DURABLE", subjects: ["durable.>"] });
    for (const n of [1, 2, 3]) await nc.jetstream().publish("durable.x", codec.encode(`m${n}`));
    await nc.close();

    await server.restart();

    const nc2 = await admin();
    const jsm2 = await nc2.jetstreamManager();
    const info = await jsm2.streams.info("DURABLE");
    assert.equal(info.state.messages, 3);
    const last = await jsm2.streams.getMessage("DURABLE", { last_by_subj: "durable.x" });
    assert.equal(codec.decode(last.data), "m3");
    await nc2.close();
  });

  test("a user without permission for a subject is refused, and nothing reaches it", async () => {
    const observer = await admin();
    const seen: string[] = [];
    const watch = observer.subscribe("forbidden.>", { callback: (_err, msg) => seen.push(msg.subject) });
    await observer.flush();

    const ingress: NatsConnection = await connect({ servers: server.url, user: "ingress", pass: "ingress-pass" });
    const errors: string[] = [];
    (async () => {
      for await (const status of ingress.status()) if (status.type === "error") errors.push(String(status.data));
    })();
    ingress.publish("forbidden.subject", codec.encode("should not arrive"));
    ingress.publish("octorun.jobs.queued", codec.encode("allowed"));
    await ingress.flush();

    const subscription = ingress.subscribe("forbidden.>");
    const subscribeError = await (async () => {
      try {
        for await (const _ of subscription) return undefined;
      } catch (error) {
        return error as Error;
      }
      return undefined;
    })();
    assert.match(String(subscribeError?.message), /permissions violation/i);
    assert.ok(
      errors.some((e) => /PERMISSIONS_VIOLATION/i.test(e)),
      `status errors: ${errors.join(", ")}`,
    );
    await observer.flush();
    assert.deepEqual(seen, []);
    await assert.rejects(connect({ servers: server.url, user: "ingress", pass: "wrong" }), /authorization/i);
    watch.unsubscribe();
    await ingress.close();
    await observer.close();
  });
});

describe("a three-node nats-server JetStream cluster", () => {
  let cluster: NatsCluster;
  before(async () => {
    cluster = await startNatsCluster({ size: 3, users: [{ user: "admin", password: "admin-pass" }] });
  });
  after(() => cluster?.stop());

  test("a stream replicated three ways keeps accepting and keeps every message while one node at a time is down", async () => {
    const nc = await connect({ servers: cluster.url.split(","), user: "admin", pass: "admin-pass" });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: "REPLICATED", subjects: ["replicated.>"], num_replicas: 3 });
    const js = nc.jetstream();
    let sent = 0;
    for (const node of cluster.nodes) {
      await node.pause();
      for (let i = 0; i < 5; i++) {
        // A publish can land while the stream elects a new leader: retried, as a publisher would.
        // With the other test file's processes on the same two cores an election has taken over 5 s.
        for (let attempt = 1; ; attempt++) {
          try {
            await js.publish("replicated.x", codec.encode(`m${sent}`), { msgID: `m${sent}`, timeout: 2_000 });
            break;
          } catch (error) {
            if (attempt >= 80) throw error;
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        }
        sent++;
      }
      await node.resume();
    }
    // The last node rejoins and catches up; the leader answers for the stream meanwhile.
    let info = await jsm.streams.info("REPLICATED");
    await waitFor(
      "every message stored, a leader and two current replicas",
      async () => {
        info = await jsm.streams.info("REPLICATED");
        const replicas = info.cluster?.replicas ?? [];
        return info.state.messages === sent && replicas.length === 2 && replicas.every((r) => r.current);
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    assert.equal(info.state.messages, sent);
    assert.equal(info.config.num_replicas, 3);
    await nc.close();
  });
});
