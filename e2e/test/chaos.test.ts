import assert from "node:assert/strict";
import { test } from "node:test";
import { type ChaosOptions, runChaos } from "../src/chaos.ts";

// The short variants; `npm run bench chaos` runs 1,000 jobs. A failing run prints its seed;
// OCTORUN_CHAOS_SEED=<seed> repeats it.
async function chaosLosesNothing(label: string, options: Omit<ChaosOptions, "log">): Promise<void> {
  const result = await runChaos({ ...options, log: (line) => process.stderr.write(`[${label}] ${line}\n`) });
  process.stderr.write(
    `[${label}] seed ${result.seed}: ${JSON.stringify({ ...result, kills: result.kills.length })}\n`,
  );
  assert.equal(result.kills.length, 3);
  assert.equal(result.completedJobs, result.jobs, "every job completed on GitHub");
  assert.deepEqual(
    result.lostJobs,
    [],
    `seed ${result.seed}: jobs whose Runner never recorded them or never completed:\n${result.lostJobDiagnoses.join("\n")}`,
  );
  assert.deepEqual(result.backwardRunners, [], `seed ${result.seed}`);
}

test("jobs flow while the controller, github-ingress and nats-server are killed with SIGKILL: no job event lost, no Runner moved backwards", async () => {
  await chaosLosesNothing("chaos", { jobs: 24, runners: 4, jobDurationMs: 4_000, killsPerComponent: 1 });
});

test("once more against a three-node nats-server cluster, the stream replicated three ways, one node killed at a time", async () => {
  await chaosLosesNothing("chaos, 3 nats nodes", {
    jobs: 16,
    runners: 4,
    jobDurationMs: 4_000,
    killsPerComponent: 1,
    natsNodes: 3,
  });
});
