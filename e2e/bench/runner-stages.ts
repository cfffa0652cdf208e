// Where a scale-up's time goes, runner by runner: watches on the namespace note when each Runner,
// its JIT Secret (GitHub's answer came just before) and its Pod appear, when the Pod is Ready and
// when the Runner is Idle. The note gives each stage's median and p90 across runners.
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import { Informer, type KubeClient, Pods, Secrets } from "@octorun/kube";
import { quantile, waitFor } from "@octorun/testkit";
import type { RunnerObject } from "../../services/controller/src/types.ts";
import { Runners } from "../../services/controller/test/env.ts";

const STAGES = ["Runner created", "Secret created", "Pod created", "Pod Ready", "Runner Idle"] as const;
type Stage = (typeof STAGES)[number];

export async function watchRunnerStages(client: KubeClient, namespace: string) {
  const seen = new Map<string, Map<Stage, number>>();
  const mark = (name: string | undefined, stage: Stage) => {
    if (!name) return;
    const stages = seen.get(name) ?? new Map<Stage, number>();
    seen.set(name, stages);
    if (!stages.has(stage)) stages.set(stage, performance.now());
  };
  const runners = new Informer<RunnerObject>({ client, type: Runners, namespaces: [namespace], relistMs: 0 });
  const onRunner = (r: RunnerObject) => {
    mark(r.metadata.name, "Runner created");
    // A runner that comes online while a job waits for it goes from Pending straight to Active.
    if (r.status?.phase === "Idle" || r.status?.phase === "Active") mark(r.metadata.name, "Runner Idle");
  };
  runners.on("add", onRunner);
  runners.on("update", (_old, r) => onRunner(r));
  const secrets = new Informer<V1Secret>({ client, type: Secrets, namespaces: [namespace], relistMs: 0 });
  secrets.on("add", (s) => mark(s.metadata?.ownerReferences?.[0]?.name, "Secret created"));
  const pods = new Informer<V1Pod>({ client, type: Pods, namespaces: [namespace], relistMs: 0 });
  const onPod = (p: V1Pod) => {
    mark(p.metadata?.name, "Pod created");
    if (p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
      mark(p.metadata?.name, "Pod Ready");
  };
  pods.on("add", onPod);
  pods.on("update", (_old, p) => onPod(p));
  const informers = [runners, secrets, pods];
  for (const informer of informers) informer.start();
  await Promise.all(informers.map((informer) => informer.waitForSync()));
  return {
    /** Median and p90 of each stage, in ms, over the runners that went through all of them (waits briefly for `n`). */
    async summary(n: number): Promise<string> {
      const completed = () => [...seen.values()].filter((stages) => STAGES.every((s) => stages.has(s)));
      await waitFor(`${n} runners through every stage`, () => completed().length >= n, {
        timeoutMs: 10_000,
        intervalMs: 100,
      }).catch(() => undefined); // the summary says how many
      const complete = completed();
      const parts = STAGES.slice(1).map((stage, i) => {
        const from = STAGES[i] as Stage;
        const ms = complete.map((s) => (s.get(stage) ?? 0) - (s.get(from) ?? 0)).sort((a, b) => a - b);
        return `${from} → ${stage} p50 ${quantile(ms, 0.5).toFixed(0)} ms, p90 ${quantile(ms, 0.9).toFixed(0)} ms`;
      });
      return `${complete.length} runners seen through every stage: ${parts.join("; ")}`;
    },
    async stop() {
      await Promise.all(informers.map((informer) => informer.stop()));
    },
  };
}
