// `npm run bench runnerset-scale`: a RunnerSet goes from 0 to 500 Idle runners (kwok Pods, the
// GitHub simulator, the controller as its own process). In the same run, the API floor: a tight
// client making the writes octorun's design requires for each runner, in the same order of
// dependencies, as fast as the apiserver takes them: the Runner created without spec.id, its
// Secret and Pod, status Pending, then (the Pod Ready) status Idle and spec.id/spec.os, with no
// controller and no GitHub. Three alternating trials (octorun, floor, octorun, floor, …), each in
// namespaces of its own; the ratio is their median.
import type { V1Pod } from "@kubernetes/client-node";
import {
  JIT_CONFIG_SECRET_KEY,
  Reasons,
  RUNNER_ID_ANNOTATION,
  RUNNER_NAME_LABEL,
  RUNNER_OS_ANNOTATION,
  RunnerConditionTypes,
} from "@octorun/api";
import { Informer, KubeClient, ownerReference, Pods, patchStatus, Secrets } from "@octorun/kube";
import { type BenchReport, defineBenchmark, describeTrials, quantile, trialRatio, waitFor } from "@octorun/testkit";
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
  type World,
} from "../../services/controller/test/env.ts";
import { profileApiserver } from "./apiserver-profile.ts";
import { apiserverRequests, meanLatencies, requestsPer } from "./apiserver-requests.ts";
import { commandOf, measureCpu } from "./cpu-time.ts";
import { garbageCollectorWatchesRunners } from "./garbage-collector.ts";
import { readHistogram } from "./histogram-reading.ts";
import { watchRunnerStages } from "./runner-stages.ts";

const CONCURRENCY = 32;
const TRIALS = 3;

export default defineBenchmark({
  name: "runnerset-scale",
  description: "RunnerSet 0 → N Idle runners through the controller, against the API floor",
  async run(report, { short }) {
    const n = short ? 50 : 500;
    const scaleNs = (t: number) => `scale-${t}`;
    const floorNs = (t: number) => `floor-${t}`;
    const namespaces = Array.from({ length: TRIALS }, (_, t) => [scaleNs(t), floorNs(t)]).flat();
    // Every trial's Pods stay Running: room for all of them.
    const world = await startWorld({ namespaces, kwokNodes: Math.ceil((2 * TRIALS * n) / 100) + 1 });
    try {
      const client = new KubeClient(world.cp.kubeConfig, { fieldManager: "bench" });
      const waitedFrom = performance.now();
      await garbageCollectorWatchesRunners(client, floorNs(0));
      report.note(
        `waited ${((performance.now() - waitedFrom) / 1000).toFixed(1)} s for the garbage collector to watch Runners before measuring`,
      );
      const controlPlane = Object.fromEntries(world.cp.pids().map((pid) => [commandOf(pid), pid]));
      const times: { octorun: number; floor: number }[] = [];
      let eventsDropped = 0;
      let eventsQueued = 0;
      for (let t = 0; t < TRIALS; t++) {
        // The last trial tells where the time goes; the others only how long they took.
        const detailed = t === TRIALS - 1;
        const scaleBefore = await apiserverRequests(world.cp);
        const scale = await scaleUp(world, client, n, scaleNs(t), controlPlane, detailed ? report : undefined);
        eventsDropped += scale.eventsDropped;
        eventsQueued = scale.eventsQueued;
        const floorBefore = await apiserverRequests(world.cp);
        const floorCpu = measureCpu({ "bench (floor client)": process.pid, ...controlPlane });
        // The same watches look on in both phases.
        const floorStages = await watchRunnerStages(client, floorNs(t));
        const floorProfile = detailed ? profileApiserver(world.cp, "runnerset-scale-floor", 8) : undefined;
        const floorS = await floor(client, n, floorNs(t), world.orgUrl);
        await floorProfile;
        const floorAfter = await apiserverRequests(world.cp);
        times.push({ octorun: scale.seconds, floor: floorS });
        report.note(
          `trial ${t + 1}: octorun ${scale.seconds.toFixed(2)} s, floor ${floorS.toFixed(2)} s, ratio ${(scale.seconds / floorS).toFixed(2)}`,
        );
        if (detailed) {
          report.note(`CPU during the floor (share of one core): ${floorCpu()}`);
          report.note(`floor stages per runner: ${await floorStages.summary(n)}`);
          report.note(`apiserver requests per runner, floor: ${requestsPer(floorBefore, floorAfter, n)}`);
          report.note(`apiserver requests per runner, controller: ${requestsPer(scaleBefore, floorBefore, n)}`);
          report.note(
            `the apiserver's mean time per write, floor: ${meanLatencies(floorBefore, floorAfter, n / 2)}; controller: ${meanLatencies(scaleBefore, floorBefore, n / 2)}`,
          );
        }
        await floorStages.stop();
      }
      const median = (side: "octorun" | "floor") =>
        quantile(
          times.map((time) => time[side]),
          0.5,
        );
      const ratio = trialRatio(times.map((time) => time.octorun / time.floor));
      report.figure(short ? `scale_0_to_${n}_s` : "scale_0_to_500_s", median("octorun"), "s");
      report.figure(short ? `floor_0_to_${n}_s` : "floor_0_to_500_s", median("floor"), "s");
      report.figure("ratio_to_floor", ratio.median, "x", "<= 1.3");
      report.figure("events_dropped_total", eventsDropped, "1");
      report.figure("events_queued_at_end", eventsQueued, "1");
      report.note(`ratio_to_floor ${describeTrials(ratio)}; the times are the trials' medians`);
      report.note(
        "what the floor does not do: no RunnerSet (nor its status writes), no Events, no GitHub (its Secret holds a made-up config and the id is known at once), no cache waits; it writes each Runner's status without an optimistic lock",
      );
      report.note(
        `events_dropped_total sums octorun_events_dropped_total over the trials' controllers; events_queued_at_end is octorun_events_queued when the last trial's runners were all Idle`,
      );
    } finally {
      await world.stop();
    }
  },
});

