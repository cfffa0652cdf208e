// CPU time processes used during a measurement, from /proc: tells which process a figure waits on
// when the machine's cores are the limit.
import { readFileSync } from "node:fs";

/** CPU seconds (user + system) a process has used so far; 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may hold spaces) start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/** The command name of a process (`kube-apiserver`, `node`, …). */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return String(pid);
  }
}

/**
 * Starts measuring the named processes; the returned function says each one's share of the wall
 * time and, given a count of units of work (jobs, runners), its CPU milliseconds per unit.
 */
export function measureCpu(processes: Record<string, number | undefined>): (units?: number) => string {
  const started = performance.now();
  const before = Object.entries(processes).map(([name, pid]) => ({ name, pid, cpu: pid ? cpuSeconds(pid) : 0 }));
  return (units) => {
    const wall = (performance.now() - started) / 1000;
    return before
      .filter((p) => p.pid)
      .map((p) => {
        const used = cpuSeconds(p.pid!) - p.cpu;
        const perUnit = units ? ` (${((used * 1000) / units).toFixed(1)} ms each)` : "";
        return `${p.name} ${((used / wall) * 100).toFixed(0)}%${perUnit}`;
      })
      .join(", ");
  };
}
