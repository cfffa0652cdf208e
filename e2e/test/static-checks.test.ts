import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
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

test("no service loads @kubernetes/client-node's generated API index (about 40 MB resident each)", () => {
  // A resolve hook records every module each service's composition root pulls in.
  const hook = `
    import { writeFileSync } from "node:fs";
    import { registerHooks } from "node:module";
    const loaded = new Set();
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.add(r.url); return r; } });
    process.on("exit", () => writeFileSync(process.env.LOADED_MODULES_FILE, JSON.stringify([...loaded])));`;
  const dir = mkdtempSync(join(tmpdir(), "octorun-modules-"));
  try {
    for (const service of ["controller", "state-metrics", "admission-webhook", "github-ingress"]) {
      const entry = join(root, "services", service, "src", "index.ts");
      const file = join(dir, `${service}.json`);
      const result = spawnSync(
        process.execPath,
        [
          "--import",
          `data:text/javascript,${encodeURIComponent(hook)}`,
          "--input-type=module",
          "-e",
          `await import(${JSON.stringify(entry)})`,
        ],
        { cwd: root, encoding: "utf8", env: { ...process.env, LOADED_MODULES_FILE: file } },
      );
      assert.equal(result.status, 0, result.stderr);
      const loaded = JSON.parse(readFileSync(file, "utf8")) as string[];
      assert.ok(loaded.length > 20, `${service}: the hook saw only ${loaded.length} modules`);
      const generated = loaded.filter((url) => /@kubernetes\/client-node\/dist\/(index|gen\/index)\.js$/.test(url));
      assert.deepEqual(generated, [], `${service} loads client-node's index`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
