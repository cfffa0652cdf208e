// `npm run bench job-latency`: workflow_job webhooks (GitHub simulator → github-ingress → NATS →
// controller), each job taken by an Idle runner; the time from the in_progress webhook being
// posted to github-ingress (a pass-through proxy in front of it notes when) to the Runner `Active`
// as a watch on the apiserver sees it. In the same run, on Runners made the same way, the floor:
// a minimal consumer of the same events that writes one merge-patch of the Runner's status
// (job-floor.ts), while the controller is stopped (SIGSTOP). Octorun and the floor alternate:
// three trials each at 20 jobs/s, then a search of the highest rate each keeps within a 1 s p99,
// then the 100/s burst as an overload figure. Also the GitHub requests per job and the controller's
// Events dropped or still queued.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJobEvent, JOB_STREAM, jobSubject } from "@octorun/bus";
import { Informer, KubeClient } from "@octorun/kube";
import { defineBenchmark, describeTrials, quantile, trialRatio, waitFor } from "@octorun/testkit";
import { connect } from "nats";
import type { RunnerObject } from "../../services/controller/src/types.ts";
import {
  NODE,
  Runners,
  runnerManifest,
  startControllerProcess,
  startWorld,
  stopProcess,
  WEBHOOK_SECRET,
  type World,
} from "../../services/controller/test/env.ts";
import { type ApiserverReading, apiserverRequests } from "./apiserver-requests.ts";
import { commandOf, cpuSeconds } from "./cpu-time.ts";
import { garbageCollectorWatchesRunners } from "./garbage-collector.ts";
import { readHistogram } from "./histogram-reading.ts";

const NS = "lat";
const TRIAL_RATE = 20;
const OVERLOAD_RATE = 100;
const CAPACITY_P99_MS = 1_000;
// Long enough that every runner is seen Active before its job ends, even when the system lags.
const JOB_DURATION_MS = 10_000;
const CONTROLLER_CONSUMER = "octorun-controller";

type Side = "octorun" | "floor";

interface Measured {
  rate: number;
  jobs: number;
  offered: number;
  latencies: number[];
  p50: number;
  p99: number;
  cpuMsPerJob: number;
  cpuByProcess: Record<string, number>;
  writesPerJob: number;
  writes: Map<string, number>;
  ids: number[];
}

