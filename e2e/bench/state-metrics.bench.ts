// state-metrics at fleet scale: 10,000 Runners and 1,000 RunnerSets in a real apiserver, the
// service as its own process. Figures: the median time of a full /metrics scrape and the
// service's resident memory. Floor: the same exposition served from prepared text by a bare Node
// HTTP server, scraped right after each scrape of the service; their ratio is a figure of its own.

import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, get } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { KubernetesObject } from "@kubernetes/client-node";
import { API_GROUP, STORAGE_VERSION } from "@octorun/api";
import { KubeClient, type ResourceType } from "@octorun/kube";
import {
  defineBenchmark,
  describeTrials,
  freePort,
  imageNodeFlags,
  installCrds,
  ProcessGroup,
  quantile,
  startControlPlane,
  startNatsServer,
  trialRatio,
  waitFor,
} from "@octorun/testkit";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const Runners: ResourceType = {
  group: API_GROUP,
  version: STORAGE_VERSION,
  plural: "runners",
  kind: "Runner",
  namespaced: true,
};
const RunnerSets: ResourceType = {
  group: API_GROUP,
  version: STORAGE_VERSION,
  plural: "runnersets",
  kind: "RunnerSet",
  namespaced: true,
};
const NAMESPACES = 10;
const PHASES = [
  "Idle",
  "Idle",
  "Active",
  "Active",
  "Active",
  "Pending",
  "Complete",
  "Idle",
  "Active",
  "Failed",
] as const;

async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** One full GET, timed until the last byte; the body is only counted (kept when `keep`), as a scraper would stream it. */
function timedGet(url: string, keep = false): Promise<{ ms: number; bytes: number; text: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      const parts: Buffer[] = [];
      let bytes = 0;
      res.on("data", (data: Buffer) => {
        bytes += data.length;
        if (keep) parts.push(data);
      });
      res.on("end", () => {
        if (res.statusCode !== 200) reject(new Error(`${url} answered ${res.statusCode}`));
        else
          resolve({ ms: performance.now() - started, bytes, text: keep ? Buffer.concat(parts).toString("utf8") : "" });
      });
      res.on("error", reject);
    }).on("error", reject);
  });
}

function rssMb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

const median = (values: number[]) => quantile(values, 0.5);
const SCRAPES = 21;
const TRIALS = 3;

