// Prints what the project runs on: the Node running this script, the `node` its children get from
// PATH, pnpm, and the pinned versions of the real components (`node scripts/octorun.mjs versions`).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const components = Object.fromEntries(
  [...readFileSync(join(root, "libs/testkit/scripts/versions.sh"), "utf8").matchAll(/^([A-Z0-9_]+)=(\S+)$/gm)].map(
    (m) => [m[1], m[2]],
  ),
);
const childNode = spawnSync("node", ["--version"], { encoding: "utf8" }).stdout.trim();
process.stdout.write(`${JSON.stringify({ node: process.version, childNode, ...components })}\n`);
