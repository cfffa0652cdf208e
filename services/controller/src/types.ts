// The shapes of Runner and RunnerSet this service reads and writes.
// Status types are @octorun/api's generated ones; metadata and spec are narrow views (see below).
// Metadata is client-node's V1ObjectMeta so that the objects fit @octorun/kube's generics; note that
// its timestamps are typed Date but arrive as RFC 3339 strings from the JSON client (read them with
// `timeOf`).

import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { LabelSelector, RunnerJob, RunnerSetStatus, RunnerStatus } from "@octorun/api";

/** The Runner status and its job, as @octorun/api generates them from the schema. */
export type RunnerJobStatus = RunnerJob;
export type { RunnerStatus };

export interface RunnerSpecView {
  url: string;
  id?: number;
  os?: string;
  group?: string;
  workdir?: string;
  image?: { name?: string; pullPolicy?: "Always" | "Never" | "IfNotPresent"; pullSecrets?: { name?: string }[] };
  evictionPolicy?: "Never" | "IfNotActive";
  labels?: string[];
  githubSecretRef?: { name: string };
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

export type { RunnerSetStatus };

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
