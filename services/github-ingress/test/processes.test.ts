import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { jobPublisherPermissions, jobStreamManagerPermissions, mergePermissions } from "@octorun/bus";
import { type NatsServer, signedWebhook, startNatsServer, webhookExamples } from "@octorun/testkit";
import { connect, type JetStreamManager, type NatsConnection } from "nats";
import { deliver, type IngressProcess, startIngress, storedByMessageId, storedCount } from "./ingress-process.ts";

const secret = "process-test-secret";

describe("github-ingress replicas and shutdown (processes, real nats-server)", () => {
  let nats: NatsServer;
  let admin: NatsConnection;
  let jsm: JetStreamManager;
  let a: IngressProcess;
  let b: IngressProcess;
  const env = () => ({
    NATS_URL: nats.url,
    NATS_USER: "ingress",
    NATS_PASSWORD: "ingress-pass",
    WEBHOOK_SECRET: secret,
  });
  const payload = () => webhookExamples("workflow_job").find((e) => e.action === "in_progress")!.payload;

  before(async () => {
    nats = await startNatsServer({
      users: [
        { user: "admin", password: "admin-pass" },
        {
          user: "ingress",
          password: "ingress-pass",
          ...mergePermissions(jobPublisherPermissions(), jobStreamManagerPermissions()),
        },
      ],
    });
    // Started together: both declare the stream at the same moment.
    [a, b] = await Promise.all([startIngress(env()), startIngress(env())]);
    admin = await connect({ servers: nats.url, user: "admin", pass: "admin-pass" });
    jsm = await admin.jetstreamManager();
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await admin?.close();
    await nats?.stop();
  });

  test("two ingress processes share the stream: every delivery stored once, whichever replica got it", async () => {
    const before = await storedCount(jsm);
    const webhooks = Array.from({ length: 60 }, () =>
      signedWebhook({ event: "workflow_job", payload: payload(), secret }),
    );
    // Each delivery reaches both replicas at once (as a redelivery racing the original would).
    const answers = await Promise.all(webhooks.flatMap((w) => [deliver(a.webhookUrl, w), deliver(b.webhookUrl, w)]));
    assert.deepEqual(
      answers.map((x) => x.status).filter((s) => s !== 202),
      [],
    );
    assert.equal(await storedCount(jsm), before + webhooks.length);
    const stored = await storedByMessageId(jsm);
    for (const w of webhooks) assert.equal(stored.get(w.deliveryId)?.subject, "octorun.jobs.assigned");
  });

  test("SIGTERM under load: the process drains and exits 0, and every delivery answered 2xx is stored", async (t) => {
    const outcomes: { id: string; status: number }[] = [];
    let exited = false;
    void b.exited.then(() => (exited = true));
    const sender = async () => {
      while (!exited) {
        const webhook = signedWebhook({ event: "workflow_job", payload: payload(), secret });
        const answer = await deliver(b.webhookUrl, webhook);
        outcomes.push({ id: webhook.deliveryId, status: answer.status });
        if (answer.status === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const senders = Array.from({ length: 12 }, sender);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const answeredBeforeSignal = outcomes.filter((o) => o.status === 202).length;
    b.child.kill("SIGTERM");
    const { code } = await b.exited;
    await Promise.all(senders);

    assert.equal(code, 0, b.output().split("\n").slice(-10).join("\n"));
    assert.ok(answeredBeforeSignal > 10, `load was running (${answeredBeforeSignal} stored before SIGTERM)`);
    const accepted = outcomes.filter((o) => o.status >= 200 && o.status < 300);
    const byStatus: Record<number, number> = {};
    for (const o of outcomes) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
    t.diagnostic(`answers by status: ${JSON.stringify(byStatus)} (0 = connection refused or closed)`);
    const stored = await storedByMessageId(jsm);
    const lost = accepted.filter((o) => !stored.has(o.id));
    assert.deepEqual(lost, [], "no delivery answered 2xx is missing from the stream");
    assert.ok(
      outcomes.every((o) => o.status === 202 || o.status === 0 || o.status === 503),
      JSON.stringify([...new Set(outcomes.map((o) => o.status))]),
    );
    // The other replica kept serving.
    const after = signedWebhook({ event: "workflow_job", payload: payload(), secret });
    assert.equal((await deliver(a.webhookUrl, after)).status, 202);
  });
});
