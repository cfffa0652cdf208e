import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import { HELD_BY_APISERVER, trimRunnerPod, trimRunnerSecret } from "../src/cache-trim.ts";
import { podFailureMessage, podReady } from "../src/runner-pod.ts";

const managedFields = [
  { manager: "kubelet", operation: "Update", fieldsType: "FieldsV1", fieldsV1: { "f:status": {} } },
];

test("a cached runner Secret keeps its keys and metadata, never the credentials", () => {
  const secret: V1Secret = {
    metadata: { name: "r-1-registration-token", annotations: { expires: "soon" }, managedFields },
    data: { jitconfig: Buffer.from("a JIT configuration").toString("base64"), empty: "" },
  };
  const cached = trimRunnerSecret(secret);
  assert.deepEqual(cached.data, { jitconfig: HELD_BY_APISERVER, empty: "" });
  assert.equal(cached.metadata?.annotations?.expires, "soon");
  assert.equal(cached.metadata?.managedFields, undefined);
  assert.ok(!JSON.stringify(cached).includes(Buffer.from("a JIT configuration").toString("base64")));
});

test("a cached runner Pod keeps what the plans read (readiness, failure, deletion) and drops its spec", () => {
  const pod: V1Pod = {
    metadata: { name: "r-1", uid: "u", deletionTimestamp: new Date(0), annotations: { a: "b" }, managedFields },
    spec: { containers: [{ name: "runner", image: "runner:1", env: [{ name: "BIG", value: "x".repeat(5000) }] }] },
    status: {
      phase: "Failed",
      reason: "Evicted",
      conditions: [{ type: "Ready", status: "False" }],
      containerStatuses: [
        {
          name: "runner",
          image: "runner:1",
          imageID: "sha",
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 3, reason: "Error" } },
        },
      ],
    },
  };
  const expected = podFailureMessage(pod);
  const cached = trimRunnerPod(pod);
  assert.equal(cached.spec, undefined);
  assert.equal(cached.metadata?.managedFields, undefined);
  assert.equal(cached.metadata?.uid, "u");
  assert.ok(cached.metadata?.deletionTimestamp);
  assert.equal(podFailureMessage(cached), expected);
  assert.equal(podReady(cached), false);
  const running = trimRunnerPod({
    metadata: { name: "r-2" },
    status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
  });
  assert.equal(podReady(running), true);
});