export default defineBenchmark({
  name: "job-latency",
  description:
    "job assigned webhook → Runner Active through ingress, NATS and the controller, against a minimal consumer: 20 jobs/s, capacity, 100/s overload",
  async run(report, { short }) {
    const size = short
      ? { slow: 10, trialSeconds: 1, stepSeconds: 1, steps: [50], bisect: false, overload: 50 }
      : { slow: 40, trialSeconds: 4, stepSeconds: 2, steps: [40, 60, 80, 100], bisect: true, overload: 300 };
    const trials = 3;
    const world = await startWorld({ namespaces: [NS], kwokNodes: short ? 3 : 8 });
    const tmp = mkdtempSync(join(tmpdir(), "bench-job-latency-"));
    try {
      const client = new KubeClient(world.cp.kubeConfig, { fieldManager: "bench" });
      // Else its checks of Runners it had only heard of land in the measurement.
      await garbageCollectorWatchesRunners(client, NS);
      const postedAt = new Map<number, number>();
      const proxy = await timestampingProxy(world, postedAt);
      // A plain subscription sees each event as JetStream stores it: splits the latency into the
      // ingress's share and the consumer's (with the apiserver's write and watch).
      const publishedAt = new Map<number, number>();
      const observer = await connect({ servers: world.nats.url });
      observer.subscribe(jobSubject("assigned"), {
        callback: (_err, msg) => publishedAt.set(decodeJobEvent(msg.data).job.id, Date.now()),
      });
      const jsm = await observer.jetstreamManager();
      const controller = await startControllerProcess(world, { WATCH_NAMESPACES: NS, RUNNER_WORKERS: "32" });
      const activeAt = new Map<number, number>();
      const runners = new Informer<RunnerObject>({ client, type: Runners, namespaces: [NS] });
      runners.on("update", (_old, r) => {
        const id = r.status?.job?.id;
        if (r.status?.phase === "Active" && id !== undefined && !activeAt.has(id)) activeAt.set(id, Date.now());
      });
      runners.start();
      await runners.waitForSync();
      const inPhase = (phase: string) => runners.list().filter((r) => r.status?.phase === phase);
      const runStarted = performance.now();
      try {
        let created = 0;
        let jobsQueued = 0;
        /** `count` Idle runners no job has had yet, made by the controller. */
        const provision = async (count: number) => {
          const missing = count - inPhase("Idle").length;
          for (let i = 0; i < missing; i += 50) {
            await Promise.all(
              Array.from({ length: Math.min(50, missing - i) }, () => {
                const manifest = runnerManifest(NS, `lat-${created++}`, world.orgUrl);
                manifest.metadata.labels = { ...manifest.metadata.labels, "octorun.github.io/pool": "lat" };
                return client.create(Runners, manifest);
              }),
            );
          }
          await waitFor(`${count} Idle runners`, () => inPhase("Idle").length >= count, {
            timeoutMs: 10 * 60_000,
            intervalMs: 200,
          });
        };
        /** Every job so far Complete, and the controller's consumer has nothing left: a quiet system. */
        const settle = async () => {
          await waitFor(
            `${jobsQueued} runners Complete and the controller's consumer drained`,
            async () => {
              if (inPhase("Complete").length < jobsQueued) return false;
              const info = await jsm.consumers.info(JOB_STREAM, CONTROLLER_CONSUMER);
              return info.num_pending === 0 && info.num_ack_pending === 0;
            },
            { timeoutMs: JOB_DURATION_MS + 180_000, intervalMs: 200 },
          );
        };

        // Jobs are queued on schedule without waiting for each one's deliveries, so the offered rate
        // is the one asked for; latency starts when the in_progress delivery reaches the ingress.
        world.sim.prepareJobWebhooks();
        const offer = async (count: number, rate: number) => {
          const ids: number[] = [];
          const queued: Promise<unknown>[] = [];
          const start = Date.now();
          jobsQueued += count;
          for (let i = 0; i < count; i++) {
            const due = start + (i * 1000) / rate;
            const wait = due - Date.now();
            if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
            const job = world.sim.queueJob({
              repository: "acme/app",
              labels: ["self-hosted", "pool=lat"],
              durationMs: JOB_DURATION_MS,
            });
            queued.push(job.then((j) => ids.push(j.id)));
          }
          const offered = count / ((Date.now() - start) / 1000);
          await Promise.all(queued);
          await waitFor("every job's runner Active", () => ids.every((id) => activeAt.has(id) && postedAt.has(id)), {
            timeoutMs: 120_000,
            intervalMs: 50,
          }).catch((error) => {
            const missing = ids.filter((id) => !(activeAt.has(id) && postedAt.has(id)));
            const states = missing.slice(0, 5).map((id) => {
              const job = world.sim.job(id);
              return `${id}: sim ${job?.status} runner ${job?.runner?.name} posted ${postedAt.has(id)} published ${publishedAt.has(id)} active ${activeAt.has(id)} phase ${runners.list().find((r) => r.status?.runnerName === job?.runner?.name)?.status?.phase}`;
            });
            throw new Error(`${error.message}: ${missing.length} missing, e.g. ${states.join("; ")}`);
          });
          const latencies = ids.map((id) => (activeAt.get(id) ?? 0) - (postedAt.get(id) ?? 0)).sort((a, b) => a - b);
          return { ids, offered, latencies };
        };

        // The processes whose CPU a job costs: the consumer (controller or floor) and what both share.
        const shared: Record<string, number> = { "github-ingress": world.ingress.pid ?? 0 };
        const natsPid = world.nats.pids()[0];
        if (natsPid) shared["nats-server"] = natsPid;
        for (const pid of world.cp.pids()) {
          const name = commandOf(pid);
          if (name === "kube-apiserver" || name === "etcd") shared[name] = pid;
        }

        /** Offers `count` jobs at `rate` to one side, on runners provisioned for them; CPU and apiserver writes over the same window. */
        const measure = async (side: Side, count: number, rate: number): Promise<Measured> => {
          await settle();
          await provision(count);
          let floorProcess: ChildProcess | undefined;
          if (side === "floor") {
            controller.child.kill("SIGSTOP");
            floorProcess = await startFloor(world, tmp, inPhase("Idle"));
          }
          try {
            const processes = { ...shared, [side]: (side === "floor" ? floorProcess?.pid : controller.child.pid) ?? 0 };
            const cpuBefore = Object.fromEntries(Object.entries(processes).map(([n, pid]) => [n, cpuSeconds(pid)]));
            const requestsBefore = await apiserverRequests(world.cp);
            const { ids, offered, latencies } = await offer(count, rate);
            // What the events caused after the last Active (an Event, a Pod annotation) belongs to them.
            await new Promise((resolve) => setTimeout(resolve, 1_000));
            const writes = writesPer(requestsBefore, await apiserverRequests(world.cp), count);
            const cpuByProcess = Object.fromEntries(
              Object.entries(processes).map(([n, pid]) => [
                n,
                ((cpuSeconds(pid) - (cpuBefore[n] ?? 0)) * 1000) / count,
              ]),
            );
            return {
              rate,
              jobs: count,
              offered,
              latencies,
              p50: quantile(latencies, 0.5),
              p99: quantile(latencies, 0.99),
              cpuMsPerJob: Object.values(cpuByProcess).reduce((a, b) => a + b, 0),
              cpuByProcess,
              writesPerJob: [...writes.values()].reduce((a, b) => a + b, 0),
              writes,
              ids,
            };
          } finally {
            if (floorProcess) {
              await stopProcess(floorProcess);
              controller.child.kill("SIGCONT");
            }
          }
        };
        const describe = (m: Measured) =>
          `${m.jobs} jobs at ${m.offered.toFixed(0)}/s: p50 ${m.p50} ms, p99 ${m.p99} ms, ${m.cpuMsPerJob.toFixed(1)} CPU-ms per job (${Object.entries(
            m.cpuByProcess,
          )
            .map(([n, ms]) => `${n} ${ms.toFixed(1)}`)
            .join(
              ", ",
            )}), ${m.writesPerJob.toFixed(2)} apiserver writes per job (${[...m.writes].map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")})`;

        // First a few jobs at a rate the machine keeps up with, through octorun: the path warmed up.
        const slow = await measure("octorun", size.slow, 10);
        report.note(`warm-up, ${size.slow} jobs at 10/s through octorun: ${describe(slow)}`);

        // Alternating trials at 20 jobs/s: octorun, floor, octorun, floor, …
        const pairs: { octorun: Measured; floor: Measured }[] = [];
        const trialJobs = TRIAL_RATE * size.trialSeconds;
        for (let t = 0; t < trials; t++) {
          const octorun = await measure("octorun", trialJobs, TRIAL_RATE);
          const floor = await measure("floor", trialJobs, TRIAL_RATE);
          pairs.push({ octorun, floor });
          report.note(`trial ${t + 1} at ${TRIAL_RATE}/s, octorun: ${describe(octorun)}`);
          report.note(`trial ${t + 1} at ${TRIAL_RATE}/s, floor: ${describe(floor)}`);
        }
        const pooled = (side: Side) => pairs.flatMap((p) => p[side].latencies);
        const p99Ratio = trialRatio(pairs.map((p) => p.octorun.p99 / p.floor.p99));
        const cpuRatio = trialRatio(pairs.map((p) => p.octorun.cpuMsPerJob / p.floor.cpuMsPerJob));
        const medianOf = (side: Side, value: (m: Measured) => number) =>
          quantile(
            pairs.map((p) => value(p[side])),
            0.5,
          );

        // Capacity: each side in turn at rising rates until its p99 passes 1 s, then one step of
        // bisection between its last pass and its first miss.
        const passes = (m: Measured) => m.p99 <= CAPACITY_P99_MS;
        const capacity: Record<Side, { passed: number; missed?: number }> = {
          octorun: { passed: medianOf("octorun", (m) => m.p99) <= CAPACITY_P99_MS ? TRIAL_RATE : 0 },
          floor: { passed: medianOf("floor", (m) => m.p99) <= CAPACITY_P99_MS ? TRIAL_RATE : 0 },
        };
        const steps: string[] = [];
        const step = async (side: Side, rate: number) => {
          const m = await measure(side, Math.round(rate * size.stepSeconds), rate);
          if (passes(m)) capacity[side].passed = Math.max(capacity[side].passed, rate);
          else capacity[side].missed = Math.min(capacity[side].missed ?? rate, rate);
          steps.push(`${side} ${rate}/s p99 ${m.p99} ms`);
        };
        for (const rate of size.steps)
          for (const side of ["octorun", "floor"] as const)
            if (capacity[side].missed === undefined) await step(side, rate);
        if (size.bisect)
          for (const side of ["octorun", "floor"] as const) {
            const { passed, missed } = capacity[side];
            if (missed !== undefined && missed - passed > 10) await step(side, Math.round((passed + missed) / 10) * 5);
          }

        // The 100/s burst: more than this machine's two cores carry (no goal).
        const overload = await measure("octorun", size.overload, OVERLOAD_RATE);
        report.note(`overload at ${OVERLOAD_RATE}/s through octorun: ${describe(overload)}`);
        await settle();

        const octorunP99 = quantile(pooled("octorun"), 0.99);
        report.figure("assigned_to_active_p50_ms", quantile(pooled("octorun"), 0.5), "ms", "<= 50");
        report.figure("assigned_to_active_p99_ms", octorunP99, "ms", "<= 250");
        report.figure("floor_assigned_to_active_p50_ms", quantile(pooled("floor"), 0.5), "ms");
        report.figure("floor_assigned_to_active_p99_ms", quantile(pooled("floor"), 0.99), "ms");
        report.figure("p99_ratio_to_floor", p99Ratio.median, "x", "<= 1.5");
        report.figure("capacity_jobs_per_s", capacity.octorun.passed, "1/s");
        report.figure("floor_capacity_jobs_per_s", capacity.floor.passed, "1/s");
        report.figure("capacity_ratio_to_floor", capacity.octorun.passed / capacity.floor.passed, "x", ">= 0.6");
        report.figure(
          "cpu_ms_per_job",
          medianOf("octorun", (m) => m.cpuMsPerJob),
          "ms",
        );
        report.figure(
          "floor_cpu_ms_per_job",
          medianOf("floor", (m) => m.cpuMsPerJob),
          "ms",
        );
        report.figure("cpu_ratio_to_floor", cpuRatio.median, "x", "<= 2.0");
        report.figure(
          "apiserver_writes_per_job",
          medianOf("octorun", (m) => m.writesPerJob),
          "1",
        );
        report.figure(
          "floor_apiserver_writes_per_job",
          medianOf("floor", (m) => m.writesPerJob),
          "1",
        );
        report.figure("overload_100_per_s_p50_ms", overload.p50, "ms");
        report.figure("overload_100_per_s_p99_ms", overload.p99, "ms");
        report.note(
          `at ${TRIAL_RATE}/s, ${trials} alternating trials of ${trialJobs} jobs per side (p50/p99 pool each side's trials): p99_ratio_to_floor ${describeTrials(p99Ratio)}; cpu_ratio_to_floor ${describeTrials(cpuRatio)}`,
        );
        report.note(
          `capacity (p99 ≤ ${CAPACITY_P99_MS} ms; ${TRIAL_RATE}/s from the trials' median p99, then ${size.stepSeconds} s steps alternating between the sides, one search per side): ${steps.join(", ")}`,
        );
        report.note(
          "CPU per job: the consumer (controller or floor) with github-ingress, nats-server, kube-apiserver and etcd, from the first job to 1 s after the last Active; writes over the same window, from apiserver_request_total",
        );

        let controllerMetrics = await (await fetch(`http://127.0.0.1:${controller.healthPort}/metrics`)).text();
        const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(controllerMetrics)?.[1] ?? 0);
        report.figure("events_dropped_total", gauge("octorun_events_dropped_total"), "1");
        report.figure("events_queued_at_end", gauge("octorun_events_queued"), "1");
        // Queued at the end is a backlog or a stuck sender: how long until the queue is empty says which.
        const drainFrom = performance.now();
        const drained = await waitFor(
          "the controller's Event queue empty",
          async () => {
            controllerMetrics = await (await fetch(`http://127.0.0.1:${controller.healthPort}/metrics`)).text();
            return gauge("octorun_events_queued") === 0;
          },
          { timeoutMs: 60_000, intervalMs: 250 },
        ).then(
          () => `empty ${((performance.now() - drainFrom) / 1000).toFixed(1)} s later`,
          () => `still ${gauge("octorun_events_queued")} queued 60 s later`,
        );
        report.note(
          `Events: the end is when every job's runner was Complete and the controller's consumer had nothing left; the queue was ${drained}`,
        );
        const histogram = (name: string) => {
          const h = readHistogram(controllerMetrics, name, 'action="assigned"');
          return h
            ? `mean ${h.meanMs.toFixed(0)} ms, p50 ≤ ${h.quantileBoundMs(0.5)} ms, p99 ≤ ${h.quantileBoundMs(0.99)} ms`
            : "not reported";
        };
        report.note(
          `in the controller, assigned events over its whole run: stored → handling started ${histogram("octorun_controller_job_event_wait_seconds")}; status written in ${histogram("octorun_controller_job_event_apply_seconds")}`,
        );
        const trialIds = pairs.flatMap((p) => p.octorun.ids);
        const share = (from: Map<number, number>, to: Map<number, number>) =>
          quantile(
            trialIds.map((id) => (to.get(id) ?? 0) - (from.get(id) ?? 0)).sort((a, b) => a - b),
            0.5,
          );
        report.note(
          `octorun's p50 at ${TRIAL_RATE}/s split: webhook → stored in JetStream ${share(postedAt, publishedAt)} ms, stored → Active seen ${share(publishedAt, activeAt)} ms`,
        );
        const requests = world.sim.requests();
        const byOperation = new Map<string, number>();
        for (const r of requests) {
          const op = r.operationId ?? `${r.method} ${r.path}`;
          byOperation.set(op, (byOperation.get(op) ?? 0) + 1);
        }
        report.figure("github_calls_per_job", requests.length / jobsQueued, "1", "<= 2");
        report.note(
          `${jobsQueued} jobs in all on ${created} runners, ${((performance.now() - runStarted) / 1000).toFixed(0)} s from the controller's start; ${requests.length} GitHub requests, registration included (${[...byOperation].map(([op, c]) => `${op} ${c}`).join(", ")})`,
        );
      } finally {
        controller.child.kill("SIGCONT");
        proxy.close();
        await observer.close();
        await runners.stop();
        await stopProcess(controller.child);
      }
    } finally {
      await world.stop();
    }
  },
});

