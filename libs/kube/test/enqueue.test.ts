import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubernetesObject } from "@kubernetes/client-node";
import { controllerOwnerKey } from "../src/enqueue.ts";

const child = (
  refs: NonNullable<KubernetesObject["metadata"]>["ownerReferences"],
  namespace = "ns",
): KubernetesObject => ({
  metadata: { name: "pod-1", namespace, ownerReferences: refs },
});
const ref = (apiVersion: string, kind: string, name: string, controller = true) => ({
  apiVersion,
  kind,
  name,
  uid: "u",
  controller,
});

describe("controllerOwnerKey", () => {
  const runnerOwner = controllerOwnerKey("Runner", "octorun.github.io");
  const cases: [string, KubernetesObject, string | undefined][] = [
    [
      "the controller owner of the right kind and group",
      child([ref("octorun.github.io/v1alpha2", "Runner", "r1")]),
      "ns/r1",
    ],
    ["any version of the group", child([ref("octorun.github.io/v1alpha1", "Runner", "r1")]), "ns/r1"],
    ["no owner", child(undefined), undefined],
    [
      "an owner that is not the controller",
      child([ref("octorun.github.io/v1alpha2", "Runner", "r1", false)]),
      undefined,
    ],
    ["another kind", child([ref("octorun.github.io/v1alpha2", "RunnerSet", "s1")]), undefined],
    ["another group with the same kind", child([ref("example.com/v1", "Runner", "r1")]), undefined],
    [
      "the controller among several owners",
      child([ref("v1", "ConfigMap", "c", false), ref("octorun.github.io/v1alpha2", "Runner", "r2")]),
      "ns/r2",
    ],
  ];
  for (const [name, obj, expected] of cases) {
    test(name, () => assert.equal(runnerOwner(obj), expected));
  }
  test("core group owners", () => {
    assert.equal(controllerOwnerKey("ConfigMap", "")(child([ref("v1", "ConfigMap", "c")])), "ns/c");
  });
});
