import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import {
  type ControlPlane,
  ensureImages,
  imageRef,
  makeReusingApiClient,
  realNodeSupport,
  startControlPlane,
  waitFor,
} from "../src/index.ts";

const support = realNodeSupport();
// Skips (saying why) where the machine cannot run a node; CI installs everything and must run it.
const skip = support.ok ? false : process.env.CI ? false : support.why;

describe("a real node beside the control plane", { skip }, () => {
  let cp: ControlPlane;
  let core: CoreV1Api;
  before(async () => {
    if (!support.ok) throw new Error(`CI must run the real-node tier: ${support.why}`);
    cp = await startControlPlane({ realNode: true });
    core = makeReusingApiClient(cp.kubeConfig, CoreV1Api);
  });
  after(async () => {
    await cp?.stop();
  });

  test("registers Ready with its label, and runs a Pod from an imported image to Succeeded; kubectl logs reads it", async () => {
    const node = cp.realNode;
    assert.ok(node);
    const registered = await core.readNode({ name: node.name });
    assert.equal(registered.metadata?.labels?.["octorun.test/node"], "real");
    assert.ok(registered.status?.addresses?.some((a) => a.type === "InternalIP" && a.address === node.gatewayIp));
    // The pause image carries busybox: enough for a Pod that prints and exits.
    await core.createNamespacedPod({
      namespace: "default",
      body: {
        metadata: { name: "hello" },
        spec: {
          restartPolicy: "Never",
          nodeSelector: node.nodeSelector,
          automountServiceAccountToken: false,
          containers: [
            {
              name: "hello",
              image: imageRef("pause"),
              imagePullPolicy: "Never",
              command: ["/bin/busybox", "sh", "-c", "echo hello from $(/bin/busybox hostname)"],
            },
          ],
        },
      },
    });
    await waitFor(
      "the Pod Succeeded",
      async () => (await core.readNamespacedPod({ namespace: "default", name: "hello" })).status?.phase === "Succeeded",
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const logs = await cp.kubectl(["logs", "hello"]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout.trim(), "hello from hello");
  });

  test("stop removes the containers, containerd, the mounts and the bridge", async () => {
    const node = cp.realNode;
    assert.ok(node);
    const runtime = await cp.kubectl([
      "get",
      "node",
      node.name,
      "-o",
      "jsonpath={.status.nodeInfo.containerRuntimeVersion}",
    ]);
    assert.match(runtime.stdout, /^containerd:\/\//);
    const bridge = `octorunrn${node.gatewayIp.split(".")[2]}`;
    assert.equal(spawnSync("ip", ["link", "show", bridge]).status, 0, "the bridge exists while the node runs");
    const kubeconfig = cp.kubeconfigPath;
    const stateDir = kubeconfig.slice(0, kubeconfig.lastIndexOf("/"));
    await cp.stop();
    assert.notEqual(spawnSync("ip", ["link", "show", bridge]).status, 0, "the bridge is gone");
    assert.ok(!readFileSync("/proc/mounts", "utf8").includes(stateDir), "nothing stays mounted under the state folder");
    assert.ok(!existsSync(stateDir));
    const left = spawnSync("pgrep", ["-f", stateDir], { encoding: "utf8" }).stdout.trim();
    assert.equal(left, "", "no kubelet, containerd or shim of the node is left");
    // The image archives stay cached for the next run.
    assert.ok(existsSync(ensureImages(["pause"]).pause.archive));
  });

  test("a test process killed with SIGKILL leaves no container, kubelet, containerd, mount or bridge behind", async () => {
    const child = spawn(process.execPath, [join(import.meta.dirname, "fixtures", "start-real-node-and-hang.ts")], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk));
    const { stateDir, bridge } = (await waitFor(
      "a real node with a running Pod in the child",
      () => (output.includes("\n") ? JSON.parse(output) : undefined),
      { timeoutMs: 180_000 },
    )) as { stateDir: string; bridge: string };
    const running = () => spawnSync("pgrep", ["-f", stateDir], { encoding: "utf8" }).stdout.trim();
    assert.notEqual(running(), "", "the node's processes run");
    assert.ok(readFileSync("/proc/mounts", "utf8").includes(stateDir), "the Pod's volumes are mounted");
    child.kill("SIGKILL");
    await waitFor("the reaper cleaned up", () => !existsSync(stateDir), { timeoutMs: 60_000, intervalMs: 250 });
    assert.equal(running(), "", "no kubelet, containerd, shim or container is left");
    assert.ok(!readFileSync("/proc/mounts", "utf8").includes(stateDir), "nothing stays mounted");
    assert.notEqual(spawnSync("ip", ["link", "show", bridge]).status, 0, "the bridge is gone");
    // The container itself (busybox sleep 3600, in the Pod's own pid namespace) is gone too.
    assert.equal(spawnSync("pgrep", ["-f", "busybox sleep 3600"], { encoding: "utf8" }).stdout.trim(), "");
  });
});
