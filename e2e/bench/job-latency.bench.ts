// `npm run bench job-latency`: workflow_job webhooks (GitHub simulator → github-ingress → NATS →
// controller) at 100 jobs/s, each taken by an Idle runner; the time from the job being queued
// (its in_progress webhook follows at once) to the Runner `Active` as a watch on the apiserver
// sees it. Also the GitHub requests the simulator saw per completed job (registration included).
import { Informer, KubeClient } from "@octorun/kube";
import { defineBenchmark, quantile, waitFor } from "@octorun/testkit";
import type { RunnerObject } from "../../services/controller/src/types.ts";
import {
  Runners,
  runnerManifest,
  startControllerProcess,
  startWorld,
  stopProcess,
} from "../../services/controller/test/env.ts";

const NS = "lat";
const RATE = 100;

export default defineBenchmark({
  name: "job-latency",
  description: "job assigned webhook → Runner Active through ingress, NATS and the controller, at 100 jobs/s",
  async run(report, { short }) {
    const n = short ? 50 : 300;
    const world = await startWorld({ namespaces: [NS], kwokNodes: Math.ceil(n / 100) + 1 });
    try {
      const client = new KubeClient(world.cp.kubeConfig, { fieldManager: "bench" });
      const controller = await startControllerProcess(world, { WATCH_NAMESPACE: NS, RUNNER_WORKERS: "32" });
      const activeAt = new Map<number, number>();
      const runners = new Informer<RunnerObject>({ client, type: Runners, namespace: NS });
      runners.on("update", (_old, r) => {
        const id = r.status?.job?.id;
        if (r.status?.phase === "Active" && id !== undefined && !activeAt.has(id)) activeAt.set(id, Date.now());
      });
      runners.start();
      await runners.waitForSync();
      try {
        for (let i = 0; i < n; i += 50) {
          await Promise.all(
            Array.from({ length: Math.min(50, n - i) }, (_, j) => {
              const manifest = runnerManifest(NS, `lat-${i + j}`, world.orgUrl);
              manifest.metadata.labels = { ...manifest.metadata.labels, "octorun.github.io/pool": "lat" };
              return client.create(Runners, manifest);
            }),
          );
        }
        await waitFor(
          `${n} Idle runners`,
          () => runners.list().filter((r) => r.status?.phase === "Idle").length === n,
          {
            timeoutMs: 10 * 60_000,
            intervalMs: 200,
          },
        );

        const queuedAt = new Map<number, number>();
        const start = Date.now();
        for (let i = 0; i < n; i++) {
          const due = start + (i * 1000) / RATE;
          const wait = due - Date.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          const job = await world.sim.queueJob({
            repository: "acme/app",
            labels: ["self-hosted", "pool=lat"],
            durationMs: 500,
          });
          queuedAt.set(job.id, Date.now());
        }
        const offered = n / ((Date.now() - start) / 1000);
        await waitFor("every job's runner Active", () => [...queuedAt.keys()].every((id) => activeAt.has(id)), {
          timeoutMs: 120_000,
          intervalMs: 50,
        });
        const latencies = [...queuedAt].map(([id, at]) => (activeAt.get(id) ?? at) - at).sort((a, b) => a - b);
        await waitFor(
          `${n} runners Complete`,
          () => runners.list().filter((r) => r.status?.phase === "Complete").length === n,
          {
            timeoutMs: 120_000,
            intervalMs: 200,
          },
        );
        const calls = world.sim.requests().length;
        report.figure("assigned_to_active_p50_ms", quantile(latencies, 0.5), "ms", "<= 50");
        report.figure("assigned_to_active_p99_ms", quantile(latencies, 0.99), "ms", "<= 250");
        report.figure("github_calls_per_job", calls / n, "1", "<= 2");
        report.note(
          `${n} jobs offered at ${offered.toFixed(0)}/s to ${n} Idle runners; latency from queueJob (the simulator then posts the in_progress webhook) to the Active status seen by a watch; ${calls} GitHub requests in all, registration and the once-per-organization runner group lookup included`,
        );
      } finally {
        await runners.stop();
        await stopProcess(controller.child);
      }
    } finally {
      await world.stop();
    }
  },
});
