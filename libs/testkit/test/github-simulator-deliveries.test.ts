// The simulator's App webhook delivery log: every attempt recorded with GitHub's fields (a refused
// connection, a timeout or a non-2xx is a failed delivery), `GET /app/hook/deliveries` with cursor
// pagination, and `POST /app/hook/deliveries/{id}/attempts` resending the same body and guid.
import assert from "node:assert/strict";
import { createSign } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { GitHubSimulator } from "../src/github-simulator/index.ts";
import { waitFor } from "../src/wait.ts";
import { signWebhookBody } from "../src/webhooks.ts";

function appJwt(appId: number, privateKey: string): string {
  const now = Math.floor(Date.now() / 1000);
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const body = `${enc({ alg: "RS256", typ: "JWT" })}.${enc({ iss: appId, iat: now - 30, exp: now + 540 })}`;
  return `${body}.${createSign("RSA-SHA256").update(body).sign(privateKey, "base64url")}`;
}

/** A webhook receiver whose answer the test chooses: a status, or hanging past the timeout. */
class Receiver {
  answer: number | "hang" = 202;
  readonly received: { headers: IncomingMessage["headers"]; body: Buffer }[] = [];
  private server: Server | undefined;
  port = 0;

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks) });
        if (this.answer === "hang") return; // never answers
        res.writeHead(this.answer).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }
}

