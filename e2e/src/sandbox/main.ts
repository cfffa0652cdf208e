// `npm run dev`: the whole of octorun on this machine with a simulated GitHub. Starts the control
// plane (with kwok nodes), NATS, the GitHub simulator and the four services as separate processes,
// installs a sample RunnerSet, runs simulated workflow jobs and prints every runner's phase as it
// changes. Ctrl-C stops everything.
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { Watch } from "@kubernetes/client-node";
import { API_GROUP, RUNNER_RESOURCE, type Runner, STORAGE_VERSION } from "@octorun/api";
import { binaries } from "@octorun/testkit";
import { OctorunSystem } from "../system.ts";

const RUNNERS = Number(process.env.SANDBOX_RUNNERS ?? 3);
const JOB_EVERY_MS = Number(process.env.SANDBOX_JOB_EVERY_MS ?? 4_000);
const JOB_DURATION_MS = Number(process.env.SANDBOX_JOB_DURATION_MS ?? 3_000);
const REPOSITORY = "hello-world";

function say(text: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${text}\n`);
}

if (process.env.KUBECONFIG && process.env.GITHUB_APP_ID) {
  say("KUBECONFIG and GitHub credentials are set: for a real cluster and real GitHub, install deploy/ with");
  say("`kubectl apply -k deploy` and point a GitHub App's webhook at github-ingress (see README).");
}

say(
  "starting: control plane with kwok, nats-server, GitHub simulator, admission-webhook, github-ingress, controller, state-metrics",
);
const system = new OctorunSystem({ kwokNodes: 3 });
let stopping = false;
let jobTimer: NodeJS.Timeout | undefined;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  clearInterval(jobTimer);
  say("stopping everything…");
  await system.stop();
  say("stopped");
  process.exit(code);
};
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

try {
  await system.start();
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  await stop(1);
}

const kubeconfig = join(process.cwd(), ".sandbox.kubeconfig");
copyFileSync(system.cp.kubeconfigPath, kubeconfig);
system.github.addRepository(`${system.organization}/${REPOSITORY}`);
const metrics = system.services.get("state-metrics")?.ports.metrics;
say(`ready. In another shell:  export KUBECONFIG=${kubeconfig}; ${binaries().kubectl} get runners -w`);
say(`metrics: http://127.0.0.1:${metrics}/metrics   GitHub simulator: ${system.github.url}/_simulator/jobs`);

await system.apply(system.runnerSetManifest("sandbox", RUNNERS));
say(`RunnerSet "sandbox" created with ${RUNNERS} runners (url ${system.runnerUrl})`);

const phases = new Map<string, string>();
await new Watch(system.cp.kubeConfig).watch(
  `/apis/${API_GROUP}/${STORAGE_VERSION}/namespaces/default/${RUNNER_RESOURCE.plural}`,
  {},
  (type, runner: Runner) => {
    const name = runner.metadata?.name ?? "?";
    const phase = type === "DELETED" ? "deleted" : (runner.status?.phase ?? "(new)");
    const before = phases.get(name);
    if (before === phase) return;
    phases.set(name, phase);
    const job = runner.status?.job;
    const detail = phase === "Active" && job ? `  job ${job.id} (${job.workflow ?? "workflow"})` : "";
    say(`runner ${name.padEnd(20)} ${before ? `${before} → ` : ""}${phase}${detail}`);
    if (type === "DELETED") phases.delete(name);
  },
  (error) => {
    if (!stopping && error) say(`watch ended: ${(error as Error).message}`);
  },
);

let queued = 0;
jobTimer = setInterval(() => {
  queued++;
  system.github
    .queueJob({
      repository: `${system.organization}/${REPOSITORY}`,
      labels: ["self-hosted", "runnerset=sandbox"],
      durationMs: JOB_DURATION_MS,
      name: `build #${queued}`,
    })
    .then((job) => say(`GitHub: job ${job.id} "build #${queued}" queued`))
    .catch((error: Error) => say(`could not queue a job: ${error.message}`));
}, JOB_EVERY_MS);
