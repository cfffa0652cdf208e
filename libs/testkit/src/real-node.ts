// A real Kubernetes node for tests where a Pod's behaviour matters (its Secret's permissions, its
// security context, eviction and drain): the kubelet built at the control plane's version, with
// containerd and runc from Debian's packages and the CNI bridge plugin. kwok stays for scale.
//
// What it takes on these machines (each was a failure first; see the project's realnode notes):
// cgroup v1 in hybrid mode (failCgroupV1: false, cgroupfs, no QoS cgroups), runc rather than crun,
// containerd may not lower oom_score_adj (restrict_oom_score_adj), the kubelet refuses a loopback
// node IP (the node is named `localhost`, its IP is its own bridge's gateway), images come from
// OCI archives imported into containerd (no registry can be reached).
//
// Everything it makes lives under the control plane's state folder, on a bridge and a pod subnet
// of its own (a slot, so that two test files can each run a node), and is removed by one cleanup
// script: run by stop(), and by the reaper should the test process die.
import { execFile, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { CoreV1Api } from "@kubernetes/client-node";
import { ensureImages } from "./images.ts";
import { makeReusingApiClient } from "./kube-api.ts";
import { freePort } from "./ports.ts";
import type { ProcessGroup } from "./processes.ts";
import { waitFor } from "./wait.ts";

const run = promisify(execFile);

/** The label every real node carries; a test's Pods land on it through this node selector. */
export const REAL_NODE_LABEL = { key: "octorun.test/node", value: "real" } as const;
const SLOTS_DIR = "/tmp/octorun-realnode-slots";
const MAX_SLOTS = 32;

export interface RealNode {
  /** The Node's name. */
  name: string;
  /** Puts a Pod on this node. */
  nodeSelector: Record<string, string>;
  /** The gateway address of the node's pod network (the host side of its bridge). */
  gatewayIp: string;
  /** Imports an OCI image archive (from `npm run images`), for Pods with imagePullPolicy Never or IfNotPresent. */
  importImage(archivePath: string): Promise<void>;
  /** The kubelet's log, for a failing test's message. */
  kubeletLogTail(lines?: number): string;
  stop(): Promise<void>;
}

const HOST_TOOLS = ["containerd", "containerd-shim-runc-v2", "runc", "ctr", "ip", "mount", "umount"];
const CNI_PLUGINS = ["bridge", "host-local", "loopback"];

/**
 * Whether this machine can run a real node, and if not, why: it needs root and Debian's
 * containerd, runc and containernetworking-plugins (`npm run setup` installs them as root).
 */
export function realNodeSupport(): { ok: true } | { ok: false; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: "a real node needs root (containerd, mounts, a bridge)" };
  const missing = HOST_TOOLS.filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
  const missingCni = CNI_PLUGINS.filter((plugin) => !existsSync(`/usr/lib/cni/${plugin}`));
  if (missing.length > 0 || missingCni.length > 0) {
    return {
      ok: false,
      why: `a real node needs ${[...missing, ...missingCni.map((p) => `/usr/lib/cni/${p}`)].join(", ")} (apt-get install containerd runc containernetworking-plugins iproute2, or npm run setup as root)`,
    };
  }
  return { ok: true };
}

/** A pod subnet and bridge of its own: slot N owns 10.246.N.0/24 and bridge `octorunrn<N>`. */
function takeSlot(owner: string): number {
  mkdirSync(SLOTS_DIR, { recursive: true });
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    const dir = join(SLOTS_DIR, String(slot));
    try {
      mkdirSync(dir);
    } catch {
      // Taken, unless its owner's state folder is gone (a run that died before its cleanup).
      const ownerDir = readFileSync(join(dir, "owner"), { encoding: "utf8", flag: "a+" }).trim();
      if (ownerDir !== "" && existsSync(ownerDir)) continue;
      rmSync(dir, { recursive: true, force: true });
      try {
        mkdirSync(dir);
      } catch {
        continue;
      }
    }
    writeFileSync(join(dir, "owner"), owner);
    return slot;
  }
  throw new Error(`no free real-node slot in ${SLOTS_DIR} (${MAX_SLOTS} in use)`);
}

export interface RealNodeOptions {
  group: ProcessGroup;
  kubelet: string;
  kubeconfigPath: string;
}

