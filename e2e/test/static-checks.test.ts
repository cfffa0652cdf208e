import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const bin = (name: string) => join(root, "node_modules", ".bin", name);

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { code: result.status, output: `${result.stdout}${result.stderr}`.split("\n").slice(-40).join("\n") };
}

test("the whole tree typechecks (TypeScript strict, what Node's type stripping runs)", () => {
  const { code, output } = run(bin("tsc"), ["-p", "tsconfig.json", "--noEmit"]);
  assert.equal(code, 0, output);
});

test("the whole tree passes the linter and is formatted", () => {
  const { code, output } = run(bin("biome"), ["check", "."]);
  assert.equal(code, 0, output);
});
