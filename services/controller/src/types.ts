// The shapes of Runner and RunnerSet this service reads and writes.
// TODO(api): alias the generated types of @octorun/api once types.generated.ts is committed.
// Metadata is client-node's V1ObjectMeta so that the objects fit @octorun/kube's generics; note that
// its timestamps are typed Date but arrive as RFC 3339 strings from the JSON client (read them with
// `timeOf`).

import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { Condition } from "@octorun/kube";
import type { LabelSelector } from "./label-selector.ts";

export interface RunnerJobStatus {
  id: number;
  runId?: number;
  runAttempt?: number;
  name?: string;
  repository?: string;
  workflow?: string;
  assignedAt?: string;
  completedAt?: string;
  conclusion?: string;
}

export interface RunnerStatus {
  phase?: "Pending" | "Idle" | "Active" | "Complete" | "Failed";
  conditions?: Condition[];
  observedGeneration?: number;
  runnerName?: string;
  job?: RunnerJobStatus;
}

export interface RunnerSpecView {
  url: string;
  id?: number;
  os?: string;
  group?: string;
  workdir?: string;
  image?: { name?: string; pullPolicy?: "Always" | "Never" | "IfNotPresent"; pullSecrets?: { name?: string }[] };
  evictionPolicy?: "Never" | "IfNotActive";
  placement?: { nodeSelector?: Record<string, string>; tolerations?: unknown[]; affinity?: unknown };
  resources?: unknown;
  serviceAccountName?: string;
  securityContext?: unknown;
  runtimeClassName?: string;
  volumes?: unknown[];
  volumeMounts?: unknown[];
}

export interface RunnerObject {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec: RunnerSpecView;
  status?: RunnerStatus;
}

export interface RunnerTemplateView {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: RunnerSpecView;
}

export interface RunnerSetStatus {
  runners?: number;
  idleRunners?: number;
  activeRunners?: number;
  selector?: string;
  conditions?: Condition[];
  currentRevision?: string;
  nextRevision?: string;
  collisionCount?: number;
  observedGeneration?: number;
}

export interface RunnerSetObject {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec: {
    runners?: number;
    selector: LabelSelector;
    template: RunnerTemplateView;
    updateStrategy?: { type?: "OnDelete" | "RollingUpdate" };
    revisionHistoryLimit?: number;
  };
  status?: RunnerSetStatus;
}

/** Epoch ms of a metadata timestamp (a string at run time, whatever client-node's type says); 0 if absent. */
export function timeOf(value: Date | string | undefined): number {
  if (value === undefined) return 0;
  return value instanceof Date ? value.getTime() : Date.parse(value) || 0;
}