/** Starts containerd and the kubelet, and waits until the Node is Ready. */
export async function startRealNode({ group, kubelet, kubeconfigPath }: RealNodeOptions): Promise<RealNode> {
  const support = realNodeSupport();
  if (!support.ok) throw new Error(support.why);
  const work = join(group.stateDir, "realnode");
  mkdirSync(join(work, "cni"), { recursive: true });
  const slot = takeSlot(group.stateDir);
  const bridge = `octorunrn${slot}`;
  const subnet = `10.246.${slot}.0/24`;
  const gatewayIp = `10.246.${slot}.1`;
  const socket = join(work, "containerd.sock");
  const cleanup = join(work, "cleanup.sh");
  writeFileSync(cleanup, cleanupScript({ work, socket, bridge, slotDir: join(SLOTS_DIR, String(slot)) }));
  chmodSync(cleanup, 0o755);
  // Should this process die, the reaper runs the cleanup before it removes the state folder.
  writeFileSync(join(group.stateDir, "on-abandon"), `${cleanup}\n`, { flag: "a" });

  const node: RealNode = {
    name: "localhost",
    nodeSelector: { [REAL_NODE_LABEL.key]: REAL_NODE_LABEL.value },
    gatewayIp,
    importImage: async (archivePath) => {
      await run("ctr", ["-a", socket, "-n", "k8s.io", "images", "import", archivePath]);
    },
    kubeletLogTail: (lines) => group.logTail("kubelet", lines),
    stop: async () => {
      await group.stopOne("kubelet");
      spawnSync("bash", [cleanup], { stdio: "ignore" });
    },
  };
  try {
    // The bridge exists before the first Pod, so that the node's IP is its gateway.
    await run("ip", ["link", "add", bridge, "type", "bridge"]);
    await run("ip", ["addr", "add", `${gatewayIp}/24`, "dev", bridge]);
    await run("ip", ["link", "set", bridge, "up"]);
    writeFileSync(join(work, "containerd.toml"), containerdConfig(work, socket));
    writeFileSync(join(work, "cni", "10-octorun.conflist"), cniConfig(work, bridge, subnet, slot));
    group.start("containerd", "containerd", ["--config", join(work, "containerd.toml")]);
    await waitFor("containerd", async () => await run("ctr", ["-a", socket, "version"]).then(() => true), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    const { pause } = ensureImages(["pause"]);
    await node.importImage(pause.archive);

    const port = await freePort();
    writeFileSync(join(work, "kubelet.yaml"), kubeletConfig(work, socket, port));
    group.start(
      "kubelet",
      kubelet,
      [
        `--config=${join(work, "kubelet.yaml")}`,
        `--kubeconfig=${kubeconfigPath}`,
        `--root-dir=${join(work, "kubelet")}`,
        `--hostname-override=${node.name}`,
        `--node-ip=${gatewayIp}`,
        `--node-labels=${REAL_NODE_LABEL.key}=${REAL_NODE_LABEL.value}`,
        "--v=1",
      ],
      { ...process.env, NO_PROXY: "*", no_proxy: "*" },
    );
    const kubeConfig = await import("@kubernetes/client-node").then(({ KubeConfig }) => {
      const config = new KubeConfig();
      config.loadFromFile(kubeconfigPath);
      return config;
    });
    const core = makeReusingApiClient(kubeConfig, CoreV1Api);
    await waitFor(
      "the real node Ready",
      async () => {
        const found = await core.readNode({ name: node.name }).catch(() => undefined);
        return found?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    return node;
  } catch (error) {
    const tail = `--- containerd\n${group.logTail("containerd", 15)}\n--- kubelet\n${group.logTail("kubelet", 25)}`;
    await node.stop();
    throw new Error(`the real node did not start: ${(error as Error).message}\n${tail}`);
  }
}

function containerdConfig(work: string, socket: string): string {
  // restrict_oom_score_adj: this VM may not lower oom_score_adj (the sandbox asks for -998).
  // netns_mounts_under_state_dir and the runc Root keep every Pod's namespace and container
  // state under `work`, where the cleanup finds them.
  return `version = 2
root = "${work}/containerd-root"
state = "${work}/containerd-state"
[grpc]
  address = "${socket}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "octorun.test/pause:1"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${work}/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      Root = "${work}/runc"
`;
}

function cniConfig(work: string, bridge: string, subnet: string, slot: number): string {
  // No masquerading and no default route out: Pods reach this node's own addresses and nothing else.
  return JSON.stringify({
    cniVersion: "1.0.0",
    name: `octorun-realnode-${slot}`,
    plugins: [
      {
        type: "bridge",
        bridge,
        isGateway: false,
        ipMasq: false,
        ipam: { type: "host-local", ranges: [[{ subnet }]], dataDir: join(work, "ipam") },
      },
    ],
  });
}

function kubeletConfig(work: string, socket: string, port: number): string {
  // cgroup v1 hybrid on these VMs: failCgroupV1 false, cgroupfs, no QoS cgroups. The kubelet
  // answers the apiserver (logs, exec) on loopback only.
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
cgroupsPerQOS: false
enforceNodeAllocatable: []
containerRuntimeEndpoint: unix://${socket}
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
address: 127.0.0.1
port: ${port}
readOnlyPort: 0
healthzPort: 0
podLogsDir: ${work}/pod-logs
volumePluginDir: ${work}/volume-plugins
serializeImagePulls: false
localStorageCapacityIsolation: false
imageGCHighThresholdPercent: 100
evictionHard: {"memory.available": "100Mi"}
nodeStatusUpdateFrequency: 2s
`;
}

function cleanupScript(paths: { work: string; socket: string; bridge: string; slotDir: string }): string {
  return `#!/usr/bin/env bash
# Removes what a real test node made: containers, containerd, mounts, its bridge and its slot.
# Run by RealNode.stop() and, if the test process died, by the reaper.
work='${paths.work}'
socket='${paths.socket}'
pkill -KILL -f -- "--root-dir=$work/kubelet" 2>/dev/null
for task in $(ctr -a "$socket" -n k8s.io tasks ls -q 2>/dev/null); do
  ctr -a "$socket" -n k8s.io tasks kill --all -s KILL "$task" >/dev/null 2>&1
done
# Without containerd (the reaper killed it) the containers are still there: runc finds them in
# its root, one folder per containerd namespace.
for root in "$work"/runc/*/; do
  for id in $(runc --root "$root" list -q 2>/dev/null); do
    runc --root "$root" kill --all "$id" KILL >/dev/null 2>&1
    runc --root "$root" delete --force "$id" >/dev/null 2>&1
  done
done
pkill -TERM -f -- "containerd --config $work/containerd.toml" 2>/dev/null
sleep 1
pkill -KILL -f -- "-address $socket" 2>/dev/null
pkill -KILL -f -- "containerd --config $work/containerd.toml" 2>/dev/null
grep -o " $work[^ ]*" /proc/mounts | sort -r | while read -r mount; do umount -l "$mount" 2>/dev/null; done
ip link delete '${paths.bridge}' 2>/dev/null
rm -rf '${paths.slotDir}'
exit 0
`;
}