/** The apiserver writes between two readings, per job, by verb and resource (largest first). */
function writesPer(before: ApiserverReading, after: ApiserverReading, jobs: number): Map<string, number> {
  return new Map(
    [...after.count]
      // Leases are the nodes' and the control plane's heartbeats, not the jobs'.
      .filter(([key]) => /^(POST|PUT|PATCH|DELETE|APPLY) /.test(key) && !key.endsWith(" leases"))
      .map(([key, total]) => [key, (total - (before.count.get(key) ?? 0)) / jobs] as const)
      .filter(([, perJob]) => perJob > 0)
      .sort((a, b) => b[1] - a[1]),
  );
}

/** Starts job-floor.ts with the Runners it may be given jobs for; resolves once its consumer exists. */
async function startFloor(world: World, dir: string, idle: RunnerObject[]): Promise<ChildProcess> {
  const table = join(dir, `floor-runners-${Date.now()}.json`);
  writeFileSync(table, JSON.stringify(idle));
  const child = spawn(NODE, [join(import.meta.dirname, "job-floor.ts")], {
    env: { ...process.env, KUBECONFIG: world.cp.kubeconfigPath, NATS_URL: world.nats.url, FLOOR_RUNNERS: table },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (data: Buffer) => {
      if (data.toString().includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`the floor consumer exited (${code}) before it was ready`)));
  });
  return child;
}

/** Sits between the simulator and github-ingress: notes when each in_progress delivery is posted, passes everything through. */
async function timestampingProxy(world: World, postedAt: Map<number, number>) {
  const target = world.ingressUrl;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      try {
        const payload = JSON.parse(body.toString("utf8")) as { action?: string; workflow_job?: { id?: number } };
        const id = payload.workflow_job?.id;
        if (payload.action === "in_progress" && id !== undefined) postedAt.set(id, Date.now());
      } catch {
        // not JSON: the ingress will say so
      }
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k, v]) => typeof v === "string" && k !== "host" && k !== "content-length"),
      ) as Record<string, string>;
      const answer = await fetch(target, { method: "POST", headers, body }).catch(() => undefined);
      res.writeHead(answer?.status ?? 502, { "content-type": "application/json" });
      res.end(answer ? await answer.text() : "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  world.sim.setWebhook({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    secret: WEBHOOK_SECRET,
  });
  return { close: () => server.close() };
}
