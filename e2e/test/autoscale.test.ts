// Autoscaling end to end: kube-controller-manager's real HorizontalPodAutoscaler scales a
// RunnerSet on the demand that state-metrics serves on custom.metrics.k8s.io, through the
// apiserver's aggregation layer (front-proxy certificate, SubjectAccessReviews), with the GitHub
// simulator queueing jobs through github-ingress and the four services as separate processes.
// The aggregator reaches state-metrics through a network namespace this run makes (root only).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { API_GROUP, RUNNER_SET_RESOURCE, type RunnerSet, STORAGE_VERSION } from "@octorun/api";
import { netnsUnavailable, waitFor } from "@octorun/testkit";
import { RunnerRecorder } from "../src/runner-recorder.ts";
import { OctorunSystem } from "../src/system.ts";

const SYNC_SECONDS = 2;
const REPOSITORY = "octo-org/app";
const FOREIGN_REPOSITORY = "other-org/app";
const SET = "auto";
const DEMAND = `/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/runnersets.octorun.github.io/${SET}/octorun_runnerset_runner_demand`;

/** An HPA on demand, as deploy/samples/hpa.yaml, with short windows for a test. */
function hpaManifest(minReplicas: number): string {
  return `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: ${SET}
spec:
  scaleTargetRef: { apiVersion: octorun.github.io/v1alpha2, kind: RunnerSet, name: ${SET} }
  minReplicas: ${minReplicas}
  maxReplicas: 8
  metrics:
    - type: Object
      object:
        describedObject: { apiVersion: octorun.github.io/v1alpha2, kind: RunnerSet, name: ${SET} }
        metric: { name: octorun_runnerset_runner_demand }
        target: { type: AverageValue, averageValue: "1" }
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      policies: [{ type: Pods, value: 10, periodSeconds: 15 }]
    scaleDown:
      stabilizationWindowSeconds: 4
      policies: [{ type: Percent, value: 100, periodSeconds: 1 }]
`;
}

