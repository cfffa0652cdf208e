import assert from "node:assert/strict";
import { test } from "node:test";
import { runChaos } from "../src/chaos.ts";

// The short variant; `npm run bench chaos` runs 1,000 jobs.
test("jobs flow while the controller, github-ingress and nats-server are killed with SIGKILL: no job event lost, no Runner moved backwards", async () => {
  const result = await runChaos({
    jobs: 24,
    runners: 4,
    jobDurationMs: 4_000,
    killsPerComponent: 1,
    // A failing run prints its seed; OCTORUN_CHAOS_SEED=<seed> repeats it.
    ...(process.env.OCTORUN_CHAOS_SEED ? { seed: Number(process.env.OCTORUN_CHAOS_SEED) } : {}),
    log: (line) => process.stderr.write(`[chaos] ${line}\n`),
  });
  process.stderr.write(`[chaos] seed ${result.seed}: ${JSON.stringify({ ...result, kills: result.kills.length })}\n`);
  assert.equal(result.kills.length, 3);
  assert.equal(result.completedJobs, result.jobs, "every job completed on GitHub");
  assert.deepEqual(
    result.lostJobs,
    [],
    `seed ${result.seed}: jobs whose Runner never recorded them or never completed`,
  );
  assert.deepEqual(result.backwardRunners, [], `seed ${result.seed}`);
});

test("once more against a three-node nats-server cluster, the stream replicated three ways, one node killed at a time", async () => {
  const result = await runChaos({
    jobs: 16,
    runners: 4,
    jobDurationMs: 4_000,
    killsPerComponent: 1,
    natsNodes: 3,
    ...(process.env.OCTORUN_CHAOS_SEED ? { seed: Number(process.env.OCTORUN_CHAOS_SEED) } : {}),
    log: (line) => process.stderr.write(`[chaos, 3 nats nodes] ${line}\n`),
  });
  process.stderr.write(
    `[chaos, 3 nats nodes] seed ${result.seed}: ${JSON.stringify({ ...result, kills: result.kills.length })}\n`,
  );
  assert.equal(result.kills.length, 3);
  assert.equal(result.completedJobs, result.jobs, "every job completed on GitHub");
  assert.deepEqual(
    result.lostJobs,
    [],
    `seed ${result.seed}: jobs whose Runner never recorded them or never completed`,
  );
  assert.deepEqual(result.backwardRunners, [], `seed ${result.seed}`);
});
