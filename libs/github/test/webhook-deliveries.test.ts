import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { freePort, GitHubSimulator } from "@octorun/testkit";
import { Registry } from "prom-client";
import {
  createGitHubClient,
  GitHubConfigError,
  GitHubNotFoundError,
  GitHubServerError,
  GitHubValidationError,
} from "../src/index.ts";
import { nextCursor } from "../src/webhook-deliveries.ts";

const LIST = "apps/list-webhook-deliveries";
const REDELIVER = "apps/redeliver-webhook-delivery";

describe("nextCursor", () => {
  const cases: [string, string | undefined, string | undefined][] = [
    ["no header", undefined, undefined],
    ["no next", '<https://api.github.com/app/hook/deliveries?cursor=v1_1>; rel="prev"', undefined],
    [
      "next among others",
      '<https://api.github.com/app/hook/deliveries?per_page=2&cursor=v1_9>; rel="prev", <https://api.github.com/app/hook/deliveries?per_page=2&cursor=v1_7>; rel="next"',
      "v1_7",
    ],
    ["next without a cursor", '<https://api.github.com/app/hook/deliveries?page=2>; rel="next"', undefined],
    ["not a URL", '<::>; rel="next"', undefined],
  ];
  for (const [name, link, cursor] of cases) test(name, () => assert.equal(nextCursor(link), cursor));
});

describe("App webhook deliveries against the simulator", () => {
  const sim = new GitHubSimulator();
  let app: { appId: number; privateKey: string };
  const appAuth = () => ({ type: "app" as const, appId: app.appId, privateKey: app.privateKey });
  let firstBatch: number[];
  let secondBatchSince: number;

  before(async () => {
    await sim.start();
    // Nothing listens there: every delivery fails to connect, as with an ingress that is down.
    sim.setWebhook({ url: `http://127.0.0.1:${await freePort()}/hook`, secret: "s" });
    sim.addOrganization("acme");
    sim.addRepository("acme/widgets");
    app = sim.createApp();
    sim.addInstallation({ appId: app.appId, account: "acme" });
    for (let i = 0; i < 3; i++) await sim.queueJob({ repository: "acme/widgets", labels: ["linux"] });
    firstBatch = sim.deliveries().map((d) => d.id);
    // `delivered_at` has whole seconds: the second batch starts in a later second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    secondBatchSince = Math.floor(Date.now() / 1000) * 1000;
    for (let i = 0; i < 3; i++) await sim.queueJob({ repository: "acme/widgets", labels: ["linux"] });
  });
  after(async () => {
    await sim.stop();
  });

  test("lists every page with the App JWT, newest first, and counts the requests", async () => {
    sim.clearRequests();
    const registry = new Registry();
    const github = createGitHubClient({ auth: appAuth(), apiBaseUrl: sim.apiUrl, registry });
    const deliveries = await github.listWebhookDeliveries({ since: 0, perPage: 2 });
    assert.deepEqual(
      deliveries.map((d) => d.id),
      sim
        .deliveries()
        .map((d) => d.id)
        .reverse(),
    );
    const first = deliveries.at(-1);
    assert.equal(first?.guid, sim.deliveries()[0]?.deliveryId);
    assert.equal(first?.status, "failed to connect");
    assert.equal(first?.status_code, 0);
    assert.equal(first?.event, "workflow_job");
    assert.equal(first?.action, "queued");
    const requests = sim.requests({ operationId: LIST });
    assert.equal(requests.length, 3, "6 attempts in pages of 2");
    assert.ok(requests.every((r) => r.credential === `app:${app.appId}` && r.status === 200));
    assert.match(
      await registry.metrics(),
      new RegExp(`octorun_github_requests_total\\{operation="${LIST}",status="200",credential="default"\\} 3`),
    );
    sim.assertNoViolations();
  });

  test("stops paging at the first attempt older than since", async () => {
    sim.clearRequests();
    const github = createGitHubClient({ auth: appAuth(), apiBaseUrl: sim.apiUrl });
    const recent = await github.listWebhookDeliveries({ since: new Date(secondBatchSince), perPage: 2 });
    assert.deepEqual(
      recent.map((d) => d.id).sort((a, b) => a - b),
      sim
        .deliveries()
        .map((d) => d.id)
        .filter((id) => !firstBatch.includes(id)),
    );
    assert.equal(sim.requests({ operationId: LIST }).length, 2, "the page with an older attempt is the last one read");
  });

  test("redelivers an attempt (same guid, redelivery: true); an unknown id is GitHubNotFoundError", async () => {
    const github = createGitHubClient({ auth: appAuth(), apiBaseUrl: sim.apiUrl });
    const target = sim.deliveries()[0];
    assert.ok(target);
    await github.redeliverWebhookDelivery(target.id);
    const again = await new Promise<ReturnType<typeof sim.deliveries>[number]>((resolve, reject) => {
      const deadline = Date.now() + 5000;
      const poll = () => {
        const found = sim.deliveries().find((d) => d.redelivery && d.deliveryId === target.deliveryId);
        if (found) resolve(found);
        else if (Date.now() > deadline) reject(new Error("no redelivery attempt"));
        else setTimeout(poll, 20);
      };
      poll();
    });
    assert.deepEqual(again.body, target.body);
    const listed = await github.listWebhookDeliveries({ since: 0 });
    assert.deepEqual(
      listed.filter((d) => d.guid === target.deliveryId).map((d) => d.redelivery),
      [true, false],
    );
    await assert.rejects(github.redeliverWebhookDelivery(987_654), (error: unknown) => {
      assert.ok(error instanceof GitHubNotFoundError);
      assert.equal(error.operation, REDELIVER);
      assert.equal(error.status, 404);
      return true;
    });
    await assert.rejects(github.redeliverWebhookDelivery(0), GitHubValidationError);
    await assert.rejects(github.listWebhookDeliveries({ since: Number.NaN }), GitHubValidationError);
    sim.assertNoViolations();
  });

  test("a personal access token cannot use them: GitHubConfigError before any request", async () => {
    sim.clearRequests();
    const pat = sim.addPersonalAccessToken({ scopes: ["admin:org"] });
    const github = createGitHubClient({ auth: { type: "token", token: pat }, apiBaseUrl: sim.apiUrl });
    await assert.rejects(github.listWebhookDeliveries({ since: 0 }), (error: unknown) => {
      assert.ok(error instanceof GitHubConfigError);
      assert.match(error.message, /needs GitHub App auth/);
      return true;
    });
    await assert.rejects(github.redeliverWebhookDelivery(1), GitHubConfigError);
    assert.equal(sim.requests().length, 0);
  });

  test("an unreachable GitHub is GitHubServerError after the retries", async () => {
    const github = createGitHubClient({
      auth: appAuth(),
      apiBaseUrl: `http://127.0.0.1:${await freePort()}/api/v3`,
      rateLimit: { serverErrorRetries: 1, serverErrorBackoffMs: 10 },
    });
    await assert.rejects(github.listWebhookDeliveries({ since: 0 }), (error: unknown) => {
      assert.ok(error instanceof GitHubServerError);
      assert.equal(error.operation, LIST);
      assert.equal(error.status, 0);
      return true;
    });
  });
});
