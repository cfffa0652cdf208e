// The shapes of Runner and RunnerSet this service reads and writes.
// TODO(api): alias the generated types of @octorun/api once types.generated.ts is committed.

import type { ObjectMeta } from "@octorun/api";
import type { Condition } from "./conditions.ts";
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
  metadata: ObjectMeta;
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
  metadata: ObjectMeta;
  spec: {
    runners?: number;
    selector: LabelSelector;
    template: RunnerTemplateView;
    updateStrategy?: { type?: "OnDelete" | "RollingUpdate" };
    revisionHistoryLimit?: number;
  };
  status?: RunnerSetStatus;
}
