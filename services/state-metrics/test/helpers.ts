// Shared by this package's tests and the benchmark: scrape parsing and fixture objects.

import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobEvent } from "@octorun/bus";

export async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/** The value of the one sample whose name and labels are exactly these, or undefined. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const lastSpace = line.lastIndexOf(" ");
    const got = [...line.slice(name.length, lastSpace).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(
      (m) => [m[1], m[2]],
    );
    if (JSON.stringify(got.sort()) === want) return Number(line.slice(lastSpace + 1));
  }
  return undefined;
}

/** Runs `promtool check metrics` on exposition text; undefined when promtool is not installed. */
export async function promtoolCheck(text: string): Promise<{ code: number; output: string } | undefined> {
  const dir = await mkdtemp(join(tmpdir(), "state-metrics-promtool-"));
  try {
    const file = join(dir, "metrics.txt");
    await writeFile(file, text);
    return await new Promise((resolve) => {
      const child = execFile(
        "sh",
        ["-c", `promtool check metrics < ${file}`],
        { maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? ((error as { code?: number }).code ?? 1) : 0;
          resolve(code === 127 ? undefined : { code, output: `${stdout}${stderr}` });
        },
      );
      child.stdin?.end();
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let delivery = 0;

/** A valid job event for tests; fields as github-ingress would fill them. */
export function jobEvent(
  action: JobEvent["action"],
  jobId: number,
  overrides: Partial<JobEvent> & { labels?: string[] } = {},
): JobEvent {
  const { labels, ...rest } = overrides;
  const assigned = action === "assigned" || action === "completed";
  return {
    version: 1,
    deliveryId: `test-${process.pid}-${++delivery}-${jobId}-${action}`,
    action,
    job: {
      id: jobId,
      runId: 1000 + jobId,
      runAttempt: 1,
      name: "build",
      workflowName: "CI",
      labels: labels ?? ["self-hosted", "runnerset=linux"],
      conclusion: action === "completed" ? "success" : null,
      createdAt: "2026-11-29T12:00:00Z",
      startedAt: assigned ? "2026-11-29T12:00:30Z" : null,
      completedAt: action === "completed" ? "2026-11-29T12:05:30Z" : null,
      htmlUrl: `https://github.com/octo-org/app/actions/runs/1/job/${jobId}`,
    },
    runner: assigned
      ? { id: 7, name: "gh-runner-7", groupId: 1, groupName: "Default" }
      : { id: null, name: null, groupId: null, groupName: null },
    repository: { fullName: "octo-org/app", url: "https://github.com/octo-org/app" },
    owner: { login: "octo-org", type: "Organization", url: "https://github.com/octo-org" },
    installationId: 1,
    ...rest,
  };
}
