import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CoordinationV1Api, CustomObjectsApi, EventsV1Api, type EventsV1Event } from "@kubernetes/client-node";
import { API_GROUP, RUNNER_SET_RESOURCE, type RunnerSet, STORAGE_VERSION } from "@octorun/api";
import { fileCrdSchemas, servedCrdSchemas, waitFor } from "@octorun/testkit";
import { backwardMoves, RunnerRecorder } from "../src/runner-recorder.ts";
import { OctorunSystem, WEBHOOK_SECRET } from "../src/system.ts";

const REPOSITORY = "octo-org/hello-world";

async function scrape(system: OctorunSystem): Promise<string> {
  const port = system.services.get("state-metrics")!.ports.metrics;
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(" ").at(-1));
  }
  return undefined;
}

describe("octorun end to end: the four services as separate processes", () => {
  let system: OctorunSystem;
  let recorder: RunnerRecorder;
  // Ephemeral runners leave GitHub after their job: collect every JIT configuration while they exist.
  const jitConfigs = new Set<string>();
  let collector: NodeJS.Timeout | undefined;
  before(async () => {
    system = await new OctorunSystem({
      kwokNodes: 2,
      controllers: 2,
      env: { controller: { LEASE_DURATION_MS: "4000", RENEW_DEADLINE_MS: "3000", RETRY_PERIOD_MS: "500" } },
    }).start();
    system.github.addRepository(REPOSITORY);
    recorder = await new RunnerRecorder(system.cp.kubeConfig).start();
    collector = setInterval(() => {
      for (const runner of system.github.state.runners.values())
        if (runner.encodedJitConfig) jitConfigs.add(runner.encodedJitConfig);
    }, 100);
  });
  after(async () => {
    clearInterval(collector);
    recorder?.stop();
    await system?.stop();
  });

  test("the CRDs are deploy/crds as users install them: served schemas equal the files, evictionPolicy's enum and default hold", async () => {
    assert.deepEqual(await servedCrdSchemas(system.cp), fileCrdSchemas());
    const explained = await system.cp.kubectl(["explain", "runners.spec.evictionPolicy"]);
    assert.match(explained.stdout, /ENUM:\s+Never\s+IfNotActive/, explained.stderr);
    const runner = (evictionPolicy?: string) =>
      JSON.stringify({
        apiVersion: "octorun.github.io/v1alpha2",
        kind: "Runner",
        metadata: { name: "eviction-policy", namespace: "default" },
        spec: { url: system.runnerUrl, image: { name: "runner" }, ...(evictionPolicy ? { evictionPolicy } : {}) },
      });
    const nonsense = await system.cp.kubectl(["create", "--dry-run=server", "-f", "-"], runner("Sometimes"));
    assert.match(nonsense.stderr, /spec\.evictionPolicy: Unsupported value: "Sometimes"/);
    const plain = await system.cp.kubectl(["create", "--dry-run=server", "-o", "json", "-f", "-"], runner());
    assert.equal(JSON.parse(plain.stdout).spec.evictionPolicy, "IfNotActive", plain.stderr);
  });

  test("a RunnerSet of 3 runs 20 jobs: every runner goes through every phase and is replaced; status, Events and metrics agree", async () => {
    await system.apply(system.runnerSetManifest("e2e", 3));
    // Jobs arrive as a workflow's would: each when an Idle runner is there to take it (a job that
    // waits for a runner is assigned the moment it comes online, before anyone could see it Idle).
    const ids: number[] = [];
    const offered = new Set<string>();
    while (ids.length < 20) {
      const idle = await waitFor(
        "an Idle runner",
        () =>
          [...recorder.histories.values()].find(
            (h) => h.phases.at(-1) === "Idle" && !h.deleted && !h.jobId && !offered.has(h.name),
          ),
        { timeoutMs: 60_000, intervalMs: 50 },
      );
      offered.add(idle.name);
      const job = await system.github.queueJob({
        repository: REPOSITORY,
        labels: ["self-hosted", "runnerset=e2e"],
        durationMs: 300,
        name: `job ${ids.length}`,
      });
      ids.push(job.id);
    }
    await waitFor(
      "20 jobs completed on GitHub",
      () => ids.every((id) => system.github.job(id)?.status === "completed"),
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    const objects = system.cp.kubeConfig.makeApiClient(CustomObjectsApi);
    const ref = {
      group: API_GROUP,
      version: STORAGE_VERSION,
      namespace: "default",
      plural: RUNNER_SET_RESOURCE.plural,
    };
    const runnerSet = await waitFor(
      "the RunnerSet back at 3 idle runners",
      async () => {
        const current = (await objects.getNamespacedCustomObject({ ...ref, name: "e2e" })) as RunnerSet;
        return current.status?.runners === 3 && current.status.idleRunners === 3 && current;
      },
      { timeoutMs: 60_000, intervalMs: 300 },
    );
    assert.equal(runnerSet.status?.activeRunners, 0);
    assert.equal(recorder.watchError, undefined);

    const byJob = recorder.byJob();
    for (const id of ids) {
      const history = byJob.get(id);
      assert.ok(history, `no Runner recorded job ${id}`);
      // GitHub may hand a job to a runner the moment it is online, before the controller saw it
      // Idle: then Pending → Active (reason RunnerBusy) is the truth, and nothing else is allowed.
      assert.ok(
        ["Pending,Idle,Active,Complete", "Pending,Active,Complete"].includes(history.phases.join()),
        `${history.name}: ${history.phases}`,
      );
      await waitFor(`${history.name} replaced (deleted)`, () => recorder.histories.get(history.name)?.deleted);
    }
    for (const history of recorder.histories.values())
      assert.deepEqual(backwardMoves(history.phases), [], history.name);
    assert.ok(recorder.histories.size >= 23, `runners created: ${recorder.histories.size}`);

    // Events agree with what happened: one JobAssigned and one JobCompleted per job on its Runner,
    // and the RunnerSet's "Created N runners." notes add up to the Runners that appeared.
    const eventsApi = system.cp.kubeConfig.makeApiClient(EventsV1Api);
    const occurrences = (events: EventsV1Event[], reason: string, perEvent: (e: EventsV1Event) => number = () => 1) =>
      events.filter((e) => e.reason === reason).reduce((sum, e) => sum + perEvent(e) * (e.series?.count ?? 1), 0);
    await waitFor("Events recorded", async () => {
      const events = (await eventsApi.listNamespacedEvent({ namespace: "default" })).items;
      const created = occurrences(events, "RunnerCreated", (e) =>
        Number(/Created (\d+) runner/.exec(e.note ?? "")?.[1] ?? 0),
      );
      const forJobs = (reason: string) =>
        new Set(events.filter((e) => e.reason === reason).map((e) => /Job (\d+)/.exec(e.note ?? "")?.[1])).size;
      return created === recorder.histories.size && forJobs("JobAssigned") >= 20 && forJobs("JobCompleted") >= 20;
    });

    const metrics = await waitFor("metrics catch up", async () => {
      const text = await scrape(system);
      return sample(text, "octorun_runnerset_status_idle_runners", { runnerset: "e2e" }) === 3 && text;
    });
    assert.equal(sample(metrics, "octorun_runnerset_spec_runners", { runnerset: "e2e" }), 3);
    assert.equal(sample(metrics, "octorun_runnerset_status_runners", { runnerset: "e2e" }), 3);
    assert.equal(sample(metrics, "octorun_runnerset_status_active_runners", { runnerset: "e2e" }), 0);
    assert.ok((sample(metrics, "octorun_jobs_total", { action: "completed" }) ?? 0) >= 20);
    assert.ok((sample(metrics, "octorun_jobs_total", { action: "assigned" }) ?? 0) >= 20);
    system.github.assertNoViolations();
    // Nothing above went through a failure path: no write refused (as by the webhook or RBAC).
    for (const service of ["controller", "controller-1", "state-metrics"])
      assert.deepEqual(system.refusedRequests(service).slice(0, 3), [], `${service} had requests refused`);
  });

  test("two controllers: the standby takes over when the leader dies, and jobs keep flowing", async () => {
    const leases = system.cp.kubeConfig.makeApiClient(CoordinationV1Api);
    const holder = async () =>
      (await leases.readNamespacedLease({ namespace: "octorun-system", name: "octorun-controller" })).spec
        ?.holderIdentity;
    const leader = await waitFor("a leader", holder);
    assert.ok(leader === "controller" || leader === "controller-1", `leader: ${leader}`);
    const standby = leader === "controller" ? "controller-1" : "controller";
    system.kill(leader, "SIGKILL");
    await waitFor("the standby leads", async () => (await holder()) === standby, {
      timeoutMs: 30_000,
      intervalMs: 250,
    });

    const job = await system.github.queueJob({
      repository: REPOSITORY,
      labels: ["self-hosted", "runnerset=e2e"],
      durationMs: 300,
    });
    await waitFor("the job ran under the new leader", () => recorder.byJob().get(job.id)?.phases.includes("Complete"), {
      timeoutMs: 60_000,
      intervalMs: 300,
    });
    assert.deepEqual(recorder.byJob().get(job.id)?.phases.slice(-2), ["Active", "Complete"]);
  });

  test("no token, key, JIT configuration or password appears in any service's log", () => {
    const state = system.github.state;
    const secrets = [
      WEBHOOK_SECRET,
      "ingress-nats-password",
      "controller-nats-password",
      "state-metrics-nats-password",
      ...state.installationTokens.keys(),
      ...jitConfigs,
    ];
    assert.ok(jitConfigs.size >= 20, `JIT configurations collected: ${jitConfigs.size}`);
    for (const name of system.services.keys()) {
      const logs = system.logs(name);
      assert.ok(logs.length > 0, `${name} logged nothing`);
      for (const secret of secrets)
        assert.ok(!logs.includes(secret), `${name} logged a secret (${secret.slice(0, 6)}…)`);
      assert.doesNotMatch(logs, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, `${name} logged a private key`);
    }
  });
});