/** One trial of octorun: a controller for `namespace` scales a new RunnerSet to `n` Idle runners; with `report`, says where the time went. */
async function scaleUp(
  world: World,
  client: KubeClient,
  n: number,
  namespace: string,
  controlPlane: Record<string, number>,
  report: BenchReport | undefined,
): Promise<{ seconds: number; eventsDropped: number; eventsQueued: number }> {
  const controller = await startControllerProcess(world, {
    WATCH_NAMESPACES: namespace,
    RUNNER_WORKERS: String(CONCURRENCY),
  });
  try {
    const requestsBefore = world.sim.requests().length;
    const cpu = measureCpu({
      controller: controller.child.pid,
      "bench (simulator, polling)": process.pid,
      ...controlPlane,
    });
    // A scale-up in a running system: the controller has led for a few seconds (right after it
    // starts, it asks the apiserver for each new Runner's Secret before registering it).
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const stages = await watchRunnerStages(client, namespace);
    const scaleProfile = report ? profileApiserver(world.cp, "runnerset-scale-controller", 16) : undefined;
    const started = performance.now();
    const startedAt = Date.now();
    await client.create(RunnerSets, runnerSetManifest(namespace, "scale", world.orgUrl, n));
    // When the RunnerSet counted all its Runners, and a quarter, half, … of them Idle: where the time goes.
    const milestones = new Map<string, number>();
    const mark = (label: string, reached: boolean) => {
      if (reached && !milestones.has(label)) milestones.set(label, (performance.now() - started) / 1000);
    };
    await waitFor(
      `${n} Idle runners`,
      async () => {
        const status = (await client.get<RunnerSetObject>(RunnerSets, namespace, "scale")).status;
        mark(`${n} Runners`, status?.runners === n);
        for (const share of [0.25, 0.5, 0.75]) mark(`${share * 100}% Idle`, (status?.idleRunners ?? 0) >= share * n);
        return status?.idleRunners === n;
      },
      { timeoutMs: 20 * 60_000, intervalMs: 250 },
    );
    const seconds = (performance.now() - started) / 1000;
    const controllerMetrics = await (await fetch(`http://127.0.0.1:${controller.healthPort}/metrics`)).text();
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(controllerMetrics)?.[1] ?? 0);
    const events = {
      eventsDropped: gauge("octorun_events_dropped_total"),
      eventsQueued: gauge("octorun_events_queued"),
    };
    if (!report) {
      await stages.stop();
      return { seconds, ...events };
    }
    report.note(
      `scale-up timeline: ${[...milestones].map(([label, at]) => `${label} at ${at.toFixed(1)} s`).join(", ")}, 100% Idle at ${seconds.toFixed(1)} s`,
    );
    report.note(`CPU during the scale-up (share of one core): ${cpu()}`);
    report.note(`scale-up stages per runner: ${await stages.summary(n)}`);
    await stages.stop();
    await scaleProfile;
    const requests = world.sim.requests().slice(requestsBefore);
    // Registrations go to GitHub one at a time per installation (GitHub's guidance for
    // content-creating requests): their summed time is a floor of its own for the scale-up.
    const jit = requests.filter((r) => r.operationId?.startsWith("actions/generate-runner-jitconfig"));
    const jitSeconds = jit.reduce((sum, r) => sum + r.durationMs, 0) / 1000;
    const since = (at: number) => ((at - startedAt) / 1000).toFixed(1);
    const jitTimes = jit.map((r) => r.at).sort((a, b) => a - b);
    report.note(
      `${jit.length} JIT registrations, sent one at a time from ${since(jitTimes[0] ?? startedAt)} s to ${since(jitTimes.at(-1) ?? startedAt)} s: ${jitSeconds.toFixed(1)} s of GitHub (simulator) time in all, ${((jitSeconds * 1000) / Math.max(1, jit.length)).toFixed(1)} ms each`,
    );
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
      return h ? `${h.count} × mean ${h.meanMs.toFixed(1)} ms (p99 ≤ ${h.quantileBoundMs(0.99)} ms)` : "not reported";
    };
    report.note(
      `the controller's Runner queue: waits ${describe("workqueue_queue_duration_seconds", 'name="runner"')}, reconciles ${describe("workqueue_work_duration_seconds", 'name="runner"')}; online checks ${describe("octorun_github_request_duration_seconds", 'operation="actions/get-self-hosted-runner-for-org"')}`,
    );
    report.note(
      `${n} runners per trial; the controller made ${requests.length} GitHub requests (${(requests.length / n).toFixed(2)} per runner: JIT config + online check); write concurrency ${CONCURRENCY}`,
    );
    return { seconds, ...events };
  } finally {
    await stopProcess(controller.child);
  }
}

