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
    const world = await startWorld({ namespaces: [NS], kwokNodes: Math.ceil(n / 100) + 1 });
    try {
      const client = new KubeClient(world.cp.kubeConfig, { fieldManager: "bench" });
      const controller = await startControllerProcess(world, { WATCH_NAMESPACE: NS, RUNNER_WORKERS: "32" });
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
        report.figure(short ? `rss_mb_${n}_runners` : "rss_mb_5000_runners", rss, "MB", "<= 400");
        report.note(
          `RSS ${idleRss.toFixed(0)} MB with no Runners, peak ${Math.max(peak, rss).toFixed(0)} MB while reconciling ${n}; caches hold Runners, Pods and Secrets`,
        );
      } finally {
        await stopProcess(controller.child);
      }
    } finally {
      await world.stop();
    }
  },
});
