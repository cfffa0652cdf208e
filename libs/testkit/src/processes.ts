import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, createWriteStream, existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const reaperScript = join(dirname(fileURLToPath(import.meta.url)), "reaper.ts");
const live = new Set<ProcessGroup>();

// Last resort inside this process: on any exit, kill what is still running (synchronously).
process.once("exit", () => {
  for (const group of live) group.killNow();
});

/**
 * The processes of one test environment. Each is recorded in `<stateDir>/pids`; a detached
 * reaper process watches this one and, should it die without stopping them (SIGKILL, a crash),
 * kills them and removes the state folder, so nothing is ever left behind.
 */
export class ProcessGroup {
  readonly stateDir: string;
  readonly #children: { name: string; child: ChildProcess }[] = [];
  readonly #pidsFile: string;
  #reaper: ChildProcess | undefined;

  constructor(stateDir: string) {
    this.stateDir = stateDir;
    this.#pidsFile = join(stateDir, "pids");
    appendFileSync(this.#pidsFile, "");
    live.add(this);
  }

  /** Starts a program with its output in `<stateDir>/logs/<name>.log`. */
  start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const log = createWriteStream(join(this.stateDir, `${name}.log`), { flags: "a" });
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
    appendFileSync(this.#pidsFile, `${child.pid} ${name}\n`);
    this.#children.push({ name, child });
    this.#reaper ??= this.#startReaper();
    return child;
  }

  logTail(name: string, lines = 30): string {
    const file = join(this.stateDir, `${name}.log`);
    if (!existsSync(file)) return "";
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  }

  /** Stops one program by name: TERM, then KILL after the grace period. */
  async stopOne(name: string, graceMs = 5_000): Promise<void> {
    const entries = this.#children.filter((entry) => entry.name === name);
    await Promise.all(entries.map((entry) => terminate(entry.child, graceMs)));
    for (const entry of entries) this.#children.splice(this.#children.indexOf(entry), 1);
  }

  /** Stops every program, newest first, and removes the state folder. */
  async stop(graceMs = 5_000): Promise<void> {
    for (const entry of [...this.#children].reverse()) await terminate(entry.child, graceMs);
    this.#children.length = 0;
    this.#reaper?.kill("SIGKILL");
    live.delete(this);
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  /** Process ids of the programs still running (one killed from outside and started again appears once). */
  pids(): number[] {
    return this.#children
      .filter((entry) => entry.child.exitCode === null && entry.child.signalCode === null)
      .map((entry) => entry.child.pid)
      .filter((pid): pid is number => pid !== undefined);
  }

  killNow(): void {
    for (const { child } of this.#children) if (child.exitCode === null) child.kill("SIGKILL");
  }

  #startReaper(): ChildProcess {
    const reaper = spawn(process.execPath, [reaperScript, String(process.pid), this.#pidsFile, this.stateDir], {
      detached: true,
      stdio: "ignore",
    });
    reaper.unref();
    return reaper;
  }
}

function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