/**
 * The least the API must do for N Idle runners, in octorun's order: the Runner (with its
 * finalizer, without spec.id), the Secret and the Pod, status Pending; once the Pod is Ready (a
 * watch says so), status Idle and spec.id/spec.os (the controller writes those once GitHub lists
 * the runner online). At most CONCURRENCY writes at a time.
 */
async function floor(client: KubeClient, n: number, namespace: string, url: string): Promise<number> {
  const ready = new Set<string>();
  const waiting = new Map<string, () => void>();
  const pods = new Informer<V1Pod>({ client, type: Pods, namespaces: [namespace], relistMs: 0 });
  const onPod = (p: V1Pod) => {
    const name = p.metadata?.name ?? "";
    if (!p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") || ready.has(name)) return;
    ready.add(name);
    waiting.get(name)?.();
  };
  pods.on("add", onPod);
  pods.on("update", (_old, p) => onPod(p));
  pods.start();
  await pods.waitForSync();
  const slot = semaphore(CONCURRENCY);
  const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const condition = (type: string, reason: string, message: string) => ({
    type,
    status: "True",
    reason,
    message,
    lastTransitionTime: now(),
  });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const id = 100_000 + i;
      const runner = await slot(async () => {
        const manifest = runnerManifest(namespace, `floor-${i}`, url);
        manifest.metadata.finalizers = ["runner.octorun.github.io/controller"];
        const created = await client.create<RunnerObject>(Runners, manifest);
        const name = created.metadata.name ?? "";
        await client.create(Secrets, {
          metadata: {
            name: runnerSecretName(name),
            namespace,
            labels: { [RUNNER_NAME_LABEL]: name },
            annotations: { [RUNNER_ID_ANNOTATION]: String(id), [RUNNER_OS_ANNOTATION]: "linux" },
            ownerReferences: [ownerReference(Runners, created)],
          },
          type: "Opaque",
          data: { [JIT_CONFIG_SECRET_KEY]: Buffer.from("not-a-real-config").toString("base64") },
        });
        await client.create(Pods, buildRunnerPod({ runner: created, githubName: `floor-${i}`, mode: "jit" }));
        return patchStatus<RunnerObject>(client, Runners, created, {
          phase: "Pending",
          runnerName: `floor-${i}`,
          conditions: [condition(RunnerConditionTypes.Registered, Reasons.Registered, "Registered with GitHub.")],
        });
      });
      const name = runner.metadata.name ?? "";
      if (!ready.has(name)) await new Promise<void>((resolve) => waiting.set(name, resolve));
      await slot(async () => {
        await patchStatus(client, Runners, runner, {
          phase: "Idle",
          conditions: [
            condition(RunnerConditionTypes.Registered, Reasons.Registered, "Registered with GitHub."),
            condition(RunnerConditionTypes.PodReady, Reasons.RunnerPodReady, "Runner Pod is Ready."),
            condition(RunnerConditionTypes.Online, Reasons.RunnerOnline, "Runner is online."),
          ],
        });
        await client.mergePatch(Runners, namespace, name, { spec: { id, os: "linux" } });
      });
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pods.stop();
  return seconds;
}

/** Runs tasks with at most `limit` at once. */
function semaphore(limit: number) {
  let running = 0;
  const queue: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      queue.shift()?.();
    }
  };
}
