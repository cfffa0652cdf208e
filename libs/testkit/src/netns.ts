// A network namespace for one test run, reached from the host over a veth pair, with a forwarder
// inside that carries what arrives at the namespace's address to a loopback port of this host.
// It gives a local process a non-loopback address, which an EndpointSlice accepts (Endpoints
// refuse loopback) and the apiserver's aggregator can dial. Traffic stays on this machine: the
// /30 is private, and only the run's own namespace holds its far end. Needs root and `ip`.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ProcessGroup } from "./processes.ts";
import { waitFor } from "./wait.ts";

const forwarderScript = join(dirname(fileURLToPath(import.meta.url)), "forwarder.ts");

export interface NetnsForward {
  /** The namespace's address: connections to address:port reach the target. */
  address: string;
  port: number;
  /** The namespace's name (`ip netns exec <name> …`). */
  name: string;
  stop(): Promise<void>;
}

/** Why a network namespace cannot be made here, or undefined when it can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "making a network namespace needs root";
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore" });
  } catch {
    return "the `ip` command (iproute2) is missing or cannot list network namespaces";
  }
  return undefined;
}

/**
 * Makes a namespace with a veth pair in a free /30 of 10.213.0.0/16 and forwards
 * `<address>:<port>` inside it to `127.0.0.1:<targetPort>` on the host. Removed on stop, and by
 * the process group's reaper (its `on-abandon` script) should the test process die first.
 */
export async function startNetnsForward(targetPort: number, port = 443): Promise<NetnsForward> {
  const reason = netnsUnavailable();
  if (reason) throw new Error(reason);
  const id = randomBytes(3).toString("hex");
  const name = `octorun-${id}`;
  const [hostIf, nsIf] = [`oct${id}h`, `oct${id}n`];
  const { host, ns } = freeSubnet();
  const group = new ProcessGroup(mkdtempSync(join(tmpdir(), "octorun-netns-")));
  // Deleting the namespace also deletes the veth pair (once the forwarder in it has exited).
  const cleanup = join(group.stateDir, "cleanup.sh");
  writeFileSync(cleanup, `ip netns del ${name} 2>/dev/null\nip link del ${hostIf} 2>/dev/null\nexit 0\n`, {
    mode: 0o755,
  });
  // Should this process die, the reaper runs the cleanup before it removes the state folder.
  writeFileSync(join(group.stateDir, "on-abandon"), `${cleanup}\n`, { flag: "a" });
  const stop = async () => {
    await group.stopOne("forward-netns");
    await group.stopOne("forward-host");
    spawnSync("bash", [cleanup], { stdio: "ignore" });
    await group.stop();
  };
  const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
  try {
    ip("netns", "add", name);
    ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf);
    ip("link", "set", nsIf, "netns", name);
    ip("addr", "add", `${host}/30`, "dev", hostIf);
    ip("link", "set", hostIf, "up");
    ip("netns", "exec", name, "ip", "addr", "add", `${ns}/30`, "dev", nsIf);
    ip("netns", "exec", name, "ip", "link", "set", nsIf, "up");
    ip("netns", "exec", name, "ip", "link", "set", "lo", "up");
    const socket = join(group.stateDir, "forward.sock");
    group.start("forward-host", process.execPath, [forwarderScript, `unix:${socket}`, `tcp:127.0.0.1:${targetPort}`]);
    await waitFor("the host-side forwarder", () => canConnect({ path: socket }), { timeoutMs: 10_000, intervalMs: 50 });
    group.start("forward-netns", "ip", [
      "netns",
      "exec",
      name,
      process.execPath,
      forwarderScript,
      `tcp:${ns}:${port}`,
      `unix:${socket}`,
    ]);
    await waitFor("the forwarder in the network namespace", () => canConnect({ host: ns, port }), {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
  } catch (error) {
    const tail = group.logTail("forward-netns");
    await stop();
    throw new Error(`network namespace ${name}: ${(error as Error).message}\n${tail}`);
  }
  return { address: ns, port, name, stop };
}

/** A /30 of 10.213.0.0/16 that no interface of this host uses: [host side, namespace side]. */
function freeSubnet(): { host: string; ns: string } {
  const used = execFileSync("ip", ["-o", "-4", "addr", "show"], { encoding: "utf8" });
  for (let attempt = 0; attempt < 64; attempt++) {
    const block = randomBytes(2).readUInt16BE() & 0x3ffc; // 16,384 /30s
    const prefix = `10.213.${block >> 8}.`;
    const base = block & 0xff;
    if (!used.includes(`${prefix}${base + 1}/`) && !used.includes(`${prefix}${base + 2}/`)) {
      return { host: `${prefix}${base + 1}`, ns: `${prefix}${base + 2}` };
    }
  }
  throw new Error("no free /30 in 10.213.0.0/16");
}

function canConnect(target: { path: string } | { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(target);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