describe("autoscaling end to end: a real HPA scales a RunnerSet on job demand", {
  skip: netnsUnavailable() ?? false,
}, () => {
  let system: OctorunSystem;
  let recorder: RunnerRecorder;
  let objects: CustomObjectsApi;
  const ref = { group: API_GROUP, version: STORAGE_VERSION, namespace: "default", plural: RUNNER_SET_RESOURCE.plural };
  const runnerSet = async () => (await objects.getNamespacedCustomObject({ ...ref, name: SET })) as RunnerSet;
  const demand = async () => {
    const raw = await system.cp.kubectl(["get", "--raw", DEMAND]);
    assert.equal(raw.code, 0, raw.stderr);
    return (JSON.parse(raw.stdout) as { items: { value: string }[] }).items[0]?.value;
  };
  // The largest spec.runners seen, sampled while the test runs.
  let peak = 0;
  let sampler: NodeJS.Timeout | undefined;

  before(async () => {
    system = await new OctorunSystem({
      kwokNodes: 2,
      autoscaling: { hpaSyncPeriodSeconds: SYNC_SECONDS, scaleToZero: true },
    }).start();
    system.github.addRepository(REPOSITORY);
    system.github.addOrganization("other-org");
    system.github.addRepository(FOREIGN_REPOSITORY);
    recorder = await new RunnerRecorder(system.cp.kubeConfig).start();
    objects = system.cp.kubeConfig.makeApiClient(CustomObjectsApi);
  });
  after(async () => {
    clearInterval(sampler);
    recorder?.stop();
    await system?.stop();
  });

  test("jobs it cannot take do not grow it; 6 it can take grow it to 6 or more and all run; done, it shrinks to 1 and never deletes an Active runner", async () => {
    await system.apply(system.runnerSetManifest(SET, 1) + `---${hpaManifest(1)}`);
    sampler = setInterval(() => {
      runnerSet()
        .then((set) => {
          peak = Math.max(peak, set.spec?.runners ?? 0);
        })
        .catch(() => {});
    }, 200);
    await waitFor("one Idle runner", async () => (await runnerSet()).status?.idleRunners === 1, { timeoutMs: 60_000 });
    await waitFor("the HPA reads demand through the aggregation layer", async () => {
      const hpa = await system.cp.kubectl(["get", "hpa", SET, "-o", "json"]);
      const status = JSON.parse(hpa.stdout).status as {
        currentMetrics?: { object?: { current?: { averageValue?: string } } }[];
      };
      // An AverageValue target reports the demand per runner.
      return status.currentMetrics?.[0]?.object?.current?.averageValue === "0";
    }).catch(async (error: Error) => {
      const described = await system.cp.kubectl(["describe", "hpa", SET]);
      throw new Error(`${error.message}\n${described.stdout}`);
    });

    // Jobs for other runners (labels) and of another organization (scope): nothing to do.
    const foreign = [
      ...(await Promise.all(
        [1, 2, 3].map(() =>
          system.github.queueJob({ repository: REPOSITORY, labels: ["self-hosted", "runnerset=gpu"] }),
        ),
      )),
      ...(await Promise.all(
        [1, 2].map(() =>
          system.github.queueJob({ repository: FOREIGN_REPOSITORY, labels: ["self-hosted", `runnerset=${SET}`] }),
        ),
      )),
    ];
    await waitFor(
      "state-metrics counts the 5 waiting jobs",
      async () => {
        const port = system.services.get("state-metrics")!.ports.metrics;
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return /^octorun_jobs_total\{action="queued"\} 5$/m.test(text);
      },
      { timeoutMs: 20_000 },
    );
    // Three HPA syncs later it still asks for one runner.
    await new Promise((resolve) => setTimeout(resolve, 3 * SYNC_SECONDS * 1000));
    assert.equal(await demand(), "0");
    assert.equal((await runnerSet()).spec?.runners, 1, "jobs it cannot take grew the RunnerSet");
    assert.ok(foreign.every((job) => system.github.job(job.id)?.status === "queued"));

    // Six it can take, running until the test completes them.
    const jobs = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        system.github.queueJob({
          repository: REPOSITORY,
          labels: ["self-hosted", `runnerset=${SET}`],
          name: `job ${i}`,
        }),
      ),
    );
    await waitFor(
      "the HPA grows the RunnerSet to 6 or more",
      async () => ((await runnerSet()).spec?.runners ?? 0) >= 6,
      {
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );
    await waitFor("every job runs", () => jobs.every((job) => system.github.job(job.id)?.status === "in_progress"), {
      timeoutMs: 90_000,
      intervalMs: 250,
    });
    assert.equal(await demand(), "6", "demand: one per Active runner");
    for (const job of jobs) await system.github.completeJob(job.id);

    await waitFor(
      "back to 1 runner after the scale-down stabilization",
      async () => {
        const set = await runnerSet();
        return set.spec?.runners === 1 && set.status?.runners === 1 && set;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    assert.ok(peak >= 6 && peak <= 8, `peak ${peak} runners`);
    const byJob = recorder.byJob();
    for (const job of jobs) assert.ok(byJob.get(job.id), `no Runner ran job ${job.id}`);
    const activeDeleted = [...recorder.histories.values()].filter((h) => h.deletionRequestedInPhase === "Active");
    assert.deepEqual(
      activeDeleted.map((h) => h.name),
      [],
      "a Runner was deleted while Active",
    );
    assert.equal(recorder.watchError, undefined);
  });

  test("with HPAScaleToZero and minReplicas 0 it scales to 0 when idle, and back up when a job it can take is queued", async () => {
    const patched = await system.cp.kubectl(["patch", "hpa", SET, "--type=merge", "-p", '{"spec":{"minReplicas":0}}']);
    assert.equal(patched.code, 0, patched.stderr);
    await waitFor(
      "0 runners",
      async () => {
        const set = await runnerSet();
        return set.spec?.runners === 0 && set.status?.runners === 0;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const job = await system.github.queueJob({ repository: REPOSITORY, labels: ["self-hosted", `runnerset=${SET}`] });
    await waitFor("the job runs", () => system.github.job(job.id)?.status === "in_progress", {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    assert.ok(((await runnerSet()).spec?.runners ?? 0) >= 1);
    await system.github.completeJob(job.id);
    system.github.assertNoViolations();
    for (const service of ["controller", "state-metrics"])
      assert.deepEqual(system.refusedRequests(service).slice(0, 3), [], `${service} had requests refused`);
  });
});
