import { KubeClient } from "@octorun/kube";
import { waitFor } from "@octorun/testkit";
import type { RunnerSetObject } from "../../services/controller/src/types.ts";
import {
  RunnerSets,
  runnerSetManifest,
  startControllerProcess,
  startWorld,
  stopProcess,
} from "../../services/controller/test/env.ts";

const NS = "scale";
const world = await startWorld({ namespaces: [NS], kwokNodes: 2 });
const client = new KubeClient(world.cp.kubeConfig, { fieldManager: "bench" });
const controller = await startControllerProcess(world, { WATCH_NAMESPACE: NS, RUNNER_WORKERS: "32" });
await client.create(RunnerSets, runnerSetManifest(NS, "scale", world.orgUrl, 60));
await waitFor(
  "idle",
  async () => (await client.get<RunnerSetObject>(RunnerSets, NS, "scale")).status?.idleRunners === 60,
  { timeoutMs: 300_000, intervalMs: 250 },
);
await new Promise((r) => setTimeout(r, 3000));
const ev = await world.cp.kubectl(["get", "events", "-n", NS, "-o", "json"]);
const items = JSON.parse(ev.stdout).items as {
  reason: string;
  count?: number;
  series?: { count: number };
  involvedObject: { kind: string };
  message?: string;
  note?: string;
}[];
const by = new Map<string, number>();
for (const e of items) {
  const k = `${e.involvedObject.kind} ${e.reason}`;
  by.set(k, (by.get(k) ?? 0) + 1);
}
console.log([...by].map(([k, v]) => `${k}: ${v}`).join("\n"));
console.log(
  items
    .filter((e) => (e.series?.count ?? e.count ?? 1) > 1)
    .slice(0, 5)
    .map((e) => JSON.stringify(e))
    .join("\n"),
);
await stopProcess(controller.child);
await world.stop();
