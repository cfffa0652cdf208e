// `npm run bench job-latency`: workflow_job webhooks (GitHub simulator → github-ingress → NATS →
// controller) at 100 jobs/s, each taken by an Idle runner; the time from the in_progress webhook
// being posted to github-ingress (a pass-through proxy in front of it notes when) to the Runner
// `Active` as a watch on the apiserver sees it. Also the GitHub requests the simulator saw per
// completed job (registration and online check included).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { decodeJobEvent, jobSubject } from "@octorun/bus";
import { Informer, KubeClient } from "@octorun/kube";
import { defineBenchmark, quantile, waitFor } from "@octorun/testkit";
import { connect } from "nats";
import type { RunnerObject } from "../../services/controller/src/types.ts";
import {
  Runners,
  runnerManifest,
  startControllerProcess,
  startWorld,
  stopProcess,
  WEBHOOK_SECRET,
  type World,
} from "../../services/controller/test/env.ts";
import { apiserverRequests, requestsPer } from "./apiserver-requests.ts";
import { commandOf, measureCpu } from "./cpu-time.ts";
import { garbageCollectorWatchesRunners } from "./garbage-collector.ts";
import { readHistogram } from "./histogram-reading.ts";

const NS = "lat";
const RATE = 100;
// Long enough that every runner is seen Active before its job ends, even when the system lags.
const JOB_DURATION_MS = 10_000;

