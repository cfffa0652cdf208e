// github-ingress as deploy/ runs it: its NATS user may publish job events and read whether the
// stream exists, nothing else (jobPublisherPermissions), and JOB_STREAM_MANAGE=false (the controller
// declares the stream). It must wait for the stream, then store deliveries, with no other right.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ensureJobStream, JOB_STREAM, jobPublisherPermissions } from "@octorun/bus";
import { type NatsServer, signedWebhook, startNatsServer, waitFor, webhookExamples } from "@octorun/testkit";
import { connect, type NatsConnection } from "nats";
import { deliver, type IngressProcess, startIngress, storedByMessageId } from "./ingress-process.ts";

const secret = "publish-only-secret";

describe("github-ingress with a publish-only NATS user (JOB_STREAM_MANAGE=false)", () => {
  let nats: NatsServer;
  let admin: NatsConnection;
  let ingress: IngressProcess;

  before(async () => {
    nats = await startNatsServer({
      users: [
        { user: "admin", password: "admin-pass" },
        { user: "ingress", password: "ingress-pass", ...jobPublisherPermissions() },
      ],
    });
    admin = await connect({ servers: nats.url, user: "admin", pass: "admin-pass" });
  });
  after(async () => {
    await ingress?.stop();
    await admin?.close();
    await nats?.stop();
  });

  test("not ready while the stream is missing; ready once another party declares it; then stores deliveries", async () => {
    ingress = await startIngress(
      {
        NATS_URL: nats.url,
        NATS_USER: "ingress",
        NATS_PASSWORD: "ingress-pass",
        WEBHOOK_SECRET: secret,
        JOB_STREAM_MANAGE: "false",
      },
      { waitReady: false },
    );
    const ready = async () => (await fetch(`${ingress.healthUrl}/readyz`).catch(() => undefined))?.ok === true;
    await waitFor("github-ingress connected", async () => /connected to NATS/.test(ingress.output()));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(await ready(), false, "ready without a stream");
    const jsm = await admin.jetstreamManager();
    assert.equal((await jsm.streams.names().next()).length, 0, "the ingress declared the stream itself");

    await ensureJobStream(jsm);
    await waitFor("github-ingress ready", ready, { timeoutMs: 15_000 });
    const payload = webhookExamples("workflow_job").find((e) => e.action === "queued")!.payload;
    const webhook = signedWebhook({ event: "workflow_job", payload, secret });
    assert.equal((await deliver(ingress.webhookUrl, webhook)).status, 202);
    assert.equal((await storedByMessageId(jsm)).get(webhook.deliveryId)?.subject, "octorun.jobs.queued");
    assert.equal((await jsm.streams.info(JOB_STREAM)).config.name, JOB_STREAM);
    assert.doesNotMatch(ingress.output(), /permissions violation/i);
  });
});
