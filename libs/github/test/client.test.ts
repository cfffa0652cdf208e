import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { inspect } from "node:util";
import { RunnerUrlError } from "@octorun/api";
import { freePort, GitHubSimulator } from "@octorun/testkit";
import { Registry } from "prom-client";
import {
  createGitHubClient,
  GitHubAuthenticationError,
  GitHubConfigError,
  GitHubConflictError,
  GitHubError,
  GitHubForbiddenError,
  GitHubNotFoundError,
  GitHubRateLimitError,
  GitHubRunnerBusyError,
  GitHubServerError,
  GitHubValidationError,
} from "../src/index.ts";

const JIT = {
  org: "actions/generate-runner-jitconfig-for-org",
  list: "actions/list-self-hosted-runners-for-org",
  del: "actions/delete-self-hosted-runner-from-org",
};

describe("GitHub client against the simulator", () => {
  const sim = new GitHubSimulator();
  let app: { appId: number; privateKey: string };
  let installationId: number;
  const logs: { level: string; message: string; meta?: object }[] = [];
  const logger = {
    debug: (message: string, meta?: object) => logs.push({ level: "debug", message, meta }),
    warn: (message: string, meta?: object) => logs.push({ level: "warn", message, meta }),
  };
  const appAuth = () => ({ type: "app" as const, appId: app.appId, privateKey: app.privateKey });
  /** The simulator is a GitHub Enterprise Server host to the client. */
  const simHosts = () => [new URL(sim.url).host];
  const fast = { serverErrorBackoffMs: 20, secondaryFallbackMs: 500, maxWaitMs: 5000 };

  before(async () => {
    await sim.start();
    sim.addOrganization("acme");
    sim.addRepository("acme/widgets");
    sim.addOrganization("other");
    sim.addRunnerGroup({ kind: "organization", org: "acme" }, "gpu");
    app = sim.createApp();
    installationId = sim.addInstallation({ appId: app.appId, account: "acme" });
  });
  after(async () => {
    await sim.stop();
  });
  beforeEach(() => {
    sim.clearRequests();
    sim.clearFaults();
  });

  test("App auth: the installation is discovered once per owner, one token serves many calls, GHES base URL", async () => {
    const github = createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth(), logger });
    const org = await github.forUrl(`${sim.url}/acme`);
    assert.equal(org.target.apiBaseUrl, sim.apiUrl, "a GHES-style URL gets /api/v3");
    const repo = await github.forUrl(`${sim.url}/acme/widgets`);
    await org.listRunners();
    await repo.listRunners();
    await org.createRegistrationToken();
    assert.equal(await github.installationIdFor(`${sim.url}/acme/widgets`), installationId);
    assert.equal(sim.requests({ operationId: "apps/get-org-installation" }).length, 1);
    assert.equal(
      sim.requests({ operationId: "apps/get-repo-installation" }).length,
      0,
      "the owner's installation is cached",
    );
    assert.equal(sim.requests({ operationId: "apps/create-installation-access-token" }).length, 1);
    const runnerCalls = sim.requests().filter((r) => r.operationId?.startsWith("actions/"));
    assert.ok(runnerCalls.every((r) => r.credential === `installation:${installationId}`));

    // Discovery by repository when the repository is the first URL seen.
    const fresh = createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth() });
    await (await fresh.forUrl(`${sim.url}/acme/widgets`)).listRunners();
    assert.equal(sim.requests({ operationId: "apps/get-repo-installation" }).length, 1);
  });

  test("App auth with a given installation id and a key file; an apiBaseUrl override serves github.com URLs", async () => {
    const keyFile = join(tmpdir(), `octorun-test-key-${process.pid}.pem`);
    writeFileSync(keyFile, app.privateKey, { mode: 0o600 });
    const github = createGitHubClient({
      enterpriseHosts: simHosts(),
      auth: { type: "app", appId: app.appId, privateKeyFile: keyFile, installationId },
      apiBaseUrl: sim.apiUrl,
    });
    const org = await github.forUrl("https://github.com/acme");
    assert.equal(org.target.host, "github.com");
    assert.deepEqual(await org.listRunners(), []);
    assert.equal(sim.requests({ operationId: "apps/get-org-installation" }).length, 0);
  });

  test("a URL whose host is neither github.com nor an allowed GHES host is refused before any request", async () => {
    const notAllowed = (e: unknown) => e instanceof RunnerUrlError && e.hostNotAllowed;
    for (const auth of [
      appAuth(),
      { type: "token" as const, token: sim.addPersonalAccessToken({ scopes: ["admin:org"] }) },
    ]) {
      sim.clearRequests();
      const github = createGitHubClient({ auth }); // github.com only
      await assert.rejects(github.forUrl(`${sim.url}/acme`), notAllowed);
      assert.throws(() => github.parseUrl(`${sim.url}/acme`), notAllowed);
      // An API base override does not make a foreign spec.url acceptable either.
      const overridden = createGitHubClient({ auth, apiBaseUrl: sim.apiUrl });
      await assert.rejects(overridden.forUrl("https://github.example.net/acme"), notAllowed);
      assert.deepEqual(sim.requests(), [], "no request reached the host");
    }
  });

  test("generate-jitconfig: group by name for organizations, 1 for repositories, offline ephemeral runner", async () => {
    const github = createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth() });
    const org = await github.forUrl(`${sim.url}/acme`);
    const jit = await org.generateJitConfig({
      name: "gpu-1",
      labels: ["self-hosted", "gpu"],
      group: "gpu",
      workFolder: "_w",
    });
    assert.equal(jit.runner.name, "gpu-1");
    assert.equal(jit.runner.status, "offline");
    assert.equal(sim.runner(jit.runner.id)?.runnerGroupId, 2);
    assert.equal(sim.runner(jit.runner.id)?.workFolder, "_w");
    assert.equal(sim.runner(jit.runner.id)?.encodedJitConfig, jit.encodedJitConfig);
    await org.generateJitConfig({ name: "gpu-2", labels: ["gpu"], group: "GPU" });
    assert.equal(
      sim.requests({ operationId: "actions/list-self-hosted-runner-groups-for-org" }).length,
      1,
      "group ids are cached",
    );
    const fresh = await createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth() }).forUrl(`${sim.url}/acme`);
    await Promise.all(
      [3, 4, 5].map((i) => fresh.generateJitConfig({ name: `gpu-${i}`, labels: ["gpu"], group: "gpu" })),
    );
    assert.equal(
      sim.requests({ operationId: "actions/list-self-hosted-runner-groups-for-org" }).length,
      2,
      "runners registered at once share one lookup",
    );
    const defaultJit = await org.generateJitConfig({ name: "plain-1", labels: ["self-hosted"] });
    assert.equal(sim.runner(defaultJit.runner.id)?.runnerGroupId, 1);
    assert.equal(
      sim.requests({ operationId: "actions/list-self-hosted-runner-groups-for-org" }).length,
      2,
      "the Default group (id 1) needs no lookup",
    );
    await assert.rejects(org.generateJitConfig({ name: "x", labels: ["a"], group: "missing" }), GitHubNotFoundError);
    await assert.rejects(org.generateJitConfig({ name: "x", labels: [] }), /1 to 100 labels/);

    const repo = await github.forUrl(`${sim.url}/acme/widgets`);
    const repoJit = await repo.generateJitConfig({ name: "repo-1", labels: ["self-hosted"] });
    assert.equal(sim.runner(repoJit.runner.id)?.runnerGroupId, 1);
    assert.equal(sim.runner(repoJit.runner.id)?.scope.kind, "repository");
    await assert.rejects(repo.generateJitConfig({ name: "repo-2", labels: ["x"], group: "gpu" }), GitHubNotFoundError);
    sim.assertNoViolations();
  });

  test("tokens, get, find by name, delete, and list across pages", async () => {
    const github = createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth() });
    const repo = await github.forUrl(`${sim.url}/acme/widgets`);
    const registration = await repo.createRegistrationToken();
    assert.ok(Date.parse(registration.expiresAt) > Date.now() + 3500_000);
    assert.ok((await repo.createRemoveToken()).token.length > 10);
    const scope = { kind: "repository" as const, owner: "acme", repo: "widgets" };
    for (let i = 0; i < 230; i++) sim.addRunner(scope, { name: `bulk-${i}` });
    sim.clearRequests();
    const all = await repo.listRunners();
    assert.equal(all.filter((r) => r.name.startsWith("bulk-")).length, 230);
    assert.equal(new Set(all.map((r) => r.id)).size, all.length);
    assert.equal(
      sim.requests({ operationId: "actions/list-self-hosted-runners-for-repo" }).length,
      3,
      "three pages of 100",
    );

    const found = await repo.findRunnerByName("bulk-117");
    assert.equal(found?.name, "bulk-117");
    assert.equal(await repo.findRunnerByName("nobody"), undefined);
    assert.equal((await repo.getRunner(found?.id ?? 0))?.name, "bulk-117");
    assert.equal(await repo.getRunner(999_999), undefined);
    assert.equal(await repo.deleteRunner(found?.id ?? 0), true);
    assert.equal(sim.runner(found?.id ?? 0), undefined);
    assert.equal(await repo.deleteRunner(found?.id ?? 0), false, "already gone");
    const busy = sim.addRunner(scope, { name: "busy", busy: true, status: "online" });
    await assert.rejects(
      repo.deleteRunner(busy.id),
      (e: unknown) => e instanceof GitHubRunnerBusyError && e.status === 422,
    );
    assert.ok(sim.runner(busy.id));
    sim.assertNoViolations();
  });

  test("409 after a lost answer: the runner GitHub created is found by name, deleted while idle, and registered again", async () => {
    const github = createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth(), rateLimit: fast });
    const org = await github.forUrl(`${sim.url}/acme`);
    // GitHub creates the runner but the answer is a 502; the client retries the 5xx and gets 409.
    sim.injectFault({ operation: JIT.org, status: 502, afterHandler: true });
    const jit = await org.generateJitConfig({ name: "lost-answer", labels: ["self-hosted"] });
    assert.deepEqual(
      sim
        .requests()
        .filter((r) => r.operationId?.startsWith("actions/") && !r.operationId.includes("runner-groups"))
        .map((r) => `${r.operationId} ${r.status}`),
      [`${JIT.org} 502`, `${JIT.org} 409`, `${JIT.list} 200`, `${JIT.del} 204`, `${JIT.org} 201`],
    );
    const named = sim.runners().filter((r) => r.name === "lost-answer");
    assert.deepEqual(
      named.map((r) => r.id),
      [jit.runner.id],
      "exactly one runner holds the name: the one whose config we have",
    );
    assert.equal(named[0]?.encodedJitConfig, jit.encodedJitConfig);
  });

  test("409 for a busy runner of that name is reported, not retried", async () => {
    const github = createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth() });
    const org = await github.forUrl(`${sim.url}/acme`);
    const holder = sim.addRunner(
      { kind: "organization", org: "acme" },
      { name: "taken", busy: true, status: "online" },
    );
    await assert.rejects(
      org.generateJitConfig({ name: "taken", labels: ["self-hosted"] }),
      (e: unknown) =>
        e instanceof GitHubConflictError &&
        e.existingRunner?.id === holder.id &&
        e.existingRunner.busy &&
        e.status === 409,
    );
    assert.equal(sim.requests({ operationId: JIT.org }).length, 1);
    assert.equal(sim.requests({ operationId: JIT.del }).length, 0);
    assert.ok(sim.runner(holder.id), "the busy runner is left alone");
  });

  test("writes of one installation go one at a time; reads run alongside", async () => {
    const github = createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth() });
    const org = await github.forUrl(`${sim.url}/acme`);
    await org.runnerGroupId("Default");
    sim.clearRequests();
    sim.injectFault({ operation: JIT.org, delayMs: 150, times: 3 });
    sim.injectFault({ operation: JIT.list, delayMs: 150, times: 2 });
    await Promise.all([
      ...[1, 2, 3].map((i) => org.generateJitConfig({ name: `serial-${i}`, labels: ["self-hosted"] })),
      org.listRunners(),
      org.listRunners(),
    ]);
    const writes = sim.requests({ operationId: JIT.org });
    assert.equal(writes.length, 3);
    for (let i = 1; i < writes.length; i++) {
      const previous = writes[i - 1] as { at: number; durationMs: number };
      assert.ok(
        (writes[i]?.at ?? 0) >= previous.at + previous.durationMs,
        "a write started before the previous one ended",
      );
    }
    const reads = sim.requests({ operationId: JIT.list });
    assert.ok(Math.abs((reads[0]?.at ?? 0) - (reads[1]?.at ?? 0)) < 100, "reads are not serialized");
  });

  test("writesAtOnce lets that many writes of one installation overlap, and no more", async () => {
    const github = createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth(), writesAtOnce: 2 });
    const org = await github.forUrl(`${sim.url}/acme`);
    await org.runnerGroupId("Default");
    sim.clearRequests();
    sim.injectFault({ operation: JIT.org, delayMs: 150, times: 4 });
    await Promise.all([1, 2, 3, 4].map((i) => org.generateJitConfig({ name: `pair-${i}`, labels: ["self-hosted"] })));
    const writes = sim.requests({ operationId: JIT.org }).map((w) => ({ from: w.at, to: w.at + w.durationMs }));
    assert.equal(writes.length, 4);
    const overlapping = (at: number) => writes.filter((w) => w.from <= at && at < w.to).length;
    assert.equal(Math.max(...writes.map((w) => overlapping(w.from))), 2, "two at a time, never three");
  });

  test("requests are paced to the points per endpoint per minute: a write costs 5", async () => {
    let clock = Date.now();
    const slept: number[] = [];
    const github = createGitHubClient({
      enterpriseHosts: simHosts(),
      auth: appAuth(),
      endpointPointsPerMinute: 12,
      now: () => clock,
      sleep: async (ms) => {
        slept.push(ms);
        clock += ms;
      },
    });
    const org = await github.forUrl(`${sim.url}/acme`);
    await org.runnerGroupId("Default");
    sim.clearRequests();
    for (const i of [1, 2, 3]) await org.generateJitConfig({ name: `paced-${i}`, labels: ["self-hosted"] });
    assert.deepEqual(slept, [15_000], "two writes fit in 12 points; the third waits 15 s for the 3 it lacks");
    assert.equal(sim.requests({ operationId: JIT.org }).length, 3);
  });

  test("typed errors: forbidden with the permission GitHub named, not found, authentication, server error after bounded retries", async () => {
    const weakId = sim.addInstallation({ appId: app.appId, account: "other", permissions: { metadata: "read" } });
    const weak = createGitHubClient({ enterpriseHosts: simHosts(), auth: { ...appAuth(), installationId: weakId } });
    await assert.rejects(
      (await weak.forUrl(`${sim.url}/other`)).generateJitConfig({ name: "w", labels: ["a"], group: "Default" }),
      (e: unknown) =>
        e instanceof GitHubForbiddenError &&
        e.requiredPermissions === "organization_self_hosted_runners=write" &&
        e.status === 403,
    );
    const github = createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth(), rateLimit: fast });
    await assert.rejects(
      github.forUrl(`${sim.url}/nobody`),
      (e: unknown) => e instanceof GitHubNotFoundError && e.operation === "apps/get-org-installation",
    );
    const pat = createGitHubClient({
      enterpriseHosts: simHosts(),
      auth: { type: "token", token: "ghp_not_a_real_token_000000000000000000" },
    });
    await assert.rejects((await pat.forUrl(`${sim.url}/acme`)).listRunners(), GitHubAuthenticationError);

    const org = await github.forUrl(`${sim.url}/acme`);
    sim.clearRequests();
    sim.injectFault({ operation: JIT.list, status: 503, times: 10 });
    await assert.rejects(org.listRunners(), (e: unknown) => e instanceof GitHubServerError && e.status === 503);
    assert.equal(sim.requests({ operationId: JIT.list }).length, 4, "one try and three retries");
    sim.clearFaults();
    sim.clearRequests();
    sim.injectFault({ operation: JIT.list, status: 502, times: 2 });
    await org.listRunners();
    assert.deepEqual(
      sim.requests({ operationId: JIT.list }).map((r) => r.status),
      [502, 502, 200],
    );

    sim.injectFault({
      operation: JIT.org,
      status: 422,
      body: { message: "Validation Failed", documentation_url: "https://docs.github.com/rest" },
    });
    await assert.rejects(
      org.generateJitConfig({ name: "invalid", labels: ["self-hosted"] }),
      (e: unknown) => e instanceof GitHubValidationError && e.githubMessage === "Validation Failed",
    );

    // Nothing listening: no response at all is a server error with status 0, after the same bounded retries.
    const unreachable = createGitHubClient({
      enterpriseHosts: simHosts(),
      auth: { type: "token", token: "ghp_unused" },
      apiBaseUrl: `http://127.0.0.1:${await freePort()}`,
      rateLimit: fast,
    });
    await assert.rejects(
      (await unreachable.forUrl("https://github.com/acme")).listRunners(),
      (e: unknown) => e instanceof GitHubServerError && e.status === 0,
    );
    sim.assertNoViolations();
  });

  test("enterprise scope: PAT auth works, App auth is refused up front, a PAT without the scope is told which", async () => {
    sim.addEnterprise("megacorp");
    const token = sim.addPersonalAccessToken({ scopes: ["manage_runners:enterprise"] });
    const github = createGitHubClient({ enterpriseHosts: simHosts(), auth: { type: "token", token } });
    const enterprise = await github.forUrl(`${sim.url}/enterprises/megacorp`);
    const jit = await enterprise.generateJitConfig({ name: "ent-1", labels: ["self-hosted"] });
    assert.equal(sim.runner(jit.runner.id)?.scope.kind, "enterprise");
    assert.equal((await enterprise.listRunners()).length, 1);
    assert.equal(await enterprise.deleteRunner(jit.runner.id), true);
    await assert.rejects(
      createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth() }).forUrl(`${sim.url}/enterprises/megacorp`),
      GitHubConfigError,
    );
    const weakToken = sim.addPersonalAccessToken({ login: "weak", scopes: ["repo"] });
    const weak = await createGitHubClient({
      enterpriseHosts: simHosts(),
      auth: { type: "token", token: weakToken },
    }).forUrl(`${sim.url}/enterprises/megacorp`);
    await assert.rejects(
      weak.listRunners(),
      (e: unknown) => e instanceof GitHubForbiddenError && e.requiredPermissions === "manage_runners:enterprise",
    );
    sim.assertNoViolations();
  });

  test("bad configuration is a clear GitHubConfigError without the key", () => {
    assert.throws(
      () =>
        createGitHubClient({
          enterpriseHosts: simHosts(),
          auth: {
            type: "app",
            appId: 1,
            privateKey: "-----BEGIN RSA PRIVATE KEY-----\nnot-a-key\n-----END RSA PRIVATE KEY-----",
          },
        }),
      (e: unknown) => e instanceof GitHubConfigError && !e.message.includes("not-a-key"),
    );
    assert.throws(
      () =>
        createGitHubClient({
          enterpriseHosts: simHosts(),
          auth: { type: "app", appId: 1, privateKeyFile: "/nonexistent/key.pem" },
        }),
      (e: unknown) => e instanceof GitHubConfigError && e.message.includes("/nonexistent/key.pem"),
    );
    assert.throws(
      () => createGitHubClient({ enterpriseHosts: simHosts(), auth: { type: "token", token: "" } }),
      GitHubConfigError,
    );
  });

  test("primary rate limit: the client waits for the reset instead of hammering, and every client of the installation waits", async () => {
    const github = createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth(), rateLimit: fast, logger });
    const org = await github.forUrl(`${sim.url}/acme`);
    sim.addRepository("acme/empty");
    const repo = await github.forUrl(`${sim.url}/acme/empty`);
    await org.listRunners(); // token minted, budget known
    sim.setRateLimit(`installation:${installationId}`, { remaining: 1, resetInSeconds: 1 });
    const resetAt = sim.rateLimit(`installation:${installationId}`).reset * 1000;
    sim.clearRequests();
    await org.listRunners(); // spends the last request: remaining 0
    const started = Date.now();
    await Promise.all([org.listRunners(), repo.listRunners()]);
    const log = sim.requests();
    assert.equal(log.length, 3, `no request was refused: the client waited (${JSON.stringify(log)})`);
    assert.ok(log.every((r) => r.status === 200));
    for (const r of log.slice(1)) assert.ok(r.at >= resetAt, `sent ${resetAt - r.at} ms before the reset`);
    assert.ok(Date.now() - started >= 900);
    assert.ok(logs.some((l) => l.message.includes("rate limit") && (l.meta as { kind?: string }).kind === "primary"));
  });

  test("primary rate limit refused by GitHub: one refusal, then a wait until x-ratelimit-reset", async () => {
    const github = createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth(), rateLimit: fast });
    const org = await github.forUrl(`${sim.url}/acme`);
    await org.listRunners();
    sim.clearRequests();
    sim.injectFault({ operation: JIT.list, kind: "primary-rate-limit", resetAfterSeconds: 1 });
    await org.listRunners();
    const log = sim.requests({ operationId: JIT.list });
    assert.deepEqual(
      log.map((r) => r.status),
      [403, 200],
    );
    assert.ok((log[1]?.at ?? 0) - (log[0]?.at ?? 0) >= 900, "waited for the reset");
  });

  test("secondary rate limit: retry-after is obeyed; without it the fallback wait applies", async () => {
    const github = createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth(), rateLimit: fast });
    const org = await github.forUrl(`${sim.url}/acme`);
    await org.listRunners();
    sim.clearRequests();
    sim.injectFault({ operation: JIT.list, kind: "secondary-rate-limit", retryAfterSeconds: 1, rateLimitStatus: 429 });
    await org.listRunners();
    let log = sim.requests({ operationId: JIT.list });
    assert.deepEqual(
      log.map((r) => r.status),
      [429, 200],
    );
    assert.ok((log[1]?.at ?? 0) - (log[0]?.at ?? 0) >= 950, "waited retry-after");

    sim.clearRequests();
    sim.injectFault({ operation: JIT.list, kind: "secondary-rate-limit", windowSeconds: 0.3 });
    await org.listRunners();
    log = sim.requests({ operationId: JIT.list });
    assert.deepEqual(
      log.map((r) => r.status),
      [403, 200],
    );
    assert.ok((log[1]?.at ?? 0) - (log[0]?.at ?? 0) >= 450, "waited the fallback (500 ms in this test)");
  });

  test("a rate limit longer than the client will block is a GitHubRateLimitError with the time to retry", async () => {
    const github = createGitHubClient({
      enterpriseHosts: simHosts(),
      auth: appAuth(),
      rateLimit: { ...fast, maxWaitMs: 1000 },
    });
    const org = await github.forUrl(`${sim.url}/acme`);
    await org.listRunners();
    sim.setRateLimit(`installation:${installationId}`, { remaining: 0, resetInSeconds: 600 });
    sim.clearRequests();
    const before = Date.now();
    await assert.rejects(org.listRunners(), (e: unknown) => {
      assert.ok(e instanceof GitHubRateLimitError);
      assert.equal(e.kind, "primary");
      assert.ok(e.retryAfterMs(before) > 590_000);
      return true;
    });
    // The budget now knows: the next call does not even ask.
    await assert.rejects(org.listRunners(), GitHubRateLimitError);
    assert.equal(sim.requests({ operationId: JIT.list }).length, 1);
    sim.setRateLimit(`installation:${installationId}`, { remaining: 5000, resetInSeconds: 3600 });
  });

  test("metrics by operation and status, remaining budget, durations, each labelled with the credential's name", async () => {
    const registry = new Registry();
    const github = createGitHubClient({
      enterpriseHosts: simHosts(),
      auth: appAuth(),
      registry,
      rateLimit: fast,
      credentialName: "ci/acme-app",
    });
    const org = await github.forUrl(`${sim.url}/acme`);
    sim.injectFault({ operation: JIT.list, status: 502 });
    await org.listRunners();
    const text = await registry.metrics();
    const c = 'credential="ci/acme-app"';
    assert.match(
      text,
      new RegExp(
        `octorun_github_requests_total\\{operation="actions/list-self-hosted-runners-for-org",status="502",${c}\\} 1`,
      ),
    );
    assert.match(
      text,
      new RegExp(
        `octorun_github_requests_total\\{operation="actions/list-self-hosted-runners-for-org",status="200",${c}\\} 1`,
      ),
    );
    assert.match(
      text,
      new RegExp(`octorun_github_requests_total\\{operation="apps/get-org-installation",status="200",${c}\\} 1`),
    );
    const remaining = sim.rateLimit(`installation:${installationId}`);
    assert.match(
      text,
      new RegExp(
        `octorun_github_rate_limit_remaining\\{budget="installation:${installationId}",${c}\\} ${remaining.limit - remaining.used}`,
      ),
    );
    assert.match(
      text,
      new RegExp(
        `octorun_github_request_duration_seconds_count\\{operation="actions/list-self-hosted-runners-for-org",${c}\\} 2`,
      ),
    );
    assert.ok(!text.includes(app.privateKey.slice(40, 80)), "no part of the key in the metrics");
    // A second client on the same registry shares the metrics instead of failing to register.
    createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth(), registry });
  });

  test("no token, key or JIT configuration in logs or errors", async () => {
    logs.length = 0;
    const token = sim.addPersonalAccessToken({ login: "leaky", scopes: ["repo"] });
    const github = createGitHubClient({
      enterpriseHosts: simHosts(),
      auth: { type: "token", token },
      logger,
      rateLimit: fast,
    });
    const errors: unknown[] = [];
    const repo = await github.forUrl(`${sim.url}/acme/widgets`);
    const jit = await repo.generateJitConfig({ name: "secret-check", labels: ["x"] });
    sim.injectFault({ operation: "actions/list-self-hosted-runners-for-repo", status: 500, times: 10 });
    await repo.listRunners().catch((e: unknown) => errors.push(e));
    sim.clearFaults();
    await repo.generateJitConfig({ name: "secret-check", labels: ["x"] }).catch((e: unknown) => errors.push(e));
    const appGithub = createGitHubClient({ enterpriseHosts: simHosts(), auth: appAuth(), logger, rateLimit: fast });
    await (await appGithub.forUrl(`${sim.url}/acme`)).deleteRunner(424242);
    await appGithub.forUrl(`${sim.url}/nobody`).catch((e: unknown) => errors.push(e));
    assert.ok(errors.length >= 2);
    assert.ok(errors.every((e) => e instanceof GitHubError));
    const installationTokens = [...sim.state.installationTokens.keys()];
    const secrets = [token, jit.encodedJitConfig, app.privateKey.split("\n")[1] ?? "", ...installationTokens];
    const haystack = [inspect(errors, { depth: 10 }), JSON.stringify(errors), inspect(logs, { depth: 10 })].join("\n");
    for (const secret of secrets) assert.ok(!haystack.includes(secret), "a secret leaked into an error or a log line");
  });
});
