import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { JOB_STREAM, jobPublisherPermissions, jobStreamManagerPermissions, mergePermissions } from "@octorun/bus";
import { type NatsServer, signedWebhook, startNatsServer, waitFor, webhookExamples } from "@octorun/testkit";
import { connect, type JetStreamManager, type NatsConnection } from "nats";
import { jobEventFromWebhook } from "../src/job-event-from-webhook.ts";
import { deliver, type IngressProcess, startIngress, storedByMessageId, storedCount } from "./ingress-process.ts";

// biome-ignore lint/suspicious/noExplicitAny: GitHub payloads and events are untyped JSON that the tests mutate freely.
type Json = any;

const secret = "webhook-secret-1";
const previousSecret = "webhook-secret-0";

describe("github-ingress as a process, with a real nats-server", () => {
  let nats: NatsServer;
  let admin: NatsConnection;
  let jsm: JetStreamManager;
  let ingress: IngressProcess;

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
    ingress = await startIngress({
      NATS_URL: nats.url,
      NATS_USER: "ingress",
      NATS_PASSWORD: "ingress-pass",
      WEBHOOK_SECRET: secret,
      WEBHOOK_PREVIOUS_SECRETS: previousSecret,
      MAX_BODY_BYTES: "65536",
      PUBLISH_TIMEOUT_MS: "2000",
      RETRY_AFTER_SECONDS: "7",
    });
    admin = await connect({ servers: nats.url, user: "admin", pass: "admin-pass" });
    jsm = await admin.jetstreamManager();
  });
  after(async () => {
    await ingress?.stop();
    await admin?.close();
    await nats?.stop();
  });

  test("it refuses to start without a webhook secret and names the variable", () => {
    const entry = fileURLToPath(new URL("../src/index.ts", import.meta.url));
    const run = spawnSync(process.execPath, [entry], {
      env: { PATH: process.env.PATH ?? "", NATS_URL: nats.url, HEALTH_PORT: "0", HTTP_PORT: "0" },
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /WEBHOOK_SECRET \(or WEBHOOK_SECRET_FILE\) is required/);
  });

  test("it declared the job stream with its restricted user and is ready", async () => {
    const info = await jsm.streams.info(JOB_STREAM);
    assert.deepEqual(info.config.subjects, ["octorun.jobs.>"]);
    assert.ok(info.config.duplicate_window >= 600e9);
    const ready = await fetch(`${ingress.healthUrl}/readyz`);
    assert.equal(ready.status, 200);
  });

  test("every GitHub workflow_job example is stored with the right subject, body and message id; pings are answered", async () => {
    const sent = new Map<string, Record<string, unknown>>();
    for (const example of webhookExamples("workflow_job")) {
      const webhook = signedWebhook({ event: "workflow_job", payload: example.payload, secret });
      const answer = await deliver(ingress.webhookUrl, webhook);
      assert.equal(answer.status, 202, `example ${example.index}: ${answer.body}`);
      sent.set(webhook.deliveryId, example.payload);
    }
    const countBeforePing = await storedCount(jsm);
    for (const example of webhookExamples("ping")) {
      const answer = await deliver(
        ingress.webhookUrl,
        signedWebhook({ event: "ping", payload: example.payload, secret }),
      );
      assert.equal(answer.status, 200, answer.body);
    }
    assert.equal(await storedCount(jsm), countBeforePing, "a ping stores nothing");

    const stored = await storedByMessageId(jsm);
    for (const [deliveryId, payload] of sent) {
      const message = stored.get(deliveryId);
      assert.ok(message, `delivery ${deliveryId} is in the stream`);
      const action = (payload as { action: string }).action;
      assert.equal(message.subject, `octorun.jobs.${action === "in_progress" ? "assigned" : action}`);
      assert.deepEqual(message.json(), jobEventFromWebhook(deliveryId, payload));
    }
  });

  const example = () => webhookExamples("workflow_job").find((e) => e.action === "queued")!.payload;

  test("each kind of bad input gets its answer and nothing is stored", async () => {
    const before = await storedCount(jsm);
    const good = () => signedWebhook({ event: "workflow_job", payload: example(), secret });
    const lacking = example() as Json;
    delete lacking.workflow_job.run_id;
    const oversized = { ...example(), padding: "x".repeat(70_000) };
    const cases: [string, () => Promise<{ status: number; body: string }>, number, RegExp][] = [
      [
        "missing signature",
        () => deliver(ingress.webhookUrl, signedWebhook({ event: "workflow_job", payload: example() })),
        401,
        /missing/,
      ],
      [
        "wrong signature",
        () =>
          deliver(ingress.webhookUrl, signedWebhook({ event: "workflow_job", payload: example(), secret: "guess" })),
        401,
        /does not match/,
      ],
      [
        "signature of other bytes",
        () => {
          const w = good();
          return deliver(ingress.webhookUrl, {
            ...w,
            body: Buffer.from(w.body.toString().replace("queued", "waiting")),
          });
        },
        401,
        /does not match/,
      ],
      [
        "missing X-GitHub-Event",
        () => {
          const w = good();
          const { "x-github-event": _e, ...headers } = w.headers;
          return deliver(ingress.webhookUrl, { ...w, headers });
        },
        400,
        /X-GitHub-Event/,
      ],
      [
        "missing X-GitHub-Delivery",
        () => {
          const w = good();
          const { "x-github-delivery": _d, ...headers } = w.headers;
          return deliver(ingress.webhookUrl, { ...w, headers });
        },
        400,
        /X-GitHub-Delivery/,
      ],
      [
        "form-encoded content",
        () => deliver(ingress.webhookUrl, good(), { "content-type": "application/x-www-form-urlencoded" }),
        415,
        /configure the webhook's content type as application\/json/,
      ],
      [
        "body over the limit",
        () => deliver(ingress.webhookUrl, signedWebhook({ event: "workflow_job", payload: oversized, secret })),
        413,
        /larger than 65536/,
      ],
      [
        "signed invalid JSON",
        () => deliver(ingress.webhookUrl, signedWebhook({ event: "workflow_job", payload: '{"action":', secret })),
        400,
        /not valid JSON/,
      ],
      [
        "signed payload lacking a field",
        () => deliver(ingress.webhookUrl, signedWebhook({ event: "workflow_job", payload: lacking, secret })),
        422,
        /workflow_job\.run_id is required/,
      ],
    ];
    for (const [name, send, status, message] of cases) {
      const answer = await send();
      assert.equal(answer.status, status, `${name}: ${answer.body}`);
      assert.match(JSON.parse(answer.body).message, message, name);
    }
    const get = await fetch(ingress.webhookUrl);
    assert.equal(get.status, 405);
    assert.equal(await storedCount(jsm), before, "nothing stored for bad input");
  });

  test("other events are acknowledged and ignored", async () => {
    const before = await storedCount(jsm);
    const answer = await deliver(
      ingress.webhookUrl,
      signedWebhook({ event: "push", payload: { ref: "refs/heads/main" }, secret }),
    );
    assert.equal(answer.status, 202);
    assert.equal(await storedCount(jsm), before);
  });

  test("during secret rotation the previous secret is accepted, an unknown one is not", async () => {
    const old = signedWebhook({ event: "workflow_job", payload: example(), secret: previousSecret });
    assert.equal((await deliver(ingress.webhookUrl, old)).status, 202);
    assert.ok((await storedByMessageId(jsm)).has(old.deliveryId));
    const unknown = signedWebhook({ event: "workflow_job", payload: example(), secret: "webhook-secret-x" });
    assert.equal((await deliver(ingress.webhookUrl, unknown)).status, 401);
    assert.ok(!(await storedByMessageId(jsm)).has(unknown.deliveryId));
  });

  test("a redelivered webhook (same delivery id) is answered 2xx and stored once", async () => {
    const webhook = signedWebhook({ event: "workflow_job", payload: example(), secret });
    const before = await storedCount(jsm);
    const answers = [await deliver(ingress.webhookUrl, webhook), await deliver(ingress.webhookUrl, webhook)];
    assert.deepEqual(
      answers.map((a) => a.status),
      [202, 202],
    );
    assert.match(answers[1]!.body, /already stored/);
    assert.equal(await storedCount(jsm), before + 1);
  });

  test("metrics count deliveries by event, action and result, signature failures and publish latency", async () => {
    const text = await (await fetch(`${ingress.healthUrl}/metrics`)).text();
    assert.match(text, /octorun_ingress_deliveries_total\{event="workflow_job",action="queued",result="stored"\} \d+/);
    assert.match(text, /octorun_ingress_deliveries_total\{event="workflow_job",action="queued",result="duplicate"\} 1/);
    const pings = webhookExamples("ping").length;
    assert.match(
      text,
      new RegExp(`octorun_ingress_deliveries_total\\{event="ping",action="",result="ping"\\} ${pings}\n`),
    );
    assert.match(text, /octorun_ingress_deliveries_total\{event="push",action="",result="ignored"\} 1/);
    assert.match(text, /octorun_ingress_deliveries_total\{event="unverified",action="",result="unauthorized"\} 4/);
    assert.match(text, /octorun_ingress_deliveries_total\{event="workflow_job",action="",result="unprocessable"\} 1/);
    assert.match(text, /octorun_ingress_signature_failures_total\{reason="mismatch"\} 3/);
    assert.match(text, /octorun_ingress_signature_failures_total\{reason="missing"\} 1/);
    assert.match(text, /octorun_ingress_publish_duration_seconds_count\{result="stored"\} \d+/);
    assert.ok(!text.includes(secret) && !ingress.output().includes(secret), "the secret appears nowhere");
  });

  test("logs are JSON lines that carry the delivery id", async () => {
    const webhook = signedWebhook({ event: "workflow_job", payload: example(), secret: "nope" });
    await deliver(ingress.webhookUrl, webhook);
    await waitFor("log line", () => ingress.output().includes(webhook.deliveryId), { timeoutMs: 5_000 });
    const line = ingress
      .output()
      .split("\n")
      .find((l) => l.includes(webhook.deliveryId))!;
    const entry = JSON.parse(line);
    assert.equal(entry.deliveryId, webhook.deliveryId);
    assert.equal(entry.status, 401);
  });

  test("with the stream deleted under it: 503 (not stored), and readiness declares the stream again", async () => {
    await jsm.streams.delete(JOB_STREAM);
    const webhook = signedWebhook({ event: "workflow_job", payload: example(), secret });
    const answer = await deliver(ingress.webhookUrl, webhook);
    assert.equal(answer.status, 503, answer.body);
    assert.ok(answer.headers.get("retry-after"));
    await waitFor("ready again", async () => (await fetch(`${ingress.healthUrl}/readyz`)).ok, { timeoutMs: 15_000 });
    assert.equal((await deliver(ingress.webhookUrl, webhook)).status, 202);
    assert.equal((await storedByMessageId(jsm)).get(webhook.deliveryId)?.subject, "octorun.jobs.queued");
  });

  test("with nats-server stopped: 503 with Retry-After and not ready; restarted: 202 and stored", async () => {
    await nats.pause();
    const during = signedWebhook({ event: "workflow_job", payload: example(), secret });
    await waitFor("not ready", async () => (await fetch(`${ingress.healthUrl}/readyz`)).status === 503, {
      timeoutMs: 15_000,
    });
    const answer = await deliver(ingress.webhookUrl, during);
    assert.equal(answer.status, 503, answer.body);
    assert.equal(answer.headers.get("retry-after"), "7");

    // A replica that starts while NATS is down serves /healthz, is not ready and answers 503.
    const late = await startIngress(
      { NATS_URL: nats.url, NATS_USER: "ingress", NATS_PASSWORD: "ingress-pass", WEBHOOK_SECRET: secret },
      { waitReady: false },
    );
    try {
      await waitFor(
        "late replica alive",
        async () => (await fetch(`${late.healthUrl}/healthz`).catch(() => undefined))?.ok === true,
        {
          timeoutMs: 30_000,
        },
      );
      assert.equal((await fetch(`${late.healthUrl}/readyz`)).status, 503);
      assert.equal((await deliver(late.webhookUrl, during)).status, 503);

      await nats.resume();
      await waitFor("ready again", async () => (await fetch(`${ingress.healthUrl}/readyz`)).ok, { timeoutMs: 30_000 });
      await waitFor("late replica ready", async () => (await fetch(`${late.healthUrl}/readyz`)).ok, {
        timeoutMs: 30_000,
      });
    } finally {
      await late.stop();
    }
    // GitHub's redelivery of the failed delivery: same id, same body.
    const again = await deliver(ingress.webhookUrl, during);
    assert.equal(again.status, 202, again.body);
    const admin2 = await connect({ servers: nats.url, user: "admin", pass: "admin-pass" });
    try {
      const stored = await storedByMessageId(await admin2.jetstreamManager());
      assert.equal(stored.get(during.deliveryId)?.subject, "octorun.jobs.queued");
    } finally {
      await admin2.close();
    }
  });
});
