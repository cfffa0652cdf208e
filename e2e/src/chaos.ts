// Jobs flow through the whole system while the controller, github-ingress and nats-server are
// killed with SIGKILL at random moments. Afterwards every job must have been recorded on the
// Runner that ran it and that Runner must have completed; no Runner may have moved backwards.
// `npm test` runs a short variant (e2e/test/chaos.test.ts); `npm run bench chaos` the full one.
import { backwardMoves, type RunnerHistory, RunnerRecorder } from "./runner-recorder.ts";
import { OctorunSystem } from "./system.ts";

export interface ChaosOptions {
  jobs: number;
  runners: number;
  /** How long each job runs once a runner takes it. */
  jobDurationMs: number;
  /** Kills per component over the run. */
  killsPerComponent: number;
  /** nats-server nodes: 1, or a cluster of 3 with the stream replicated three ways (one node killed at a time). */
  natsNodes?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface ChaosResult {
  seed: number;
  jobs: number;
  completedJobs: number;
  /** Jobs no Runner recorded, or whose Runner did not complete. */
  lostJobs: number[];
  /** For each lost job: what GitHub did with it and what its Runner went through (times in ms from the start). */
  lostJobDiagnoses: string[];
  backwardRunners: { name: string; moves: string[] }[];
  kills: { component: string; atMs: number }[];
  durationMs: number;
  redeliveries: number;
}

/** A small deterministic PRNG (mulberry32), so a failing run can be repeated with its seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REPOSITORY = "octo-org/chaos";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  // OCTORUN_CHAOS_SEED=<seed> repeats a run's plan (the tests and the benchmark print their seed).
  const fromEnv = process.env.OCTORUN_CHAOS_SEED;
  const seed = options.seed ?? (fromEnv ? Number(fromEnv) : Date.now() % 1_000_000);
  const rand = random(seed);
  const log = options.log ?? (() => {});
  const system = await new OctorunSystem({
    kwokNodes: 2,
    natsNodes: options.natsNodes ?? 1,
    // Redelivery every second here (60 s by default), with attempts to outlast a long outage.
    env: { controller: { WEBHOOK_REDELIVERY_INTERVAL_SECONDS: "1", WEBHOOK_REDELIVERY_MAX_ATTEMPTS: "60" } },
  }).start();
  const recorder = await new RunnerRecorder(system.cp.kubeConfig).start();
  const started = performance.now();
  const startedAt = Date.now();
  const kills: ChaosResult["kills"] = [];
  try {
    system.github.addRepository(REPOSITORY);
    await system.apply(system.runnerSetManifest("chaos", options.runners));
    // Jobs are offered at about the rate the runners can take them.
    const offerEveryMs = Math.max(50, (options.jobDurationMs + 1_500) / options.runners);
    const totalMs = options.jobs * offerEveryMs;
    const plan = ["controller", "github-ingress", "nats-server"].flatMap((component) =>
      Array.from({ length: options.killsPerComponent }, () => ({ component, atMs: 2_000 + rand() * totalMs * 0.8 })),
    );
    plan.sort((a, b) => a.atMs - b.atMs);

    const chaos = (async () => {
      for (const kill of plan) {
        const wait = kill.atMs - (performance.now() - started);
        if (wait > 0) await sleep(wait);
        if (kill.component === "nats-server") {
          // One node at a time: the others keep the replicated stream (or, alone, nothing does).
          const index = Math.floor(rand() * system.nats.nodes.length);
          const node = system.nats.nodes[index];
          if (!node) throw new Error(`no nats-server node ${index}`);
          log(
            `SIGKILL nats-server${system.nats.nodes.length > 1 ? ` node ${index}` : ""} at ${Math.round(kill.atMs)} ms`,
          );
          kills.push(kill);
          for (const pid of node.pids()) killIfRunning(pid);
          await sleep(500 + rand() * 1_500);
          await node.resume();
        } else {
          log(`SIGKILL ${kill.component} at ${Math.round(kill.atMs)} ms`);
          kills.push(kill);
          system.kill(kill.component, "SIGKILL");
          await sleep(500 + rand() * 1_500);
          await system.restart(kill.component);
        }
      }
    })();
    // Awaited after the jobs are queued; marked handled now so a failure there ends this run, not the process.
    chaos.catch(() => {});

    const ids: number[] = [];
    for (let i = 0; i < options.jobs; i++) {
      const job = await system.github.queueJob({
        repository: REPOSITORY,
        labels: ["self-hosted", "runnerset=chaos"],
        durationMs: options.jobDurationMs,
        name: `chaos ${i}`,
      });
      ids.push(job.id);
      await sleep(offerEveryMs);
    }
    await chaos;
    const deadline = Date.now() + 120_000 + options.jobs * 200;
    while (Date.now() < deadline) {
      const byJob = recorder.byJob();
      const done = ids.every(
        (id) => system.github.job(id)?.status === "completed" && byJob.get(id)?.phases.at(-1) === "Complete",
      );
      if (done) break;
      await sleep(500);
    }
    const byJob = recorder.byJob();
    const lost = ids.filter((id) => byJob.get(id)?.phases.at(-1) !== "Complete");
    const backward = [...recorder.histories.values()]
      .map((h: RunnerHistory) => ({ name: h.name, moves: backwardMoves(h.phases) }))
      .filter((h) => h.moves.length > 0);
    if (recorder.watchError) throw new Error(`the Runner watch broke: ${recorder.watchError.message}`);
    return {
      seed,
      jobs: ids.length,
      completedJobs: ids.filter((id) => system.github.job(id)?.status === "completed").length,
      lostJobs: lost,
      lostJobDiagnoses: lost.map((id) => diagnose(id, system, recorder, startedAt)),
      backwardRunners: backward,
      kills,
      durationMs: performance.now() - started,
      redeliveries: system.github.deliveries().filter((d) => d.redelivery).length,
    };
  } finally {
    recorder.stop();
    await system.stop();
  }
}

/** One line on a lost job: its webhooks as GitHub delivered them and the history of the Runner GitHub gave it to. */
function diagnose(jobId: number, system: OctorunSystem, recorder: RunnerRecorder, startedAt: number): string {
  const at = (epochMs: number | string | undefined) =>
    epochMs === undefined ? "?" : `${Math.round(new Date(epochMs).getTime() - startedAt)}`;
  const job = system.github.job(jobId);
  const deliveries = system.github
    .deliveries()
    .filter((d) => d.jobId === jobId)
    .map((d) => `${d.action}${d.redelivery ? " (redelivery)" : ""} ${d.status || d.statusText} @${at(d.deliveredAt)}`);
  const runnerName = job?.runner?.name;
  const history = runnerName ? recorder.byRunnerName(runnerName) : undefined;
  const phases = history ? history.phases.map((p, i) => `${p}@${at(history.phaseTimes[i])}`).join(" → ") : "none";
  return [
    `job ${jobId}: ${job?.status ?? "unknown"} on GitHub runner ${runnerName ?? "-"} (started @${at(job?.startedAt)}, completed @${at(job?.completedAt)})`,
    `webhooks: ${deliveries.join(", ") || "none"}`,
    `Runner ${history?.name ?? "-"}: ${phases}; job recorded ${history?.jobId === undefined ? "never" : `${history.jobId} @${at(history.jobRecordedAtMs)}`}${history?.deleted ? `; deleted @${at(history.deletedAtMs)}` : ""}`,
  ].join("; ");
}

/** SIGKILL, unless the process already exited (its exit may not have been reaped yet). */
function killIfRunning(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}
