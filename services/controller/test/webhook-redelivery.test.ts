// WebhookRedelivery: the pure decision as a table, then the whole path with real processes: a
// real nats-server, the real github-ingress service process and the GitHub simulator. Ingress is
// down while GitHub sends a workflow_job webhook; after it comes back, WebhookRedelivery gets the
// event into the JetStream stream, exactly once.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { JOB_STREAM, jobPublisherPermissions, jobStreamManagerPermissions, mergePermissions } from "@octorun/bus";
import { createGitHubClient } from "@octorun/github";
import { ConfigError, loadConfig } from "@octorun/runtime";
import { freePort, GitHubSimulator, type NatsServer, startNatsServer, waitFor } from "@octorun/testkit";
import { connect, type JetStreamManager, type NatsConnection } from "nats";
import { Registry } from "prom-client";
import { type IngressProcess, startIngress } from "../../github-ingress/test/ingress-process.ts";
import {
  type DeliveryAttempt,
  deliveriesToRedeliver,
  type RedeliveryPlan,
  type RedeliveryRecord,
  WebhookRedelivery,
  type WebhookRedeliveryConfig,
  webhookRedeliveryFromConfig,
  webhookRedeliverySettings,
} from "../src/webhook-redelivery.ts";

describe("webhook redelivery settings", () => {
  const load = (env: Record<string, string>) =>
    loadConfig<WebhookRedeliveryConfig>(webhookRedeliverySettings, { env }).values;
  const github = { listWebhookDeliveries: async () => [], redeliverWebhookDelivery: async () => undefined };
  const app = { type: "app" as const, appId: 1, privateKey: "unused here" };

  test("defaults: every 60 s, at most 5 redeliveries per event", () => {
    assert.deepEqual(load({}), { WEBHOOK_REDELIVERY_INTERVAL_SECONDS: 60, WEBHOOK_REDELIVERY_MAX_ATTEMPTS: 5 });
  });
  test("a bad interval stops the service, named", () => {
    assert.throws(
      () => load({ WEBHOOK_REDELIVERY_INTERVAL_SECONDS: "-1" }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /WEBHOOK_REDELIVERY_INTERVAL_SECONDS/);
        return true;
      },
    );
  });
  test("0 turns it off; token auth turns it off; App auth with an interval turns it on", () => {
    const lines: string[] = [];
    const logger = { debug: () => 0, info: (m: string) => lines.push(m), warn: () => 0, error: () => 0 };
    const off = load({ WEBHOOK_REDELIVERY_INTERVAL_SECONDS: "0" });
    assert.equal(webhookRedeliveryFromConfig(off, app, { github, logger }), undefined);
    assert.equal(webhookRedeliveryFromConfig(load({}), { type: "token", token: "t" }, { github, logger }), undefined);
    assert.match(lines.join("\n"), /INTERVAL_SECONDS=0[\s\S]*needs GitHub App auth/);
    assert.ok(webhookRedeliveryFromConfig(load({}), app, { github, logger }) instanceof WebhookRedelivery);
  });
});

