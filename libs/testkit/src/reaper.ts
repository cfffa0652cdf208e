// Watches a test process; when it is gone, kills the programs it recorded and removes its state.
// Started detached (its own session), so a Ctrl-C or SIGKILL of the test process does not reach it.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const [parentPid, pidsFile, stateDir] = process.argv.slice(2) as [string, string, string];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function recordedPids(): number[] {
  if (!existsSync(pidsFile)) return [];
  return readFileSync(pidsFile, "utf8")
    .split("\n")
    .map((line) => Number(line.split(" ")[0]))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

const timer = setInterval(() => {
  if (!existsSync(stateDir)) process.exit(0); // stopped normally
  if (alive(Number(parentPid))) return;
  clearInterval(timer);
  const pids = recordedPids();
  for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGTERM");
  setTimeout(() => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
    // What killing processes does not undo (a real node's containers, mounts, bridge) has a
    // cleanup script of its own, listed in `on-abandon`.
    const onAbandon = join(stateDir, "on-abandon");
    const scripts = existsSync(onAbandon) ? readFileSync(onAbandon, "utf8").split("\n").filter(Boolean) : [];
    for (const script of scripts) spawnSync("bash", [script], { stdio: "ignore", timeout: 60_000 });
    rmSync(stateDir, { recursive: true, force: true });
    process.exit(0);
  }, 3_000);
}, 300);