describe("GitHub simulator: App webhook deliveries", () => {
  const secret = "deliveries-secret";
  const receiver = new Receiver();
  const sim = new GitHubSimulator({ webhookTimeoutMs: 300, onViolation: () => undefined });
  let app: { appId: number; privateKey: string };
  let otherApp: { appId: number; privateKey: string };
  let installationToken: string;

  const call = async (method: string, path: string, auth: string) => {
    const response = await fetch(`${sim.apiUrl}${path}`, {
      method,
      headers: { accept: "application/vnd.github+json", authorization: auth },
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  const jwt = () => `bearer ${appJwt(app.appId, app.privateKey)}`;

  before(async () => {
    await receiver.start();
    await sim.start();
    sim.setWebhook({ url: receiver.url, secret });
    sim.addOrganization("acme");
    sim.addRepository("acme/widgets");
    app = sim.createApp();
    otherApp = sim.createApp();
    const installationId = sim.addInstallation({ appId: app.appId, account: "acme" });
    installationToken = (await call("POST", `/app/installations/${installationId}/access_tokens`, jwt())).body.token;
  });
  after(async () => {
    await sim.stop();
    await receiver.stop();
  });

  test("each attempt is recorded as GitHub records it: OK, a non-2xx, a refused connection, a timeout", async () => {
    const first = sim.deliveries().length;
    receiver.answer = 202;
    await sim.queueJob({ repository: "acme/widgets", labels: ["linux"] });
    receiver.answer = 503;
    await sim.queueJob({ repository: "acme/widgets", labels: ["linux"] });
    receiver.answer = "hang";
    await sim.queueJob({ repository: "acme/widgets", labels: ["linux"] });
    const port = receiver.port;
    await receiver.stop();
    await sim.queueJob({ repository: "acme/widgets", labels: ["linux"] });
    await receiver.start(port);
    receiver.answer = 202;

    const attempts = sim.deliveries().slice(first);
    assert.deepEqual(
      attempts.map((d) => [d.status, d.statusText, d.delivered, d.redelivery]),
      [
        [202, "OK", true, false],
        [503, "Invalid HTTP Response: 503", false, false],
        [0, "timed out", false, false],
        [0, "failed to connect", false, false],
      ],
    );
    assert.equal(new Set(attempts.map((d) => d.id)).size, 4, "every attempt has its own id");
    assert.equal(new Set(attempts.map((d) => d.deliveryId)).size, 4, "four events, four guids");
    for (const d of attempts) {
      assert.equal(d.event, "workflow_job");
      assert.equal(d.action, "queued");
      assert.equal(d.repositoryId, sim.state.repository("acme", "widgets")?.id);
      assert.ok(d.installationId);
    }
  });

  test("GET /app/hook/deliveries: the App's attempts newest first, cursor pages, status filter, schema-valid", async () => {
    const all = sim.deliveries();
    const listed = await call("GET", "/app/hook/deliveries?per_page=100", jwt());
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.map((d: { id: number }) => d.id),
      all.map((d) => d.id).reverse(),
    );
    const timedOut = listed.body.find((d: { status: string }) => d.status === "timed out");
    assert.equal(timedOut.status_code, 0);
    assert.equal(timedOut.redelivery, false);
    assert.match(timedOut.delivered_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    // Cursor pagination through the Link header, as GitHub does it.
    const seen: number[] = [];
    let path: string | undefined = "/app/hook/deliveries?per_page=3";
    for (let pages = 0; path && pages < 10; pages++) {
      const page = await call("GET", path, jwt());
      assert.equal(page.status, 200);
      assert.ok(page.body.length <= 3);
      seen.push(...page.body.map((d: { id: number }) => d.id));
      const next = /<([^>]+)>; rel="next"/.exec(page.headers.get("link") ?? "")?.[1];
      assert.ok(next === undefined || new URL(next).searchParams.get("cursor")?.startsWith("v1_"));
      path = next === undefined ? undefined : next.slice(sim.apiUrl.length);
    }
    assert.deepEqual(seen, all.map((d) => d.id).reverse(), "pages cover every attempt once, in order");

    const failures = await call("GET", "/app/hook/deliveries?status=failure", jwt());
    assert.deepEqual(
      failures.body.map((d: { status_code: number }) => d.status_code),
      [503],
      "failure is the 400-599 range, as documented",
    );

    assert.deepEqual(
      (await call("GET", "/app/hook/deliveries", `bearer ${appJwt(otherApp.appId, otherApp.privateKey)}`)).body,
      [],
    );
    assert.equal((await call("GET", "/app/hook/deliveries", `token ${installationToken}`)).status, 401, "JWT only");
    assert.equal((await call("GET", "/app/hook/deliveries?cursor=bogus", jwt())).status, 400);
    assert.equal((await call("GET", "/app/hook/deliveries?since=1", jwt())).status, 422, "no such parameter");
    assert.equal(sim.violations.filter((v) => v.kind === "response").length, 0, "responses match GitHub's schema");
  });

  test("POST /app/hook/deliveries/{id}/attempts: 202, then the same body and guid again, redelivery: true", async () => {
    const failed = sim.deliveries().find((d) => d.statusText === "failed to connect");
    assert.ok(failed);
    const before = receiver.received.length;
    const answer = await call("POST", `/app/hook/deliveries/${failed.id}/attempts`, jwt());
    assert.equal(answer.status, 202);
    assert.deepEqual(answer.body, {});
    const redelivered = await waitFor(
      "the redelivery attempt",
      () => sim.deliveries().find((d) => d.redelivery && d.deliveryId === failed.deliveryId),
      { timeoutMs: 5000, intervalMs: 20 },
    );
    assert.equal(redelivered.statusText, "OK");
    assert.ok(redelivered.id > failed.id);
    assert.deepEqual(redelivered.body, failed.body);
    const got = receiver.received.slice(before);
    assert.equal(got.length, 1);
    assert.equal(got[0]?.headers["x-github-delivery"], failed.deliveryId, "a redelivery keeps X-GitHub-Delivery");
    assert.equal(got[0]?.headers["x-hub-signature-256"], signWebhookBody(secret, failed.body));
    assert.deepEqual(got[0]?.body, failed.body);

    const listed = await call("GET", "/app/hook/deliveries", jwt());
    const sameGuid = listed.body.filter((d: { guid: string }) => d.guid === failed.deliveryId);
    assert.deepEqual(
      sameGuid.map((d: { redelivery: boolean; status: string }) => [d.redelivery, d.status]),
      [
        [true, "OK"],
        [false, "failed to connect"],
      ],
    );

    assert.equal((await call("POST", "/app/hook/deliveries/999999/attempts", jwt())).status, 404);
    const foreign = `bearer ${appJwt(otherApp.appId, otherApp.privateKey)}`;
    assert.equal((await call("POST", `/app/hook/deliveries/${failed.id}/attempts`, foreign)).status, 404);
    assert.equal(sim.violations.length, 1, "only the deliberate unknown ?since= was a violation");
  });
});
