// A Runner's whole life against the real apiserver, NATS, github-ingress and the GitHub simulator.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import { Pods, Secrets } from "@octorun/kube";
import { waitFor } from "@octorun/testkit";
import type { RunnerObject } from "../src/types.ts";
import { completeJob, Runners, runnerManifest, startController, startWorld, type World } from "./env.ts";

const NS = "life";
const TOKEN_NS = "token-life";
const SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict";

describe("a Runner's life (JIT)", { timeout: 150_000 }, () => {
  let world: World;
  let ctl: ReturnType<typeof startController>;
  const client = () => ctl.controller.client;
  const get = (name: string) => client().find<RunnerObject>(Runners, NS, name);
  const waitPhase = (name: string, phase: string, timeoutMs = 30_000) =>
    waitFor(
      `${name} ${phase}`,
      async () => {
        const r = await get(name);
        return r?.status?.phase === phase ? r : undefined;
      },
      { timeoutMs },
    );

  before(async () => {
    world = await startWorld({ namespaces: [NS, TOKEN_NS] });
    ctl = startController(world, { namespaces: [NS] });
    await ctl.start();
  });
  after(async () => {
    await ctl?.stop();
    await world?.stop();
  });

  test("registers, runs a job (assigned over NATS → Active), completes, and is cleaned up — with at most two GitHub calls", async () => {
    world.sim.clearRequests();
    await client().create(Runners, runnerManifest(NS, "alpha", world.orgUrl));
    const idle = await waitPhase("alpha", "Idle");
    assert.ok(idle.metadata.finalizers?.includes("runner.octorun.github.io/controller"));
    assert.equal(typeof idle.spec.id, "number");
    assert.match(idle.status?.runnerName ?? "", /^life-alpha-[0-9a-f]{8}$/);
    const online = idle.status?.conditions?.find((c) => c.type === "runner.octorun.github.io/Online");
    assert.equal(online?.status, "True");
    assert.equal(online?.reason, "RunnerOnline");
    const secret = await client().get<V1Secret>(Secrets, NS, "alpha-registration-token");
    assert.ok(secret.data?.jitconfig, "the JIT configuration is in the Secret");
    assert.equal(secret.metadata?.annotations?.["runner.octorun.github.io/id"], String(idle.spec.id));
    assert.equal(secret.metadata?.ownerReferences?.[0]?.uid, idle.metadata.uid);
    const pod = await client().get<V1Pod>(Pods, NS, "alpha");
    assert.equal(pod.metadata?.annotations?.[SAFE_TO_EVICT], "true");
    assert.equal(pod.spec?.securityContext?.runAsNonRoot, true);
    assert.equal(pod.spec?.containers[0]?.volumeMounts?.[0]?.readOnly, true);
    const simRunner = world.sim.runner(idle.spec.id ?? 0);
    assert.equal(simRunner?.name, idle.status?.runnerName);
    assert.equal(simRunner?.status, "online");

    const job = await world.sim.queueJob({
      repository: "acme/app",
      labels: ["self-hosted", "runner=alpha"],
      name: "build",
      workflowName: "CI",
    });
    const active = await waitPhase("alpha", "Active");
    assert.equal(active.status?.job?.id, job.id);
    assert.equal(active.status?.job?.repository, "acme/app");
    assert.equal(active.status?.job?.workflow, "CI");
    assert.ok(active.status?.job?.assignedAt);
    await waitFor(
      "safe-to-evict false",
      async () => (await client().get<V1Pod>(Pods, NS, "alpha")).metadata?.annotations?.[SAFE_TO_EVICT] === "false",
    );

    await completeJob(world, job.id, NS, "alpha");
    const complete = await waitPhase("alpha", "Complete");
    assert.equal(complete.status?.job?.conclusion, "success");
    assert.ok(complete.status?.job?.completedAt);
    // The runner group lookup is made once per organization and cached, so it is not this job's cost.
    const calls = world.sim
      .requests()
      .filter(
        (r) => r.credential?.startsWith("pat:") && r.operationId !== "actions/list-self-hosted-runner-groups-for-org",
      );
    assert.ok(calls.length <= 2, `GitHub calls for one job: ${calls.map((c) => c.operationId).join(", ")}`);

    await client().delete(Runners, NS, "alpha");
    await waitFor("alpha gone", async () => (await get("alpha")) === undefined);
    assert.equal(await client().find(Secrets, NS, "alpha-registration-token"), undefined, "the Secret is deleted");
  });

  test("plain spec.labels are registered with GitHub: a job asking runs-on [self-hosted, linux, gpu] runs on the Runner", async () => {
    await client().create(Runners, runnerManifest(NS, "gpu", world.orgUrl, { labels: ["gpu", "cuda-12"] }));
    const idle = await waitPhase("gpu", "Idle");
    const names = world.sim.runner(idle.spec.id ?? 0)?.labels.map((l) => l.name) ?? [];
    for (const label of ["gpu", "cuda-12", "runner=gpu"]) assert.ok(names.includes(label), `${label} in ${names}`);
    const job = await world.sim.queueJob({ repository: "acme/app", labels: ["self-hosted", "linux", "gpu"] });
    const active = await waitPhase("gpu", "Active");
    assert.equal(active.status?.job?.id, job.id);
    await completeJob(world, job.id, NS, "gpu");
    await waitPhase("gpu", "Complete");
    await client().delete(Runners, NS, "gpu");
  });

  test("deleting an Active runner waits until its job ends", async () => {
    await client().create(Runners, runnerManifest(NS, "busy", world.orgUrl));
    await waitPhase("busy", "Idle");
    const job = await world.sim.queueJob({ repository: "acme/app", labels: ["runner=busy"] });
    await waitPhase("busy", "Active");
    // Let the controller finish its own write to the Pod first (the simulator's Pod update does not retry conflicts).
    await waitFor(
      "safe-to-evict false",
      async () => (await client().get<V1Pod>(Pods, NS, "busy")).metadata?.annotations?.[SAFE_TO_EVICT] === "false",
    );
    await client().delete(Runners, NS, "busy");
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const waiting = await get("busy");
    assert.ok(waiting?.metadata.deletionTimestamp, "marked for deletion");
    assert.equal(
      (await client().get<V1Pod>(Pods, NS, "busy")).status?.phase,
      "Running",
      "the Pod keeps running its job",
    );
    await completeJob(world, job.id, NS, "busy");
    await waitFor("busy gone", async () => (await get("busy")) === undefined, { timeoutMs: 30_000 });
  });

  test("an unused runner's GitHub registration is removed on delete", async () => {
    await client().create(Runners, runnerManifest(NS, "unused", world.orgUrl));
    const idle = await waitPhase("unused", "Idle");
    const id = idle.spec.id ?? 0;
    assert.ok(world.sim.runner(id));
    await client().delete(Runners, NS, "unused");
    await waitFor("unused gone", async () => (await get("unused")) === undefined);
    assert.equal(world.sim.runner(id), undefined, "GitHub no longer knows the runner");
    assert.equal(await client().find(Pods, NS, "unused"), undefined);
  });

  test("a Pod that fails makes the Runner Failed with the reason in a condition", async () => {
    await client().create(Runners, runnerManifest(NS, "crash", world.orgUrl));
    await waitPhase("crash", "Idle");
    await world.cp.finishPod(NS, "crash", "Failed");
    const failed = await waitPhase("crash", "Failed");
    const condition = failed.status?.conditions?.find((c) => c.type === "runner.octorun.github.io/Failed");
    assert.equal(condition?.status, "True");
    assert.equal(condition?.reason, "RunnerPodFailed");
  });

  test("GitHub answering 503 again and again: bounded retries, a condition that says why, then Failed", async () => {
    world.sim.clearRequests();
    const fault = world.sim.injectFault({
      operation: "actions/generate-runner-jitconfig-for-org",
      status: 503,
      times: Infinity,
      body: { message: "Service Unavailable" },
    });
    try {
      await client().create(Runners, runnerManifest(NS, "flaky", world.orgUrl));
      const pending = await waitFor("Registered=False", async () => {
        const r = await get("flaky");
        const c = r?.status?.conditions?.find((x) => x.type === "runner.octorun.github.io/Registered");
        return c?.status === "False" ? c : undefined;
      });
      assert.equal(pending.reason, "GitHubError");
      const failed = await waitPhase("flaky", "Failed", 30_000);
      assert.match(
        failed.status?.conditions?.find((c) => c.type === "runner.octorun.github.io/Failed")?.message ?? "",
        /gave up after 5 attempts/,
      );
      const attempts = world.sim.requests({ operationId: "actions/generate-runner-jitconfig-for-org" }).length;
      assert.equal(attempts, 5, "one request per attempt, no hot loop");
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.equal(
        world.sim.requests({ operationId: "actions/generate-runner-jitconfig-for-org" }).length,
        5,
        "no more attempts once Failed",
      );
    } finally {
      world.sim.clearFaults();
      void fault;
    }
  });

  test("a 403 is not retried: Failed at once", async () => {
    world.sim.clearRequests();
    world.sim.injectFault({
      operation: "actions/generate-runner-jitconfig-for-org",
      status: 403,
      times: Infinity,
      body: { message: "Resource not accessible by integration" },
    });
    try {
      await client().create(Runners, runnerManifest(NS, "denied", world.orgUrl));
      const failed = await waitPhase("denied", "Failed");
      assert.equal(
        failed.status?.conditions?.find((c) => c.type === "runner.octorun.github.io/Failed")?.reason,
        "RegistrationFailed",
      );
      assert.equal(world.sim.requests({ operationId: "actions/generate-runner-jitconfig-for-org" }).length, 1);
    } finally {
      world.sim.clearFaults();
    }
  });

  test("a JIT answer lost after GitHub created the runner: the retry meets 409, replaces the registration, and the Runner comes up", async () => {
    world.sim.clearRequests();
    const jit = "actions/generate-runner-jitconfig-for-org";
    world.sim.injectFault({ operation: jit, status: 502, afterHandler: true, body: { message: "Bad Gateway" } });
    try {
      await client().create(Runners, runnerManifest(NS, "lost-answer", world.orgUrl));
      const idle = await waitPhase("lost-answer", "Idle");
      const statuses = world.sim.requests({ operationId: jit }).map((r) => r.status);
      assert.deepEqual(statuses, [502, 409, 201], "the lost answer, the conflict, the registration again");
      const deletes = world.sim.requests({ operationId: "actions/delete-self-hosted-runner-from-org" });
      assert.equal(deletes.length, 1, "the orphaned registration is removed");
      assert.equal(world.sim.runner(idle.spec.id ?? 0)?.name, idle.status?.runnerName);
    } finally {
      world.sim.clearFaults();
    }
  });

  test("a secondary rate limit (429 with retry-after): RateLimited in the condition, one retry after the wait, then Idle", async () => {
    world.sim.clearRequests();
    const jit = "actions/generate-runner-jitconfig-for-org";
    world.sim.injectFault({
      operation: jit,
      kind: "secondary-rate-limit",
      rateLimitStatus: 429,
      retryAfterSeconds: 2,
      windowSeconds: 2,
    });
    try {
      await client().create(Runners, runnerManifest(NS, "limited", world.orgUrl));
      const registered = await waitFor("Registered=False (RateLimited)", async () => {
        const r = await get("limited");
        const c = r?.status?.conditions?.find((x) => x.type === "runner.octorun.github.io/Registered");
        return c?.status === "False" ? c : undefined;
      });
      assert.equal(registered.reason, "RateLimited");
      await waitPhase("limited", "Idle");
      const attempts = world.sim.requests({ operationId: jit });
      assert.equal(attempts.length, 2, "no request while GitHub asked to wait");
      assert.ok(
        (attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0) >= 2_000,
        `waited ${(attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)} ms of the 2 s retry-after`,
      );
    } finally {
      world.sim.clearFaults();
    }
  });

  test("token mode: a registration token with its expiry in the Secret; Idle once GitHub lists the runner; removed on delete", async () => {
    const token = startController(world, {
      namespaces: [TOKEN_NS],
      identity: "token-controller",
      consumerName: "token-controller",
      runnerPlan: { mode: "token", onlineCheckDelayMs: 200, onlineCheckBaseMs: 200, onlineCheckMaxMs: 500 },
    });
    await token.start();
    try {
      await client().create(Runners, runnerManifest(TOKEN_NS, "tok", world.orgUrl, { labels: ["gpu"] }));
      const secret = await waitFor("token Secret", () =>
        client().find<V1Secret>(Secrets, TOKEN_NS, "tok-registration-token"),
      );
      assert.ok(secret.data?.token, "the registration token is in the Secret");
      assert.ok(
        Date.parse(secret.metadata?.annotations?.["runner.octorun.github.io/token-expires-at"] ?? "") > Date.now(),
      );
      const pod = await waitFor("token Pod", () => client().find<V1Pod>(Pods, TOKEN_NS, "tok"));
      const env = Object.fromEntries((pod.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
      assert.equal(env.RUNNER_TOKEN_FILE, "/var/run/secrets/runner.octorun.github.io/registration-token/token");
      assert.equal(env.RUNNER_LABELS, "gpu,runner=tok", "config.sh registers spec.labels and the key=value labels");
      // The runner in the Pod runs config.sh with RUNNER_NAME: GitHub then lists it, online.
      const named = await waitFor(
        "runner name chosen",
        async () => (await client().find<RunnerObject>(Runners, TOKEN_NS, "tok"))?.status?.runnerName,
      );
      assert.equal(env.RUNNER_NAME, named);
      // The emulated runner in the Pod runs config.sh with its token and RUNNER_NAME; GitHub lists it.
      const listed = await waitFor("GitHub lists the runner", () => world.sim.runners().find((r) => r.name === named), {
        timeoutMs: 30_000,
      });
      const idle = await waitFor("tok Idle", async () => {
        const r = await client().find<RunnerObject>(Runners, TOKEN_NS, "tok");
        return r?.status?.phase === "Idle" ? r : undefined;
      });
      assert.equal(idle.spec.id, listed.id, "spec.id recorded from GitHub");
      assert.ok(
        listed.labels.some((l) => l.name === "gpu"),
        "GitHub lists the runner with its plain label",
      );
      await client().delete(Runners, TOKEN_NS, "tok");
      await waitFor("tok gone", async () => (await client().find(Runners, TOKEN_NS, "tok")) === undefined);
      assert.equal(world.sim.runner(listed.id), undefined, "the registration is removed");
    } finally {
      await token.stop();
    }
  });
});