export default defineBenchmark({
  name: "state-metrics",
  description: "full /metrics scrape time and memory of state-metrics with 10,000 Runners and 1,000 RunnerSets",
  async run(report, { short }) {
    const runnerSets = short ? 100 : 1_000;
    const runnersPerSet = 10;
    const runners = runnerSets * runnersPerSet;
    const [cp, nats] = await Promise.all([startControlPlane(), startNatsServer()]);
    const processes = new ProcessGroup(mkdtempSync(join(tmpdir(), "bench-state-metrics-")));
    try {
      await installCrds(cp, { conversion: "None" });
      for (let i = 0; i < NAMESPACES; i++) await cp.kubectl(["create", "namespace", `fleet-${i}`]);
      const kube = new KubeClient(cp.kubeConfig, { fieldManager: "bench", requestTimeoutMs: 120_000 });

      // The fleet: every RunnerSet owns ten Runners; statuses as a running controller leaves them.
      const loadStarted = performance.now();
      const condition = (type: string, status: string, reason: string) => ({
        type,
        status,
        reason,
        message: "",
        lastTransitionTime: "2026-11-29T12:00:00Z",
      });
      await inParallel([...Array(runnerSets).keys()], 32, async (s) => {
        const namespace = `fleet-${s % NAMESPACES}`;
        const name = `set-${s}`;
        const labels = { "octorun.github.io/runnerset": name };
        const set = await kube.create<KubernetesObject>(RunnerSets, {
          metadata: { name, namespace, labels: { "app.kubernetes.io/part-of": "bench" } },
          spec: {
            runners: runnersPerSet,
            selector: { matchLabels: labels },
            template: { metadata: { labels }, spec: { url: "https://github.com/octo-org" } },
          },
        } as KubernetesObject);
        await kube.mergePatch(
          RunnerSets,
          namespace,
          name,
          {
            status: {
              runners: runnersPerSet,
              idleRunners: 3,
              activeRunners: 5,
              conditions: [condition("runnerset.octorun.github.io/RunnersReady", "True", "RunnersReady")],
            },
          },
          { subresource: "status" },
        );
        for (let r = 0; r < runnersPerSet; r++) {
          const runnerName = `${name}-${r}`;
          await kube.create(Runners, {
            metadata: {
              name: runnerName,
              namespace,
              labels: { ...labels, "runnerset.octorun.github.io/revision-hash": "5d8f7c9b6" },
              ownerReferences: [
                {
                  apiVersion: `${API_GROUP}/${STORAGE_VERSION}`,
                  kind: "RunnerSet",
                  name,
                  uid: set.metadata!.uid!,
                  controller: true,
                  blockOwnerDeletion: true,
                },
              ],
            },
            spec: {
              url: "https://github.com/octo-org",
              group: "Default",
              image: { name: "ghcr.io/octorun/runner:2.320.0" },
            },
          } as KubernetesObject);
          await kube.mergePatch(
            Runners,
            namespace,
            runnerName,
            {
              status: {
                phase: PHASES[r % PHASES.length],
                runnerName: `${namespace}-${runnerName}-0a1b2c3d`,
                conditions: [
                  condition("runner.octorun.github.io/Registered", "True", "Registered"),
                  condition("runner.octorun.github.io/PodReady", "True", "RunnerPodReady"),
                  condition("runner.octorun.github.io/Online", r % 10 === 5 ? "False" : "True", "RunnerOnline"),
                ],
              },
            },
            { subresource: "status" },
          );
        }
      });
      const loadSeconds = (performance.now() - loadStarted) / 1000;
      report.note(
        `created ${runners} Runners and ${runnerSets} RunnerSets (with status) in ${loadSeconds.toFixed(1)} s`,
      );

      const metricsPort = await freePort();
      const healthPort = await freePort();
      const flags = imageNodeFlags(root, "state-metrics");
      report.note(`service started as in its image: node ${flags.join(" ")} services/state-metrics/src/index.ts`);
      const child = processes.start(
        "state-metrics",
        process.execPath,
        [...flags, join(root, "services/state-metrics/src/index.ts")],
        {
          ...process.env,
          KUBECONFIG: cp.kubeconfigPath,
          NATS_URL: nats.url,
          METRICS_HOST: "127.0.0.1",
          METRICS_PORT: String(metricsPort),
          HEALTH_HOST: "127.0.0.1",
          HEALTH_PORT: String(healthPort),
          LOG_LEVEL: "warn",
        },
      );
      const syncStarted = performance.now();
      await waitFor(
        "state-metrics ready",
        async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined))?.status === 200,
        {
          timeoutMs: 180_000,
          intervalMs: 100,
        },
      );
      report.note(
        `state-metrics was ready (caches filled) ${((performance.now() - syncStarted) / 1000).toFixed(1)} s after its start`,
      );

      const url = `http://127.0.0.1:${metricsPort}/metrics`;
      const first = await timedGet(url, true);
      const infoLines = first.text.split("\n").filter((line) => line.startsWith("octorun_runner_info{")).length;
      if (infoLines !== runners) throw new Error(`the scrape has ${infoLines} Runners, expected ${runners}`);
      const series = first.text.split("\n").filter((line) => line.length > 0 && !line.startsWith("#")).length;
      // Floor: the same bytes from a bare Node HTTP server in this process, written from prepared
      // text (this machine's speed for the exposition alone).
      const body = Buffer.from(first.text);
      const floorServer = createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end(body));
      const floorPort = await new Promise<number>((resolve) =>
        floorServer.listen(0, "127.0.0.1", () => resolve((floorServer.address() as { port: number }).port)),
      );
      const floorUrl = `http://127.0.0.1:${floorPort}/`;
      await timedGet(floorUrl);
      const times: number[] = [];
      const floor: number[] = [];
      let rss = 0;
      let hwm = 0;
      // Steady state, as Prometheus sees it: a scrape every 2 s for 40 s, each followed by the
      // floor's, so that both get the same moments of this shared machine. Memory is the largest
      // RSS over the last 10 s (the start-up list's garbage is collected by then, as it is in a
      // cluster long before anyone looks).
      const rssSamples: number[] = [];
      for (let i = 0; i < SCRAPES; i++) {
        const scrapeStarted = performance.now();
        times.push((await timedGet(url)).ms);
        const memory = rssMb(child.pid!);
        rssSamples.push(memory.rss);
        hwm = memory.hwm;
        floor.push((await timedGet(floorUrl)).ms);
        await sleep(Math.max(0, 2_000 - (performance.now() - scrapeStarted)));
      }
      floorServer.close();
      rss = Math.max(...rssSamples.slice(-5));
      report.note(`RSS after each scrape (MB): ${rssSamples.map((v) => v.toFixed(0)).join(" ")}`);
      // Trials: consecutive thirds of the scrapes, each one's median against the floor's beside it.
      const perTrial = SCRAPES / TRIALS;
      const ratio = trialRatio(
        Array.from({ length: TRIALS }, (_, t) => {
          const slice = (list: number[]) => list.slice(t * perTrial, (t + 1) * perTrial);
          return median(slice(times)) / median(slice(floor));
        }),
      );

      // The goals are for 10,000 Runners; a short run names its own size and sets no goal.
      const size = short ? `${runners / 1000}k` : "10k";
      report.figure(`scrape_ms_${size}_runners`, Number(median(times).toFixed(1)), "ms", short ? undefined : "<= 150");
      report.figure(`floor_scrape_ms_${size}_runners`, Number(median(floor).toFixed(1)), "ms");
      report.figure("scrape_ratio_to_floor", ratio.median, "x", "<= 1.2");
      report.figure(`rss_mb_${size}_runners`, Number(rss.toFixed(1)), "MB", short ? undefined : "<= 200");
      report.note(
        `${short ? "SHORT variant: " : ""}${runners} Runners, ${runnerSets} RunnerSets: ${series} series, ${(first.bytes / 1e6).toFixed(1)} MB per scrape; ` +
          `scrape p50 ${median(times).toFixed(1)} ms, min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}; ` +
          `floor (the same bytes from a bare Node server in the bench's process, each right after a scrape) p50 ${median(floor).toFixed(1)} ms, min ${Math.min(...floor).toFixed(1)}, max ${Math.max(...floor).toFixed(1)}`,
      );
      report.note(`scrape_ratio_to_floor ${describeTrials(ratio)} (each trial ${perTrial} scrapes each, medians)`);
      const own = (await timedGet(url, true)).text;
      const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(own)?.[1] ?? Number.NaN) / 1e6;
      report.note(
        `state-metrics RSS (steady, max of the last 5 scrapes) ${rss.toFixed(1)} MB, peak since start (VmHWM) ${hwm.toFixed(1)} MB; ` +
          `V8 heap used ${gauge("nodejs_heap_size_used_bytes").toFixed(1)} MB of ${gauge("nodejs_heap_size_total_bytes").toFixed(1)} MB, external ${gauge("nodejs_external_memory_bytes").toFixed(1)} MB`,
      );
    } finally {
      await processes.stop();
      await Promise.all([cp.stop(), nats.stop()]);
    }
  },
});
