import assert from "node:assert/strict";
import { createSign } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import {
  extractSubset,
  OPENAPI_VERSION,
  packagePresent,
  readCommittedSubset,
} from "../scripts/extract-github-openapi.ts";
import { GitHubSimulator } from "../src/github-simulator/index.ts";
import { signWebhookBody, validateWebhookPayload } from "../src/webhooks.ts";

function appJwt(appId: number, privateKey: string, claims: { iat?: number; exp?: number } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const body = `${enc({ alg: "RS256", typ: "JWT" })}.${enc({ iss: appId, iat: claims.iat ?? now - 30, exp: claims.exp ?? now + 540 })}`;
  return `${body}.${createSign("RSA-SHA256").update(body).sign(privateKey, "base64url")}`;
}

describe("GitHub simulator", () => {
  const sim = new GitHubSimulator({ onViolation: () => undefined });
  let app: { appId: number; privateKey: string };
  let installationId: number;
  let token: string;

  const call = async (method: string, path: string, auth: string | undefined, body?: unknown) => {
    const response = await fetch(`${sim.apiUrl}${path}`, {
      method,
      headers: {
        accept: "application/vnd.github+json",
        ...(auth ? { authorization: auth } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };

  before(async () => {
    await sim.start();
    sim.addOrganization("acme");
    sim.addRepository("acme/widgets");
    app = sim.createApp();
    installationId = sim.addInstallation({ appId: app.appId, account: "acme" });
    const created = await call(
      "POST",
      `/app/installations/${installationId}/access_tokens`,
      `bearer ${appJwt(app.appId, app.privateKey)}`,
    );
    assert.equal(created.status, 201);
    token = created.body.token;
  });
  after(async () => {
    await sim.stop();
  });

  test("the committed OpenAPI subset matches @octokit/openapi when the package is in the cache", (t) => {
    const committed = readCommittedSubset();
    assert.equal(committed.package, "@octokit/openapi");
    assert.equal(committed.version, OPENAPI_VERSION);
    if (!packagePresent()) {
      t.skip(
        `@octokit/openapi@${OPENAPI_VERSION} is not in ~/.cache/octorun/openapi; run libs/testkit/scripts/extract-github-openapi.ts to fetch it`,
      );
      return;
    }
    assert.ok(
      isDeepStrictEqual(committed, extractSubset()),
      "openapi-subset.json differs from the package: re-run the extraction script",
    );
  });

  test("App JWTs are checked: signature, iat and exp", async () => {
    const good = await call("GET", "/app", `bearer ${appJwt(app.appId, app.privateKey)}`);
    assert.equal(good.status, 200);
    assert.equal(good.body.id, app.appId);
    const other = sim.createApp();
    const forged = await call("GET", "/app", `bearer ${appJwt(app.appId, other.privateKey)}`);
    assert.equal(forged.status, 401);
    const now = Math.floor(Date.now() / 1000);
    const expired = await call(
      "GET",
      "/app",
      `bearer ${appJwt(app.appId, app.privateKey, { iat: now - 700, exp: now - 100 })}`,
    );
    assert.equal(expired.status, 401);
    assert.match(expired.body.message, /Expiration time/);
    const future = await call(
      "GET",
      "/app",
      `bearer ${appJwt(app.appId, app.privateKey, { iat: now + 300, exp: now + 600 })}`,
    );
    assert.equal(future.status, 401);
    const tooLong = await call(
      "GET",
      "/app",
      `bearer ${appJwt(app.appId, app.privateKey, { iat: now, exp: now + 3600 })}`,
    );
    assert.equal(tooLong.status, 401);
    const noAuth = await call("GET", "/app", undefined);
    assert.equal(noAuth.status, 401);
  });

  test("installation discovery by organization and repository, and tokens that expire in an hour", async () => {
    const jwt = `bearer ${appJwt(app.appId, app.privateKey)}`;
    assert.equal((await call("GET", "/orgs/acme/installation", jwt)).body.id, installationId);
    assert.equal((await call("GET", "/repos/acme/widgets/installation", jwt)).body.id, installationId);
    assert.equal((await call("GET", "/orgs/nobody/installation", jwt)).status, 404);
    // An installation token is not an App JWT.
    assert.equal((await call("GET", "/orgs/acme/installation", `token ${token}`)).status, 401);
    const minted = await call("POST", `/app/installations/${installationId}/access_tokens`, jwt);
    const expiresIn = Date.parse(minted.body.expires_at) - Date.now();
    assert.ok(expiresIn > 3590_000 && expiresIn <= 3600_000, `expires in ${expiresIn} ms`);
    assert.match(minted.body.token, /^ghs_/);
  });

  test("generate-jitconfig creates an offline ephemeral runner; the same name again is 409", async () => {
    const created = await call("POST", "/orgs/acme/actions/runners/generate-jitconfig", `token ${token}`, {
      name: "jit-1",
      runner_group_id: 1,
      labels: ["self-hosted", "linux", "gpu"],
    });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get("x-accepted-github-permissions"), "organization_self_hosted_runners=write");
    assert.equal(created.body.runner.status, "offline");
    assert.equal(created.body.runner.busy, false);
    assert.equal(typeof created.body.encoded_jit_config, "string");
    const files = JSON.parse(Buffer.from(created.body.encoded_jit_config, "base64").toString());
    assert.equal(JSON.parse(Buffer.from(files[".runner"], "base64").toString()).AgentId, created.body.runner.id);
    const again = await call("POST", "/orgs/acme/actions/runners/generate-jitconfig", `token ${token}`, {
      name: "jit-1",
      runner_group_id: 1,
      labels: ["self-hosted"],
    });
    assert.equal(again.status, 409);
    assert.match(again.body.message, /Already exists - A runner with the name jit-1 already exists/);
    const unknownGroup = await call("POST", "/orgs/acme/actions/runners/generate-jitconfig", `token ${token}`, {
      name: "jit-2",
      runner_group_id: 99,
      labels: ["self-hosted"],
    });
    assert.equal(unknownGroup.status, 404);
    const got = await call("GET", `/orgs/acme/actions/runners/${created.body.runner.id}`, `token ${token}`);
    assert.equal(got.body.name, "jit-1");
    const byName = await call("GET", "/orgs/acme/actions/runners?name=jit-1", `token ${token}`);
    assert.deepEqual(
      byName.body.runners.map((r: { id: number }) => r.id),
      [created.body.runner.id],
    );
    assert.equal(
      (await call("DELETE", `/orgs/acme/actions/runners/${created.body.runner.id}`, `token ${token}`)).status,
      204,
    );
    assert.equal(
      (await call("GET", `/orgs/acme/actions/runners/${created.body.runner.id}`, `token ${token}`)).status,
      404,
    );
    sim.assertNoViolations();
  });

  test("lists paginate with GitHub's Link header", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await call("POST", "/repos/acme/widgets/actions/runners/generate-jitconfig", `token ${token}`, {
        name: `page-${i}`,
        runner_group_id: 1,
        labels: ["self-hosted"],
      });
      assert.equal(r.status, 201);
    }
    const first = await call("GET", "/repos/acme/widgets/actions/runners?per_page=2", `token ${token}`);
    assert.equal(first.body.total_count, 5);
    assert.equal(first.body.runners.length, 2);
    const link = first.headers.get("link") ?? "";
    assert.match(link, /rel="next"/);
    assert.match(link, /page=3[^>]*>; rel="last"/);
    const next = /<([^>]+)>; rel="next"/.exec(link)?.[1] ?? "";
    assert.ok(next.startsWith(sim.apiUrl));
    const second = await fetch(next, { headers: { authorization: `token ${token}` } });
    const body = (await second.json()) as { runners: { name: string }[] };
    assert.deepEqual(
      body.runners.map((r) => r.name),
      ["page-2", "page-3"],
    );
    const notANumber = await call("GET", "/repos/acme/widgets/actions/runners?per_page=many", `token ${token}`);
    assert.equal(notANumber.status, 422, "a per_page that is no integer breaks GitHub's description");
    assert.equal(sim.takeViolations()[0]?.kind, "request");
  });

  test("deleting a busy runner is 422", async () => {
    const r = await call("POST", "/orgs/acme/actions/runners/generate-jitconfig", `token ${token}`, {
      name: "busy-1",
      runner_group_id: 1,
      labels: ["self-hosted"],
    });
    const runner = sim.runner(r.body.runner.id);
    assert.ok(runner);
    runner.busy = true;
    const denied = await call("DELETE", `/orgs/acme/actions/runners/${runner.id}`, `token ${token}`);
    assert.equal(denied.status, 422);
    assert.match(denied.body.message, /is still running a job/);
    runner.busy = false;
    assert.equal((await call("DELETE", `/orgs/acme/actions/runners/${runner.id}`, `token ${token}`)).status, 204);
    sim.assertNoViolations();
  });

  test("a request body that breaks GitHub's description is refused and recorded", async () => {
    const r = await call("POST", "/orgs/acme/actions/runners/generate-jitconfig", `token ${token}`, {
      name: "no-labels",
      runner_group_id: 1,
      labels: [],
    });
    assert.equal(r.status, 422);
    const [violation, ...rest] = sim.takeViolations();
    assert.equal(rest.length, 0);
    assert.equal(violation?.kind, "request");
    assert.match(violation?.errors.join() ?? "", /\/labels must NOT have fewer than 1 items/);
  });

  test("a deliberately wrong response is caught by the OpenAPI check", async () => {
    const r = await call("POST", "/orgs/acme/actions/runners/generate-jitconfig", `token ${token}`, {
      name: "wrong-1",
      runner_group_id: 1,
      labels: ["self-hosted"],
    });
    sim.injectFault({
      operation: "actions/get-self-hosted-runner-for-org",
      status: 200,
      body: { id: r.body.runner.id, name: "wrong-1", os: "linux", status: "online", labels: [] }, // no `busy`
    });
    const wrong = await call("GET", `/orgs/acme/actions/runners/${r.body.runner.id}`, `token ${token}`);
    assert.equal(wrong.status, 500);
    assert.match(wrong.body.message, /violates GitHub's OpenAPI description/);
    const [violation] = sim.takeViolations();
    assert.equal(violation?.kind, "response");
    assert.equal(violation?.operationId, "actions/get-self-hosted-runner-for-org");
    assert.match(violation?.errors.join() ?? "", /must have required property 'busy'/);
  });

  test("permissions: a missing App permission is 403 naming it; enterprise routes refuse installation tokens", async () => {
    const weak = sim.addInstallation({
      appId: app.appId,
      account: "weak",
      accountType: "Organization",
      permissions: { metadata: "read" },
    });
    sim.addOrganization("weak");
    const minted = await call(
      "POST",
      `/app/installations/${weak}/access_tokens`,
      `bearer ${appJwt(app.appId, app.privateKey)}`,
    );
    const denied = await call("POST", "/orgs/weak/actions/runners/registration-token", `token ${minted.body.token}`);
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.get("x-accepted-github-permissions"), "organization_self_hosted_runners=write");
    sim.addEnterprise("megacorp");
    const enterprise = await call("GET", "/enterprises/megacorp/actions/runners", `token ${token}`);
    assert.equal(enterprise.status, 403);
    const pat = sim.addPersonalAccessToken({ scopes: ["manage_runners:enterprise"] });
    const listed = await call("GET", "/enterprises/megacorp/actions/runners", `token ${pat}`);
    assert.equal(listed.status, 200);
    assert.equal(listed.headers.get("x-accepted-oauth-scopes"), "manage_runners:enterprise");
    const groups = await call("GET", "/enterprises/megacorp/actions/runner-groups", `token ${pat}`);
    assert.equal(groups.body.runner_groups[0].name, "Default");
    const otherOrg = await call("GET", "/orgs/weak/actions/runners", `token ${token}`);
    assert.equal(otherOrg.status, 404, "an installation sees only its own account");
    sim.assertNoViolations();
  });

  test("primary rate limit: GitHub's exact 403 until the reset, and /rate_limit is free", async () => {
    const credential = `installation:${installationId}`;
    sim.setRateLimit(credential, { remaining: 1, resetInSeconds: 1 });
    const last = await call("GET", "/orgs/acme/actions/runners", `token ${token}`);
    assert.equal(last.status, 200);
    assert.equal(last.headers.get("x-ratelimit-remaining"), "0");
    const limited = await call("GET", "/orgs/acme/actions/runners", `token ${token}`);
    assert.equal(limited.status, 403);
    assert.equal(limited.headers.get("x-ratelimit-remaining"), "0");
    assert.match(limited.body.message, new RegExp(`^API rate limit exceeded for installation ID ${installationId}\\.`));
    const overview = await call("GET", "/rate_limit", `token ${token}`);
    assert.equal(overview.status, 200);
    assert.equal(overview.body.resources.core.remaining, 0);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    assert.equal((await call("GET", "/orgs/acme/actions/runners", `token ${token}`)).status, 200);
    sim.assertNoViolations();
  });

  test("secondary rate limit fault: GitHub's message and retry-after, for the whole penalty window", async () => {
    sim.injectFault({
      operation: "actions/list-self-hosted-runners-for-org",
      kind: "secondary-rate-limit",
      retryAfterSeconds: 1,
      rateLimitStatus: 429,
    });
    const first = await call("GET", "/orgs/acme/actions/runners", `token ${token}`);
    assert.equal(first.status, 429);
    assert.equal(first.headers.get("retry-after"), "1");
    assert.match(first.body.message, /You have exceeded a secondary rate limit/);
    const during = await call("GET", "/orgs/acme/actions/runners/1", `token ${token}`);
    assert.equal(during.status, 429, "every request of the credential is refused during the window");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await call("GET", "/orgs/acme/actions/runners", `token ${token}`)).status, 200);
    const log = sim.requests({ credential: `installation:${installationId}` });
    assert.equal(log.filter((e) => e.rateLimited === "secondary").length, 2);
    sim.assertNoViolations();
  });

  test("status and latency faults per operation", async () => {
    sim.injectFault({ operation: "actions/create-registration-token-for-org", status: 502, times: 2 });
    sim.injectFault({ operation: "actions/create-remove-token-for-org", delayMs: 300 });
    assert.equal((await call("POST", "/orgs/acme/actions/runners/registration-token", `token ${token}`)).status, 502);
    assert.equal((await call("POST", "/orgs/acme/actions/runners/registration-token", `token ${token}`)).status, 502);
    const ok = await call("POST", "/orgs/acme/actions/runners/registration-token", `token ${token}`);
    assert.equal(ok.status, 201);
    const started = Date.now();
    assert.equal((await call("POST", "/orgs/acme/actions/runners/remove-token", `token ${token}`)).status, 201);
    assert.ok(Date.now() - started >= 290);
    sim.assertNoViolations();
  });

  test("a queued job goes to a matching online runner, with signed, schema-valid workflow_job webhooks", async () => {
    const received: { headers: IncomingMessage["headers"]; body: string }[] = [];
    const receiver: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        res.end("ok");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    try {
      sim.setWebhook({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`, secret: "s3cret" });
      const jit = await call("POST", "/orgs/acme/actions/runners/generate-jitconfig", `token ${token}`, {
        name: "job-runner",
        runner_group_id: 1,
        labels: ["self-hosted", "linux", "k8s"],
      });
      const job = await sim.queueJob({
        repository: "acme/widgets",
        labels: ["self-hosted", "k8s"],
        conclusion: "failure",
      });
      assert.equal(sim.job(job.id)?.status, "queued", "an offline runner takes no job");
      sim.setRunnerStatus(jit.body.runner.id, "online");
      assert.equal(sim.job(job.id)?.status, "in_progress");
      assert.equal(sim.runner(jit.body.runner.id)?.busy, true);
      await sim.completeJob(job.id, "failure");
      assert.equal(sim.runner(jit.body.runner.id), undefined, "the ephemeral runner is gone after its job");
      assert.deepEqual(
        received.map((r) => JSON.parse(r.body).action),
        ["queued", "in_progress", "completed"],
      );
      for (const r of received) {
        assert.equal(r.headers["x-hub-signature-256"], signWebhookBody("s3cret", r.body));
        assert.equal(r.headers["x-github-event"], "workflow_job");
        const payload = JSON.parse(r.body);
        assert.deepEqual(validateWebhookPayload("workflow_job", payload), { valid: true, errors: [] });
        assert.equal(payload.workflow_job.id, job.id);
        assert.equal(payload.repository.full_name, "acme/widgets");
        assert.equal(payload.installation.id, installationId);
        assert.equal(payload.organization.login, "acme");
      }
      const [, inProgress, completed] = received.map((r) => JSON.parse(r.body).workflow_job);
      assert.equal(inProgress.runner_id, jit.body.runner.id);
      assert.equal(inProgress.runner_name, "job-runner");
      assert.equal(inProgress.runner_group_name, "Default");
      assert.equal(completed.conclusion, "failure");
      sim.assertNoViolations();
    } finally {
      sim.setWebhook(undefined);
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  test("the HTTP control API queues jobs, injects faults and reads the request log", async () => {
    const fault = await fetch(`${sim.url}/_simulator/faults`, {
      method: "POST",
      body: JSON.stringify({ operation: "rate-limit/get", status: 503 }),
    });
    assert.equal(fault.status, 201);
    assert.equal((await call("GET", "/rate_limit", `token ${token}`)).status, 503);
    const log = (await (await fetch(`${sim.url}/_simulator/requests?operationId=rate-limit/get`)).json()) as {
      status: number;
    }[];
    assert.equal(log.at(-1)?.status, 503);
    const queued = await fetch(`${sim.url}/_simulator/jobs`, {
      method: "POST",
      body: JSON.stringify({ repository: "acme/widgets", labels: ["nothing-has-this"] }),
    });
    assert.equal(queued.status, 201);
    const jobs = (await (await fetch(`${sim.url}/_simulator/jobs`)).json()) as { labels: string[]; status: string }[];
    assert.equal(jobs.find((j) => j.labels[0] === "nothing-has-this")?.status, "queued");
    sim.assertNoViolations();
  });
});
