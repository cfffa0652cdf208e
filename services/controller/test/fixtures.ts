// Objects for the table tests of the pure parts.
import type { V1Pod } from "@kubernetes/client-node";
import { RUNNER_FINALIZER } from "@octorun/api";
import type { JobEvent } from "@octorun/bus";
import type { RunnerObject, RunnerSetObject } from "../src/types.ts";

export const NOW = Date.parse("2026-01-02T03:04:05Z");

export function runner(overrides: Partial<RunnerObject> & { name?: string } = {}): RunnerObject {
  const name = overrides.name ?? "r1";
  return {
    apiVersion: "octorun.github.io/v1alpha2",
    kind: "Runner",
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      generation: 1,
      creationTimestamp: "2026-01-02T03:00:00Z" as unknown as Date,
      labels: { "octorun.github.io/runner": name },
      finalizers: [RUNNER_FINALIZER],
      ...(overrides.metadata ?? {}),
    },
    spec: { url: "https://github.com/acme", image: { name: "runner:1" }, ...(overrides.spec ?? {}) },
    ...(overrides.status ? { status: overrides.status } : {}),
  };
}

export function pod(phase: string, ready = false, extra: Partial<V1Pod["metadata"]> = {}): V1Pod {
  return {
    metadata: {
      name: "r1",
      namespace: "ns",
      annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "true" },
      ...extra,
    },
    status: {
      phase,
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    },
  };
}

export function runnerSet(
  overrides: { runners?: number; strategy?: "OnDelete" | "RollingUpdate"; image?: string } = {},
): RunnerSetObject {
  return {
    metadata: { name: "set", namespace: "ns", uid: "set-uid", generation: 2 },
    spec: {
      runners: overrides.runners ?? 3,
      selector: { matchLabels: { "octorun.github.io/runnerset": "set" } },
      template: {
        metadata: { labels: { "octorun.github.io/runnerset": "set" } },
        spec: { url: "https://github.com/acme", image: { name: overrides.image ?? "runner:1" } },
      },
      updateStrategy: { type: overrides.strategy ?? "OnDelete" },
    },
  };
}

export function jobEvent(
  action: JobEvent["action"],
  over: { jobId?: number; runnerName?: string | null; runnerId?: number | null } = {},
): JobEvent {
  const completed = action === "completed";
  return {
    version: 1,
    deliveryId: `d-${action}-${over.jobId ?? 11}`,
    action,
    job: {
      id: over.jobId ?? 11,
      runId: 22,
      runAttempt: 1,
      name: "build",
      workflowName: "CI",
      labels: ["self-hosted"],
      conclusion: completed ? "success" : null,
      createdAt: "2026-01-02T03:00:00Z",
      startedAt: action === "queued" ? null : "2026-01-02T03:01:00Z",
      completedAt: completed ? "2026-01-02T03:05:00Z" : null,
      htmlUrl: "https://github.com/acme/app/actions/runs/22/job/11",
    },
    runner: {
      id: over.runnerId === undefined ? 7 : over.runnerId,
      name: over.runnerName === undefined ? "ns-r1-x" : over.runnerName,
      groupId: 1,
      groupName: "Default",
    },
    repository: { fullName: "acme/app", url: "https://api.github.com/repos/acme/app" },
    owner: { login: "acme", type: "Organization", url: "https://api.github.com/users/acme" },
    installationId: null,
  };
}
