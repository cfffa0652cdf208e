// GitHub credentials per RunnerSet, against the real apiserver and the GitHub simulator holding two
// Apps and a personal access token: each namespace registers through the Secret it names, one App's
// rate limit leaves the other's registrations alone, and a Secret that is missing, invalid or in
// another namespace is never used.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KubernetesObject, V1Secret } from "@kubernetes/client-node";
import { createGitHubClient } from "@octorun/github";
import { KubeClient, Secrets } from "@octorun/kube";
import { waitFor } from "@octorun/testkit";
import { Registry } from "prom-client";
import { GitHubCredentials, GitHubCredentialsError } from "../src/github-credentials.ts";
import type { RunnerObject } from "../src/types.ts";
import {
  RunnerSets,
  Runners,
  runnerManifest,
  runnerSetManifest,
  startController,
  startWorld,
  type World,
} from "./env.ts";

const A = "team-a";
const B = "team-b";
const C = "team-c";
const JIT_ORG = "actions/generate-runner-jitconfig-for-org";
const JIT_ENTERPRISE = "actions/generate-runner-jitconfig-for-enterprise";

const b64 = (text: string | number) => Buffer.from(String(text)).toString("base64");

describe("GitHub credentials per RunnerSet", { timeout: 240_000 }, () => {
  let world: World;
  let ctl: ReturnType<typeof startController>;
  let one: { appId: number; privateKey: string; installationId: number };
  let two: { appId: number; privateKey: string; installationId: number };
  let pat: string;
  const credentialMetrics = new Registry();
  const client = () => ctl.controller.client;
  const runnersOf = async (namespace: string, set: string) =>
    (await client().list<RunnerObject>(Runners, { namespace, labelSelector: `octorun.github.io/runnerset=${set}` }))
      .items;
  const allIdle = (namespace: string, set: string, count: number) =>
    waitFor(
      `${count} Idle runners of ${namespace}/${set}`,
      async () => {
        const runners = await runnersOf(namespace, set);
        return runners.filter((r) => r.status?.phase === "Idle").length === count ? runners : undefined;
      },
      { timeoutMs: 45_000 },
    );
  const registered = (runner: RunnerObject | undefined) =>
    runner?.status?.conditions?.find((c) => c.type === "runner.octorun.github.io/Registered");
  const secret = (namespace: string, name: string, data: Record<string, string | number>) =>
    client().create<V1Secret>(Secrets, {
      metadata: { name, namespace },
      type: "Opaque",
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
    } as V1Secret);
  const credentialSet = (namespace: string, name: string, url: string, runners: number, secretName: string) => {
    const set = runnerSetManifest(namespace, name, url, runners);
    set.spec.template.spec = { ...set.spec.template.spec, githubSecretRef: { name: secretName } };
    return set;
  };

  before(async () => {
    world = await startWorld({ namespaces: [A, B, C] });
    const { sim } = world;
    sim.addOrganization("one");
    sim.addOrganization("two");
    sim.addOrganization("three", { enterprise: "big" });
    const appOne = sim.createApp();
    one = { ...appOne, installationId: sim.addInstallation({ appId: appOne.appId, account: "one" }) };
    const appTwo = sim.createApp();
    two = { ...appTwo, installationId: sim.addInstallation({ appId: appTwo.appId, account: "two" }) };
    pat = sim.addPersonalAccessToken({ login: "big-admin", scopes: ["manage_runners:enterprise"] });
    ctl = startController(world, {
      // A rate limit that resets within 30 s is waited out in the client, holding the
      // registration's turn meanwhile: as in production (60 s there).
      githubForCredential: (auth, credentialName) =>
        createGitHubClient({
          auth,
          credentialName,
          apiBaseUrl: world.sim.apiUrl,
          enterpriseHosts: [new URL(world.sim.url).host],
          registry: credentialMetrics,
          rateLimit: { serverErrorRetries: 0, maxWaitMs: 30_000 },
        }),
      credentialRefreshMs: 500,
      runnerPlan: {
        onlineCheckDelayMs: 1_500,
        onlineCheckBaseMs: 300,
        registrationBackoffBaseMs: 200,
        registrationBackoffMaxMs: 1_000,
        completedGraceMs: 2_000,
        credentialsRetryMs: 1_000,
      },
    });
    await ctl.start();
    // App one's installation is discovered; App two's is given in its Secret.
    await secret(A, "app-one", { github_app_id: one.appId, github_app_private_key: one.privateKey });
    await secret(B, "app-two", {
      github_app_id: two.appId,
      github_app_private_key: two.privateKey,
      github_app_installation_id: two.installationId,
    });
    await secret(C, "enterprise-pat", { github_token: pat });
  });
  after(async () => {
    await ctl?.stop();
    await world?.stop();
  });

  test("two namespaces register runners through their own Apps, an enterprise RunnerSet through its PAT; never through the controller's credential", async () => {
    world.sim.clearRequests();
    await client().create(RunnerSets, credentialSet(A, "one", `${world.sim.url}/one`, 2, "app-one"));
    await client().create(RunnerSets, credentialSet(B, "two", `${world.sim.url}/two`, 2, "app-two"));
    await client().create(RunnerSets, credentialSet(C, "big", `${world.sim.url}/enterprises/big`, 1, "enterprise-pat"));
    await Promise.all([allIdle(A, "one", 2), allIdle(B, "two", 2), allIdle(C, "big", 1)]);

    const jit = world.sim.requests({ operationId: JIT_ORG });
    const by = (org: string) => new Set(jit.filter((r) => r.path.includes(`/orgs/${org}/`)).map((r) => r.credential));
    assert.deepEqual([...by("one")], [`installation:${one.installationId}`]);
    assert.deepEqual([...by("two")], [`installation:${two.installationId}`]);
    const enterprise = world.sim.requests({ operationId: JIT_ENTERPRISE });
    assert.deepEqual([...new Set(enterprise.map((r) => r.credential))], ["pat:big-admin"]);
    const controllers = world.sim
      .requests()
      .filter((r) => r.credential?.startsWith("pat:") && r.credential !== "pat:big-admin");
    assert.deepEqual(
      controllers.map((r) => r.path),
      [],
      "the controller's own PAT served none of them",
    );
    // Only App one's installation was looked up: App two's Secret names its installation.
    assert.equal(world.sim.requests({ operationId: "apps/get-org-installation" }).length, 1);

    // Metrics name each credential by its Secret's namespace/name, never by its content.
    const text = await credentialMetrics.metrics();
    for (const name of [`${A}/app-one`, `${B}/app-two`, `${C}/enterprise-pat`]) {
      assert.match(text, new RegExp(`octorun_github_requests_total\\{[^}]*credential="${name}"[^}]*\\} \\d+`));
    }
    assert.ok(!text.includes(pat), "no token in the metrics");
  });

  test("one App's rate limit does not slow the other's registrations", async () => {
    // App one's installation has spent its budget until 15 s from now: its next ten registrations
    // wait for the reset, taking every registration turn App one has.
    world.sim.setRateLimit(`installation:${one.installationId}`, { remaining: 0, resetInSeconds: 15 });
    const started = Date.now();
    await client().mergePatch(RunnerSets, A, "one", { spec: { runners: 12 } });
    await waitFor("App one's registrations waiting", () =>
      world.sim.requests({ operationId: JIT_ORG }).some((r) => r.rateLimited === "primary"),
    );
    await client().mergePatch(RunnerSets, B, "two", { spec: { runners: 6 } });
    await allIdle(B, "two", 6);
    const twoTookMs = Date.now() - started;
    const waiting = (await runnersOf(A, "one")).filter((r) => r.status?.phase !== "Idle");
    assert.equal(waiting.length, 10, "App one's new runners still wait for its reset");
    assert.ok(
      twoTookMs < 15_000,
      `App two's runners were Idle ${twoTookMs} ms after the scale-up, before App one's reset`,
    );
    // After its reset, App one's runners register too.
    await allIdle(A, "one", 12);
  });

  test("a cross-namespace reference is refused; a Secret of the same name in another namespace is never used", async () => {
    const crossing = runnerManifest(A, "crossing", `${world.sim.url}/two`) as unknown as KubernetesObject & {
      spec: Record<string, unknown>;
    };
    crossing.spec["githubSecretRef"] = { name: "app-two", namespace: B };
    const strict = await world.cp.kubectl(["apply", "-f", "-"], JSON.stringify(crossing));
    assert.notEqual(strict.code, 0);
    assert.match(strict.stderr, /unknown field "spec\.githubSecretRef\.namespace"/);
    crossing.spec["githubSecretRef"] = { name: `${B}/app-two` };
    const slashed = await world.cp.kubectl(["apply", "-f", "-"], JSON.stringify(crossing));
    assert.notEqual(slashed.code, 0);
    assert.match(slashed.stderr, /spec\.githubSecretRef\.name/);

    // app-two exists in team-b only: a Runner in team-a naming it gets nothing from it.
    world.sim.clearRequests();
    await client().create(
      Runners,
      runnerManifest(A, "elsewhere", `${world.sim.url}/two`, { githubSecretRef: { name: "app-two" } }),
    );
    const condition = await waitFor("CredentialsInvalid", async () => {
      const c = registered(await client().find<RunnerObject>(Runners, A, "elsewhere"));
      return c?.reason === "CredentialsInvalid" ? c : undefined;
    });
    assert.equal(condition.status, "False");
    assert.match(condition.message, /team-a\/app-two: not found in namespace team-a/);
    // Several retries later (1 s apart here) it waits still, never Failed, and GitHub heard nothing.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const runner = await client().get<RunnerObject>(Runners, A, "elsewhere");
    assert.equal(runner.status?.phase, "Pending");
    assert.deepEqual(world.sim.requests({ operationId: JIT_ORG }), []);
    // Deleting it needs no GitHub call and leaves nothing behind.
    await client().delete(Runners, A, "elsewhere");
    await waitFor("elsewhere gone", async () => (await client().find(Runners, A, "elsewhere")) === undefined);
  });

  test("an invalid Secret: a condition naming the key; once fixed, the runner registers", async () => {
    await secret(A, "broken", {
      github_app_id: one.appId,
      github_app_private_key: "-----BEGIN RSA PRIVATE KEY-----\nnope",
    });
    await client().create(
      Runners,
      runnerManifest(A, "fixme", `${world.sim.url}/one`, { githubSecretRef: { name: "broken" } }),
    );
    const condition = await waitFor("CredentialsInvalid", async () => {
      const c = registered(await client().find<RunnerObject>(Runners, A, "fixme"));
      return c?.reason === "CredentialsInvalid" ? c : undefined;
    });
    assert.match(condition.message, /team-a\/broken: github_app_private_key is not a PEM private key/);
    assert.ok(!condition.message.includes("nope"), "no value of the Secret in the condition");

    await client().mergePatch(Secrets, A, "broken", { data: { github_app_private_key: b64(one.privateKey) } });
    await waitFor(
      "fixme Idle",
      async () => (await client().find<RunnerObject>(Runners, A, "fixme"))?.status?.phase === "Idle",
      { timeoutMs: 30_000 },
    );
  });

  test("many Runners naming one missing Secret cost one read of it per refresh interval", async () => {
    let reads = 0;
    class CountingClient extends KubeClient {
      override async find<T extends KubernetesObject>(...args: Parameters<KubeClient["find"]>): Promise<T | undefined> {
        reads++;
        return super.find<T>(...args);
      }
    }
    let now = 0;
    const credentials = new GitHubCredentials({
      client: new CountingClient(world.cp.kubeConfig, { fieldManager: "credentials-test" }),
      fallback: createGitHubClient({ auth: { type: "token", token: "unused" } }),
      clientFor: (auth) => createGitHubClient({ auth }),
      refreshMs: 30_000,
      now: () => now,
    });
    const runners = Array.from({ length: 50 }, (_, i) =>
      runnerManifest(A, `r${i}`, `${world.sim.url}/one`, { githubSecretRef: { name: "missing" } }),
    );
    for (let round = 0; round < 3; round++) {
      const outcomes = await Promise.allSettled(runners.map((r) => credentials.clientFor(r)));
      assert.ok(outcomes.every((o) => o.status === "rejected" && o.reason instanceof GitHubCredentialsError));
      now += 10_000;
    }
    assert.equal(reads, 1, "50 Runners × 3 rounds within 30 s: one read");
    now += 1;
    await credentials.clientFor(runners[0] as RunnerObject).catch(() => undefined);
    assert.equal(reads, 2, "read again after the refresh interval");
    // A Runner that names no Secret uses the controller's credential, with no read.
    await credentials.clientFor(runnerManifest(A, "plain", `${world.sim.url}/one`));
    assert.equal(reads, 2);
  });
});
