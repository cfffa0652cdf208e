// Runs every test in the tree with node's own test runner on the pinned Node 24.
// Files run two at a time (this machine has two cores); each file starts its own control plane
// and NATS through libs/testkit, so files never share state.
import { spawnSync } from "node:child_process";
import { globSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const requested = process.argv.slice(2);
const files =
  requested.length > 0
    ? requested
    : globSync(["libs/*/test/**/*.test.ts", "services/*/test/**/*.test.ts", "e2e/test/**/*.test.ts"], {
        cwd: root,
      }).sort();

if (files.length === 0) {
  process.stderr.write("[octorun] no test files found\n");
  process.exit(1);
}
const concurrency = Number(process.env.OCTORUN_TEST_CONCURRENCY ?? Math.min(2, availableParallelism()));
process.stderr.write(`[octorun] ${files.length} test files on Node ${process.version}, ${concurrency} at a time\n`);
const result = spawnSync(
  process.execPath,
  ["--test", `--test-concurrency=${concurrency}`, "--test-reporter=spec", "--test-timeout=300000", ...files],
  { cwd: root, stdio: "inherit" },
);
process.exit(result.status ?? 1);
