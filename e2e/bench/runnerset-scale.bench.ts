// `npm run bench runnerset-scale`: a RunnerSet goes from 0 to 500 Idle runners (kwok Pods, the
// GitHub simulator, the controller as its own process). In the same run, the API floor: a tight
// loop creating the same Runners, Secrets and Pods and writing the same status directly, with no
// controller and no GitHub, at the same write concurrency.
import type { V1Pod } from "@kubernetes/client-node";
import { JIT_CONFIG_SECRET_KEY, RUNNER_ID_ANNOTATION, RUNNER_NAME_LABEL, RUNNER_OS_ANNOTATION } from "@octorun/api";
import { KubeClient, ownerReference, Pods, patchStatus, Secrets } from "@octorun/kube";
import { defineBenchmark, waitFor } from "@octorun/testkit";
import { buildRunnerPod, runnerSecretName } from "../../services/controller/src/runner-pod.ts";
import type { RunnerObject, RunnerSetObject } from "../../services/controller/src/types.ts";
import {
  RunnerSets,
  Runners,
  runnerManifest,
  runnerSetManifest,
  startControllerProcess,
  startWorld,
  stopProcess,
} from "../../services/controller/test/env.ts";
import { profileApiserver } from "./apiserver-profile.ts";
import { apiserverRequests, meanLatencies, requestsPer } from "./apiserver-requests.ts";
import { commandOf, measureCpu } from "./cpu-time.ts";
import { garbageCollectorWatchesRunners } from "./garbage-collector.ts";
import { readHistogram } from "./histogram-reading.ts";
import { watchRunnerStages } from "./runner-stages.ts";

const SCALE_NS = "scale";
const FLOOR_NS = "floor";
const CONCURRENCY = 32;

export default defineBenchmark({
  name: "runnerset-scale",
  description: "RunnerSet 0 → N Idle runners through the controller, against the API floor",
  async run(report, { short }) {
    const n = short ? 50 : 500;
    const world = await startWorld({ namespaces: [SCALE_NS, FLOOR_NS], kwokNodes: Math.ceil(n / 100) + 1 });
    try {
      const client = new KubeClient(world.cp.kubeConfig, { fieldManager: "bench" });
      const waitedFrom = performance.now();
      await garbageCollectorWatchesRunners(client, FLOOR_NS);
      report.note(
        `waited ${((performance.now() - waitedFrom) / 1000).toFixed(1)} s for the garbage collector to watch Runners before measuring`,
      );
      const controlPlane = Object.fromEntries(world.cp.pids().map((pid) => [commandOf(pid), pid]));
      const floorBefore = await apiserverRequests(world.cp);
      const floorCpu = measureCpu({ "bench (floor client)": process.pid, ...controlPlane });
      // The same watches look on in both phases.
      const floorStages = await watchRunnerStages(client, FLOOR_NS);
      const floorProfile = profileApiserver(world.cp, "runnerset-scale-floor", 8);
      const floorS = await floor(client, n, world.orgUrl);
      await floorProfile;
      report.note(`CPU during the floor (share of one core): ${floorCpu()}`);
      report.note(`floor stages per runner: ${await floorStages.summary(n)}`);
      await floorStages.stop();
      const floorAfter = await apiserverRequests(world.cp);
      const controller = await startControllerProcess(world, {
        WATCH_NAMESPACES: SCALE_NS,
        RUNNER_WORKERS: String(CONCURRENCY),
      });
      try {
        const cpu = measureCpu({
          controller: controller.child.pid,
          "bench (simulator, polling)": process.pid,
          ...controlPlane,
        });
        // A scale-up in a running system: the controller has led for a few seconds (right after it
        // starts, it asks the apiserver for each new Runner's Secret before registering it).
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        const stages = await watchRunnerStages(client, SCALE_NS);
        const scaleProfile = profileApiserver(world.cp, "runnerset-scale-controller", 16);
        const started = performance.now();
        const startedAt = Date.now();
        await client.create(RunnerSets, runnerSetManifest(SCALE_NS, "scale", world.orgUrl, n));
        // When the RunnerSet counted all its Runners, and a quarter, half, … of them Idle: where the time goes.
        const milestones = new Map<string, number>();
        const mark = (label: string, reached: boolean) => {
          if (reached && !milestones.has(label)) milestones.set(label, (performance.now() - started) / 1000);
        };
        await waitFor(
          `${n} Idle runners`,
          async () => {
            const status = (await client.get<RunnerSetObject>(RunnerSets, SCALE_NS, "scale")).status;
            mark(`${n} Runners`, status?.runners === n);
            for (const share of [0.25, 0.5, 0.75])
              mark(`${share * 100}% Idle`, (status?.idleRunners ?? 0) >= share * n);
            return status?.idleRunners === n;
          },
          { timeoutMs: 20 * 60_000, intervalMs: 250 },
        );
        const scaleS = (performance.now() - started) / 1000;
        report.note(
          `scale-up timeline: ${[...milestones].map(([label, at]) => `${label} at ${at.toFixed(1)} s`).join(", ")}, 100% Idle at ${scaleS.toFixed(1)} s`,
        );
        report.note(`CPU during the scale-up (share of one core): ${cpu()}`);
        report.note(`scale-up stages per runner: ${await stages.summary(n)}`);
        await stages.stop();
        await scaleProfile;
        const scaleAfter = await apiserverRequests(world.cp);
        report.figure(short ? `scale_0_to_${n}_s` : "scale_0_to_500_s", scaleS, "s");
        report.figure(short ? `floor_0_to_${n}_s` : "floor_0_to_500_s", floorS, "s");
        report.figure("ratio_to_floor", scaleS / floorS, "x", "<= 1.5");
        const requests = world.sim.requests();
        const calls = requests.length;
        // Registrations go to GitHub one at a time per installation (GitHub's guidance for
        // content-creating requests): their summed time is a floor of its own for the scale-up.
        const jit = requests.filter((r) => r.operationId?.startsWith("actions/generate-runner-jitconfig"));
        const jitSeconds = jit.reduce((sum, r) => sum + r.durationMs, 0) / 1000;
        const since = (at: number) => ((at - startedAt) / 1000).toFixed(1);
        const jitTimes = jit.map((r) => r.at).sort((a, b) => a - b);
        report.note(
          `${jit.length} JIT registrations, sent one at a time from ${since(jitTimes[0] ?? startedAt)} s to ${since(jitTimes.at(-1) ?? startedAt)} s: ${jitSeconds.toFixed(1)} s of GitHub (simulator) time in all, ${((jitSeconds * 1000) / Math.max(1, jit.length)).toFixed(1)} ms each`,
        );
        const controllerMetrics = await (await fetch(`http://127.0.0.1:${controller.healthPort}/metrics`)).text();
        const jitRoundTrip = readHistogram(
          controllerMetrics,
          "octorun_github_request_duration_seconds",
          'operation="actions/generate-runner-jitconfig-for-org"',
        );
        if (jitRoundTrip) {
          report.note(
            `JIT registration round trip as the controller saw it: mean ${jitRoundTrip.meanMs.toFixed(1)} ms, p99 ≤ ${jitRoundTrip.quantileBoundMs(0.99)} ms (${((jitRoundTrip.meanMs * jitRoundTrip.count) / 1000).toFixed(1)} s in all, one at a time)`,
          );
        }
        const describe = (name: string, labels: string) => {
          const h = readHistogram(controllerMetrics, name, labels);
          return h
            ? `${h.count} × mean ${h.meanMs.toFixed(1)} ms (p99 ≤ ${h.quantileBoundMs(0.99)} ms)`
            : "not reported";
        };
        report.note(
          `the controller's Runner queue: waits ${describe("workqueue_queue_duration_seconds", 'name="runner"')}, reconciles ${describe("workqueue_work_duration_seconds", 'name="runner"')}; online checks ${describe("octorun_github_request_duration_seconds", 'operation="actions/get-self-hosted-runner-for-org"')}`,
        );
        report.note(`apiserver requests per runner, floor: ${requestsPer(floorBefore, floorAfter, n)}`);
        report.note(`apiserver requests per runner, controller: ${requestsPer(floorAfter, scaleAfter, n)}`);
        report.note(
          `the apiserver's mean time per write, floor: ${meanLatencies(floorBefore, floorAfter, n / 2)}; controller: ${meanLatencies(floorAfter, scaleAfter, n / 2)}`,
        );
        report.note(
          `${n} runners on ${Math.ceil(n / 100) + 1} kwok nodes; the controller made ${calls} GitHub requests (${(calls / n).toFixed(2)} per runner: JIT config + online check); write concurrency ${CONCURRENCY}`,
        );
      } finally {
        await stopProcess(controller.child);
      }
    } finally {
      await world.stop();
    }
  },
});

