// The composition root refuses a bad configuration at start-up, naming each bad setting.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const entry = join(dirname(fileURLToPath(import.meta.url)), "../src/index.ts");

function start(env: Record<string, string>): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [entry], {
    env: { PATH: process.env.PATH ?? "", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: result.status, stderr: result.stderr };
}

// One process (start-up costs seconds on a busy machine): every problem is reported at once.
const cases: { name: string; env: Record<string, string>; problems: RegExp[] }[] = [
  {
    name: "every bad setting named",
    env: {
      METRICS_PORT: "http",
      JOB_LABELS_ALLOWLIST: "runnerset,*",
      JOB_CONSUMER_NAME: "a.b",
      JOB_REPLAY_HOURS: "500",
    },
    problems: [
      /NATS_URL is required/,
      /METRICS_PORT must be integer/,
      /JOB_LABELS_ALLOWLIST/,
      /JOB_CONSUMER_NAME must match pattern/,
      /JOB_REPLAY_HOURS must be <= 168/,
    ],
  },
];

for (const c of cases) {
  test(`start-up stops on a bad configuration: ${c.name}`, () => {
    const { status, stderr } = start(c.env);
    assert.equal(status, 1, stderr);
    const line = JSON.parse(stderr.trim().split("\n").at(-1)!) as {
      level: string;
      service: string;
      problems: string[];
    };
    assert.equal(line.service, "state-metrics");
    for (const problem of c.problems)
      assert.ok(
        line.problems.some((p) => problem.test(p)),
        `${problem} in ${JSON.stringify(line.problems)}`,
      );
  });
}