export default defineBenchmark({
  name: "job-latency",
  description: "job assigned webhook → Runner Active through ingress, NATS and the controller, at 100 jobs/s",
  async run(report, { short }) {
    const n = short ? 50 : 300;
    // First a few jobs at a rate the machine keeps up with: the latency of the path itself.
    const slow = { count: short ? 10 : 40, rate: 10 };
    const total = n + slow.count;
    const world = await startWorld({ namespaces: [NS], kwokNodes: Math.ceil(total / 100) + 1 });
    try {
      const client = new KubeClient(world.cp.kubeConfig, { fieldManager: "bench" });
      // Else its checks of Runners it had only heard of land in the measurement.
      await garbageCollectorWatchesRunners(client, NS);
      const postedAt = new Map<number, number>();
      const proxy = await timestampingProxy(world, postedAt);
      // A plain subscription sees each event as JetStream stores it: splits the latency into the
      // ingress's share and the controller's (with the apiserver's write and watch).
      const publishedAt = new Map<number, number>();
      const observer = await connect({ servers: world.nats.url });
      observer.subscribe(jobSubject("assigned"), {
        callback: (_err, msg) => publishedAt.set(decodeJobEvent(msg.data).job.id, Date.now()),
      });
      const controller = await startControllerProcess(world, { WATCH_NAMESPACES: NS, RUNNER_WORKERS: "32" });
      const activeAt = new Map<number, number>();
      const runners = new Informer<RunnerObject>({ client, type: Runners, namespaces: [NS] });
      runners.on("update", (_old, r) => {
        const id = r.status?.job?.id;
        if (r.status?.phase === "Active" && id !== undefined && !activeAt.has(id)) activeAt.set(id, Date.now());
      });
      runners.start();
      await runners.waitForSync();
      try {
        for (let i = 0; i < total; i += 50) {
          await Promise.all(
            Array.from({ length: Math.min(50, total - i) }, (_, j) => {
              const manifest = runnerManifest(NS, `lat-${i + j}`, world.orgUrl);
              manifest.metadata.labels = { ...manifest.metadata.labels, "octorun.github.io/pool": "lat" };
              return client.create(Runners, manifest);
            }),
          );
        }
        await waitFor(
          `${total} Idle runners`,
          () => runners.list().filter((r) => r.status?.phase === "Idle").length === total,
          {
            timeoutMs: 10 * 60_000,
            intervalMs: 200,
          },
        );

        // Jobs are queued on schedule without waiting for each one's deliveries, so the offered rate
        // is the one asked for; latency starts when the in_progress delivery reaches the ingress.
        world.sim.prepareJobWebhooks();
        const offer = async (count: number, rate: number) => {
          const ids: number[] = [];
          const queued: Promise<unknown>[] = [];
          const start = Date.now();
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
        const processes = {
          controller: controller.child.pid,
          "github-ingress": world.ingress.pid,
          "nats-server": world.nats.pids()[0],
          "bench (simulator, proxy, watch)": process.pid,
          ...Object.fromEntries(world.cp.pids().map((pid) => [commandOf(pid), pid])),
        };
        const requestsBefore = await apiserverRequests(world.cp);
        const unhurriedCpu = measureCpu(processes);
        const unhurried = await offer(slow.count, slow.rate);
        report.note(
          `${slow.count} jobs at ${slow.rate}/s first (the machine keeps up): p50 ${quantile(unhurried.latencies, 0.5)} ms, p99 ${quantile(unhurried.latencies, 0.99)} ms; CPU (share of one core, time per job): ${unhurriedCpu(slow.count)}`,
        );
        // Their completions would otherwise land in the middle of the measurement below.
        await waitFor(
          `the first ${slow.count} runners Complete`,
          () => runners.list().filter((r) => r.status?.phase === "Complete").length === slow.count,
          { timeoutMs: JOB_DURATION_MS + 120_000, intervalMs: 200 },
        );

        const cpu = measureCpu(processes);
        const loopDelay = monitorEventLoopDelay({ resolution: 5 });
        loopDelay.enable();
        const burstRequestsBefore = await apiserverRequests(world.cp);
        const { ids: jobIds, offered, latencies } = await offer(n, RATE);
        report.note(`CPU used from the first job to the last Active (share of one core, time per job): ${cpu(n)}`);
        report.note(
          `apiserver requests per job from the first job at ${RATE}/s to the last Active: ${requestsPer(burstRequestsBefore, await apiserverRequests(world.cp), n)}`,
        );
        await waitFor(
          `${total} runners Complete`,
          () => runners.list().filter((r) => r.status?.phase === "Complete").length === total,
          {
            timeoutMs: 120_000,
            intervalMs: 200,
          },
        );
        loopDelay.disable();
        report.note(
          `this process's event loop delay while measuring: p50 ${(loopDelay.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} ms`,
        );
        const controllerMetrics = await (await fetch(`http://127.0.0.1:${controller.healthPort}/metrics`)).text();
        const describe = (name: string) => {
          const h = readHistogram(controllerMetrics, name, 'action="assigned"');
          return h
            ? `mean ${h.meanMs.toFixed(0)} ms, p50 ≤ ${h.quantileBoundMs(0.5)} ms, p99 ≤ ${h.quantileBoundMs(0.99)} ms`
            : "not reported";
        };
        report.note(
          `in the controller, assigned events: stored → handling started ${describe("octorun_controller_job_event_wait_seconds")}; status written in ${describe("octorun_controller_job_event_apply_seconds")}`,
        );
        const requestsAfter = await apiserverRequests(world.cp);
        report.note(`apiserver requests per job, its whole life: ${requestsPer(requestsBefore, requestsAfter, total)}`);
        const share = (from: Map<number, number>, to: Map<number, number>) =>
          quantile(
            jobIds.map((id) => (to.get(id) ?? 0) - (from.get(id) ?? 0)).sort((a, b) => a - b),
            0.5,
          );
        report.note(
          `p50 split: webhook → stored in JetStream ${share(postedAt, publishedAt)} ms, stored → Active seen ${share(publishedAt, activeAt)} ms`,
        );
        const requests = world.sim.requests();
        const calls = requests.length;
        const byOperation = new Map<string, number>();
        for (const r of requests) {
          const op = r.operationId ?? `${r.method} ${r.path}`;
          byOperation.set(op, (byOperation.get(op) ?? 0) + 1);
        }
        report.figure("assigned_to_active_p50_ms", quantile(latencies, 0.5), "ms", "<= 50");
        report.figure("assigned_to_active_p99_ms", quantile(latencies, 0.99), "ms", "<= 250");
        report.figure("github_calls_per_job", calls / total, "1", "<= 2");
        report.note(
          `${n} jobs offered at ${offered.toFixed(0)}/s to ${n} Idle runners; latency from the in_progress webhook reaching github-ingress to the Active status seen by a watch; ${calls} GitHub requests for all ${total} jobs, registration included (${[...byOperation].map(([op, c]) => `${op} ${c}`).join(", ")})`,
        );
      } finally {
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