describe("deliveriesToRedeliver", () => {
  const now = Date.parse("2026-11-29T12:00:00Z");
  const at = (secondsAgo: number) => new Date(now - secondsAgo * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  let ids = 0;
  const attempt = (guid: string, secondsAgo: number, statusCode: number, more: Partial<DeliveryAttempt> = {}) => ({
    id: ++ids,
    guid,
    delivered_at: at(secondsAgo),
    status_code: statusCode,
    event: "workflow_job",
    action: "queued",
    redelivery: false,
    ...more,
  });
  const policy = { maxRedeliveries: 3, retryAfterMs: 60_000 };
  const redeliver = (plan: RedeliveryPlan) => plan.redeliver.map((r) => [r.guid, r.deliveryId, r.attempt]);

  const cases: {
    name: string;
    deliveries: DeliveryAttempt[];
    requested?: [string, RedeliveryRecord][];
    redeliver: [string, number, number][];
    giveUp?: string[];
  }[] = [];
  const add = (c: (typeof cases)[number]) => cases.push(c);

  {
    const a = attempt("a", 30, 0);
    add({ name: "a refused connection (code 0) is redelivered", deliveries: [a], redeliver: [["a", a.id, 1]] });
  }
  {
    const a = attempt("a", 30, 503);
    const b = attempt("b", 20, 302);
    const c = attempt("c", 10, 404);
    add({
      name: "5xx, 3xx and 4xx are failures; oldest event first",
      deliveries: [c, a, b],
      redeliver: [
        ["a", a.id, 1],
        ["b", b.id, 1],
        ["c", c.id, 1],
      ],
    });
  }
  add({ name: "a delivered event is left alone", deliveries: [attempt("a", 30, 202)], redeliver: [] });
  add({
    name: "a failure followed by a successful redelivery is done",
    deliveries: [attempt("a", 30, 0), attempt("a", 10, 200, { redelivery: true })],
    redeliver: [],
  });
  add({
    name: "a success followed by a failed manual redelivery is done (it was stored)",
    deliveries: [attempt("a", 30, 200), attempt("a", 10, 503, { redelivery: true })],
    redeliver: [],
  });
  {
    const first = attempt("a", 90, 0);
    const later = attempt("a", 61, 503, { redelivery: true });
    add({
      name: "several failed attempts: the latest is redelivered, counted from this replica's requests",
      deliveries: [later, first],
      requested: [["a", { requests: 1, lastRequestedAt: now - 62_000 }]],
      redeliver: [["a", later.id, 2]],
    });
  }
  {
    const x = attempt("a", 5, 0, { redelivery: true });
    const y = attempt("a", 5, 0, { redelivery: true });
    add({
      name: "attempts in the same second: the higher id is the latest",
      deliveries: [y, x],
      redeliver: [["a", Math.max(x.id, y.id), 1]],
    });
  }
  add({
    name: "other events are not this part's business",
    deliveries: [attempt("p", 30, 0, { event: "ping", action: null }), attempt("q", 30, 500, { event: "push" })],
    redeliver: [],
  });
  add({
    name: "asked less than retryAfter ago: wait for that redelivery to show up",
    deliveries: [attempt("a", 100, 0)],
    requested: [["a", { requests: 1, lastRequestedAt: now - 59_000 }]],
    redeliver: [],
  });
  add({
    name: "asked the maximum number of times: give up, once",
    deliveries: [attempt("a", 100, 0), attempt("b", 100, 0)],
    requested: [
      ["a", { requests: 3, lastRequestedAt: now - 600_000 }],
      ["b", { requests: 3, lastRequestedAt: now - 600_000, gaveUp: true }],
    ],
    redeliver: [],
    giveUp: ["a"],
  });
  add({ name: "nothing listed, nothing to do", deliveries: [], redeliver: [] });

  for (const c of cases) {
    test(c.name, () => {
      const plan = deliveriesToRedeliver(c.deliveries, new Map(c.requested ?? []), now, policy);
      assert.deepEqual(redeliver(plan), c.redeliver);
      assert.deepEqual(
        plan.giveUp.map((g) => g.guid),
        c.giveUp ?? [],
      );
    });
  }
});

describe("WebhookRedelivery with nats-server, the github-ingress process and the GitHub simulator", () => {
  const secret = "redelivery-webhook-secret";
  const sim = new GitHubSimulator();
  let nats: NatsServer;
  let admin: NatsConnection;
  let jsm: JetStreamManager;
  let ingress: IngressProcess | undefined;
  let ingressEnv: Record<string, string>;
  let app: { appId: number; privateKey: string };

  const startIngressProcess = async () => {
    ingress = await startIngress(ingressEnv);
    return ingress;
  };
  const stopIngress = async () => {
    await ingress?.stop();
    ingress = undefined;
  };
  /** How many stored messages carry this JetStream message id (the delivery guid). */
  const storedWithId = async (guid: string): Promise<number> => {
    const info = await jsm.streams.info(JOB_STREAM);
    let count = 0;
    for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(JOB_STREAM, { seq }).catch(() => undefined);
      if (message?.header.get("Nats-Msg-Id") === guid) count += 1;
    }
    return count;
  };
  const github = () =>
    createGitHubClient({
      auth: { type: "app", appId: app.appId, privateKey: app.privateKey },
      apiBaseUrl: sim.apiUrl,
    });
  const metric = async (registry: Registry, name: string, result: string) => {
    const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
    return values.find((v) => v.labels.result === result)?.value ?? 0;
  };

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
    // A fixed port: GitHub's webhook URL does not change when ingress restarts.
    ingressEnv = {
      NATS_URL: nats.url,
      NATS_USER: "ingress",
      NATS_PASSWORD: "ingress-pass",
      WEBHOOK_SECRET: secret,
      HTTP_PORT: String(await freePort()),
    };
    await startIngressProcess();
    admin = await connect({ servers: nats.url, user: "admin", pass: "admin-pass" });
    jsm = await admin.jetstreamManager();
    await sim.start();
    sim.setWebhook({ url: `http://127.0.0.1:${ingressEnv.HTTP_PORT}/api/github/webhooks`, secret });
    sim.addOrganization("acme");
    sim.addRepository("acme/widgets");
    app = sim.createApp();
    sim.addInstallation({ appId: app.appId, account: "acme" });
  });
  after(async () => {
    await stopIngress();
    await sim.stop();
    await admin?.close();
    await nats?.stop();
  });

  test("a workflow_job sent while ingress was down reaches the stream exactly once after ingress is back", async () => {
    // While ingress is up, a delivery is stored at once.
    const deliveredJob = await sim.queueJob({ repository: "acme/widgets", labels: ["linux"] });
    const delivered = sim.deliveries().find((d) => d.jobId === deliveredJob.id);
    assert.equal(delivered?.statusText, "OK");

    await stopIngress();
    const lostJob = await sim.queueJob({ repository: "acme/widgets", labels: ["linux"] });
    const lost = sim.deliveries().find((d) => d.jobId === lostJob.id);
    assert.ok(lost);
    assert.equal(lost.statusText, "failed to connect", "GitHub recorded a failed delivery");
    assert.equal(await storedWithId(lost.deliveryId), 0, "the event is not in the stream");
    await startIngressProcess();

    const registry = new Registry();
    const redelivery = new WebhookRedelivery({ github: github(), intervalMs: 200, registry });
    redelivery.start();
    try {
      await waitFor("the lost event in the stream", async () => (await storedWithId(lost.deliveryId)) === 1, {
        timeoutMs: 20_000,
        intervalMs: 100,
      });
      // A few more looks: the redelivered event and the one delivered at once stay alone.
      const looks = await metric(registry, "octorun_webhook_delivery_looks_total", "ok");
      await waitFor(
        "three more looks",
        async () => (await metric(registry, "octorun_webhook_delivery_looks_total", "ok")) >= looks + 3,
        { timeoutMs: 10_000, intervalMs: 50 },
      );
    } finally {
      await redelivery.stop();
    }
    assert.equal(await storedWithId(lost.deliveryId), 1, "stored exactly once");
    assert.equal(await storedWithId(delivered.deliveryId), 1);
    const attempts = sim.deliveries().filter((d) => d.deliveryId === lost.deliveryId);
    assert.deepEqual(
      attempts.map((d) => [d.redelivery, d.statusText]),
      [
        [false, "failed to connect"],
        [true, "OK"],
      ],
    );
    assert.equal(sim.requests({ operationId: "apps/redeliver-webhook-delivery" }).length, 1, "one redelivery asked");
    assert.equal(
      sim.deliveries().filter((d) => d.deliveryId === delivered.deliveryId).length,
      1,
      "a delivered event is never redelivered",
    );
    assert.equal(await metric(registry, "octorun_webhook_redeliveries_total", "requested"), 1);

    // The premise: a redelivery of an event already stored is deduplicated by its guid.
    const again = await sim.redeliver(attempts[1]?.id ?? 0);
    assert.equal(again.statusText, "OK");
    assert.equal(await storedWithId(lost.deliveryId), 1, "a second redelivery is not stored twice");
    sim.assertNoViolations();
  });

  test("an event that keeps failing is redelivered at most N times, then given up", async () => {
    await stopIngress();
    try {
      const job = await sim.queueJob({ repository: "acme/widgets", labels: ["linux"] });
      const failed = sim.deliveries().find((d) => d.jobId === job.id);
      assert.ok(failed);
      const registry = new Registry();
      const redelivery = new WebhookRedelivery({ github: github(), intervalMs: 100, maxRedeliveries: 2, registry });
      redelivery.start();
      try {
        await waitFor(
          "the give-up",
          async () => (await metric(registry, "octorun_webhook_redeliveries_total", "gave_up")) >= 1,
          { timeoutMs: 15_000, intervalMs: 50 },
        );
      } finally {
        await redelivery.stop();
      }
      assert.equal(
        await metric(registry, "octorun_webhook_redeliveries_total", "gave_up"),
        1,
        "only this event failed",
      );
      const redeliveries = sim.deliveries().filter((d) => d.deliveryId === failed.deliveryId && d.redelivery);
      assert.equal(redeliveries.length, 2);
      assert.ok(redeliveries.every((d) => d.statusText === "failed to connect"));
      assert.equal(await metric(registry, "octorun_webhook_redeliveries_total", "requested"), 2);
    } finally {
      await startIngressProcess();
    }
  });

  test("nothing is looked at while inactive (not leading), and token auth stops it with a clear error", async () => {
    sim.clearRequests();
    const idle = new WebhookRedelivery({ github: github(), intervalMs: 50, active: () => false });
    idle.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await idle.stop();
    assert.equal(sim.requests().length, 0, "an inactive replica asks GitHub nothing");

    const errors: string[] = [];
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (message: string) => void errors.push(message),
    };
    const registry = new Registry();
    const pat = sim.addPersonalAccessToken({ scopes: ["admin:org"] });
    const withToken = new WebhookRedelivery({
      github: createGitHubClient({ auth: { type: "token", token: pat }, apiBaseUrl: sim.apiUrl }),
      intervalMs: 50,
      logger,
      registry,
    });
    withToken.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await withToken.stop();
    assert.deepEqual(errors, ["webhook redelivery needs GitHub App auth; stopped"], "said once, then stopped");
    assert.equal(await metric(registry, "octorun_webhook_delivery_looks_total", "error"), 1);
    assert.equal(sim.requests().length, 0);
  });
});
