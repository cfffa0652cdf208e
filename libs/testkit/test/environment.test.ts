import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CoreV1Api } from "@kubernetes/client-node";
import { connect } from "nats";
import { startControlPlane, startNatsServer, waitFor } from "../src/index.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const pinnedNode = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).devDependencies.node as string;

/** Running (a zombie awaiting its reaper counts as gone: it holds no port, memory or files). */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
}

describe("the test environment", () => {
  test("tests run on the pinned Node", () => {
    assert.equal(process.version, `v${pinnedNode}`);
  });

  test("from a shell whose own node is another version, the root scripts hand off to the pinned Node", (t) => {
    // The machine's own node: the first one on PATH outside node_modules.
    const path = (process.env.PATH ?? "").split(":").filter((dir) => !dir.includes("node_modules"));
    const systemNode = path.map((dir) => join(dir, "node")).find((file) => existsSync(file));
    if (!systemNode) return t.skip("no node outside node_modules on PATH");
    const result = spawnSync(systemNode, [join(root, "scripts/octorun.mjs"), "versions"], {
      encoding: "utf8",
      env: { ...process.env, PATH: path.join(":") },
    });
    assert.equal(result.status, 0, result.stderr);
    const versions = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    assert.equal(versions.node, `v${pinnedNode}`, "scripts run on the pinned Node");
    assert.equal(versions.childNode, `v${pinnedNode}`, "their children find the pinned Node on PATH");
  });

  test("two environments run side by side without clashing, and stopping them leaves no process", async () => {
    const [a, b, natsA, natsB] = await Promise.all([
      startControlPlane(),
      startControlPlane(),
      startNatsServer(),
      startNatsServer(),
    ]);
    const pids = [...a.pids(), ...b.pids(), ...natsA.pids(), ...natsB.pids()];
    try {
      assert.notEqual(a.server, b.server);
      assert.notEqual(natsA.url, natsB.url);
      const coreA = a.kubeConfig.makeApiClient(CoreV1Api);
      const coreB = b.kubeConfig.makeApiClient(CoreV1Api);
      await coreA.createNamespace({ body: { metadata: { name: "only-in-a" } } });
      const namesB = (await coreB.listNamespace()).items.map((ns) => ns.metadata?.name);
      assert.ok(!namesB.includes("only-in-a"));
      const ncA = await connect({ servers: natsA.url });
      const jsm = await ncA.jetstreamManager();
      await jsm.streams.add({ name: "ONLY_A", subjects: ["only.a"] });
      await ncA.close();
      const ncB = await connect({ servers: natsB.url });
      const streamsB = await (await ncB.jetstreamManager()).streams.names().next();
      assert.deepEqual(streamsB, []);
      await ncB.close();
    } finally {
      await Promise.all([a.stop(), b.stop(), natsA.stop(), natsB.stop()]);
    }
    assert.equal(pids.length, 6);
    assert.deepEqual(pids.filter(alive), []);
  });

  test("a test process killed with SIGKILL leaves nothing behind", async () => {
    const child = spawn(process.execPath, [join(here, "fixtures", "start-and-hang.ts")], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk));
    const started = await waitFor(
      "environment started in the child",
      () => output.includes("\n") && JSON.parse(output),
      {
        timeoutMs: 120_000,
      },
    );
    const { pids, kubeconfig, store } = started as { pids: number[]; kubeconfig: string; store: string };
    assert.equal(pids.length, 3);
    assert.ok(pids.every(alive));
    child.kill("SIGKILL");
    await waitFor("orphans reaped", () => pids.every((pid) => !alive(pid)), { timeoutMs: 15_000, intervalMs: 200 });
    await waitFor("state removed", () => !existsSync(kubeconfig) && !existsSync(store), { timeoutMs: 10_000 });
  });
});
