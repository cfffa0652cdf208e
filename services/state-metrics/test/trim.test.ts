import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubernetesObject } from "@kubernetes/client-node";
import { trimRunner, trimRunnerSet } from "../src/trim.ts";

const meta = {
  name: "r",
  namespace: "ci",
  uid: "u",
  resourceVersion: "7",
  creationTimestamp: "2026-11-29T12:00:00Z",
  labels: { a: "b" },
  ownerReferences: [
    {
      apiVersion: "octorun.github.io/v1alpha2",
      kind: "RunnerSet",
      name: "s",
      uid: "s",
      controller: true,
      blockOwnerDeletion: true,
    },
  ],
  annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{...}" },
  managedFields: [{ manager: "kubectl" }],
  finalizers: ["runner.octorun.github.io/controller"],
};
const keptMeta = {
  ...meta,
  // The owner as placement reads it (blockOwnerDeletion is the garbage collector's business).
  ownerReferences: [
    { apiVersion: "octorun.github.io/v1alpha2", kind: "RunnerSet", name: "s", uid: "s", controller: true },
  ],
  annotations: undefined,
  managedFields: undefined,
  finalizers: undefined,
};
for (const key of ["annotations", "managedFields", "finalizers"] as const) delete keptMeta[key];

test("a cached Runner keeps only what the families and job placement read", () => {
  const runner = {
    apiVersion: "octorun.github.io/v1alpha2",
    kind: "Runner",
    metadata: structuredClone(meta),
    spec: {
      url: "https://github.com/o",
      group: "g",
      id: 4,
      os: "linux",
      image: { name: "i" },
      volumes: [{ name: "v" }],
    },
    status: {
      phase: "Idle",
      runnerName: "gh",
      observedGeneration: 2,
      job: { id: 1 },
      conditions: [{ type: "Online", status: "True", reason: "R", message: "long", lastTransitionTime: "t" }],
    },
  };
  assert.deepEqual(trimRunner(runner as unknown as KubernetesObject), {
    apiVersion: "octorun.github.io/v1alpha2",
    kind: "Runner",
    metadata: keptMeta,
    spec: { url: "https://github.com/o", group: "g", id: 4, os: "linux" },
    status: { phase: "Idle", runnerName: "gh", conditions: [{ type: "Online", status: "True" }] },
  });
  assert.deepEqual(trimRunner({ metadata: { name: "bare" } } as KubernetesObject), {
    metadata: { name: "bare" },
    spec: undefined,
    status: undefined,
  });
});

test("a cached RunnerSet keeps counts, conditions, template labels and URL", () => {
  const set = {
    metadata: structuredClone(meta),
    spec: {
      runners: 3,
      selector: { matchLabels: { a: "b" } },
      template: {
        metadata: { labels: { a: "b" }, annotations: { x: "y" } },
        spec: { url: "https://github.com/o", image: { name: "i" } },
      },
    },
    status: {
      runners: 3,
      idleRunners: 1,
      activeRunners: 2,
      currentRevision: "r",
      conditions: [{ type: "Ready", status: "False", message: "m" }],
    },
  };
  assert.deepEqual(trimRunnerSet(set as unknown as KubernetesObject), {
    metadata: keptMeta,
    spec: { runners: 3, template: { metadata: { labels: { a: "b" } }, spec: { url: "https://github.com/o" } } },
    status: { runners: 3, idleRunners: 1, activeRunners: 2, conditions: [{ type: "Ready", status: "False" }] },
  });
});
