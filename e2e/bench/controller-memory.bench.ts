// `npm run bench controller-memory`: the controller's resident memory (its own process, /proc
// VmRSS) once it holds and has reconciled 5,000 Runners (registered with the GitHub simulator,
// their Secrets and kwok Pods in its caches, all Idle).
import { KubeClient } from "@octorun/kube";
import { defineBenchmark, waitFor } from "@octorun/testkit";
import type { RunnerObject } from "../../services/controller/src/types.ts";
import {
  Runners,
  runnerManifest,
  startControllerProcess,
  startWorld,
  stopProcess,
} from "../../services/controller/test/env.ts";

const NS = "memory";

export default defineBenchmark({
  name: "controller-memory",
  description: "controller resident memory with 5,000 Idle Runners",
  async run(report, { short }) {
    const n = short ? 500 : 5000;
    // Registering and checking 5,000 runners takes 10,000 GitHub requests: more than a personal
    // access token's 5,000 an hour, within a GitHub App installation's 15,000 on Enterprise Cloud.
    const world = await startWorld({
      namespaces: [NS],
      kwokNodes: Math.ceil(n / 100) + 1,
      githubRateLimit: 15_000,
    });
    try {
      const client = new KubeClient(world.cp.kubeConfig, { fieldManager: "bench" });
      const controller = await startControllerProcess(world, {
        WATCH_NAMESPACES: NS,
        RUNNER_WORKERS: "32",
        NODE_OPTIONS: process.env.CM_NODE_OPTIONS ?? "",
      });
      try {
        const idleRss = controller.rssMb();
        for (let i = 0; i < n; i += 50) {
          await Promise.all(
            Array.from({ length: Math.min(50, n - i) }, (_, j) =>
              client.create(Runners, runnerManifest(NS, `mem-${i + j}`, world.orgUrl)),
            ),
          );
        }
        let peak = 0;
        await waitFor(
          `${n} Idle runners`,
          async () => {
            peak = Math.max(peak, controller.rssMb());
            let idle = 0;
            let token: string | undefined;
            do {
              const page = await client.list<RunnerObject>(Runners, { namespace: NS, limit: 1000, continue: token });
              idle += page.items.filter((r) => r.status?.phase === "Idle").length;
              token = page.metadata.continue || undefined;
            } while (token);
            return idle === n;
          },
          { timeoutMs: 60 * 60_000, intervalMs: 2_000 },
        );
        // Settled: let a collection run, then read the resident set.
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        const rss = controller.rssMb();
        const heap = await heapFigures(controller.healthPort);
        report.figure(short ? `rss_mb_${n}_runners` : "rss_mb_5000_runners", rss, "MB", "<= 250");
        report.note(
          `RSS ${idleRss.toFixed(0)} MB with no Runners, peak ${Math.max(peak, rss).toFixed(0)} MB while reconciling ${n}; caches hold Runners, Pods and Secrets; ${heap}`,
        );
      } finally {
        await stopProcess(controller.child);
      }
    } finally {
      await world.stop();
    }
  },
});

/** The controller's own account of its memory (prom-client's process metrics on its /metrics). */
async function heapFigures(healthPort: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
  const mb = (name: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    return line ? `${(Number(line.split(" ")[1]) / 1e6).toFixed(0)} MB` : "?";
  };
  return `V8 heap used ${mb("nodejs_heap_size_used_bytes")} of ${mb("nodejs_heap_size_total_bytes")}, external ${mb("nodejs_external_memory_bytes")}`;
}