/** The least the API must do for N idle runners: Runner, Secret and Pod created, Pods Ready, status written. */
async function floor(client: KubeClient, n: number, url: string): Promise<number> {
  const started = performance.now();
  await parallel(n, async (i) => {
    // The objects the controller ends with; what it learns from GitHub (the id, the OS) the floor
    // writes at once.
    const manifest = runnerManifest(FLOOR_NS, `floor-${i}`, url, { id: 100_000 + i, os: "linux" });
    manifest.metadata.finalizers = ["runner.octorun.github.io/controller"];
    const runner = await client.create<RunnerObject>(Runners, manifest);
    const name = runner.metadata.name ?? "";
    await client.create(Secrets, {
      metadata: {
        name: runnerSecretName(name),
        namespace: FLOOR_NS,
        labels: { [RUNNER_NAME_LABEL]: name },
        annotations: { [RUNNER_ID_ANNOTATION]: String(100_000 + i), [RUNNER_OS_ANNOTATION]: "linux" },
        ownerReferences: [ownerReference(Runners, runner)],
      },
      type: "Opaque",
      data: { [JIT_CONFIG_SECRET_KEY]: Buffer.from("not-a-real-config").toString("base64") },
    });
    await client.create(Pods, buildRunnerPod({ runner, githubName: `floor-${i}`, mode: "jit" }));
  });
  await waitFor(
    "floor Pods Ready",
    async () => {
      const pods = await client.list<V1Pod>(Pods, { namespace: FLOOR_NS });
      return (
        pods.items.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
          .length === n
      );
    },
    { timeoutMs: 10 * 60_000, intervalMs: 250 },
  );
  const runners = await client.list<RunnerObject>(Runners, { namespace: FLOOR_NS });
  await parallel(runners.items.length, async (i) => {
    const runner = runners.items[i];
    if (!runner) return;
    await patchStatus(client, Runners, runner, {
      phase: "Idle",
      runnerName: runner.metadata.name,
      observedGeneration: runner.metadata.generation,
      conditions: [
        {
          type: "runner.octorun.github.io/Online",
          status: "True",
          reason: "RunnerOnline",
          message: "Runner is online.",
          lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        },
      ],
    });
  });
  return (performance.now() - started) / 1000;
}

async function parallel(count: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}
