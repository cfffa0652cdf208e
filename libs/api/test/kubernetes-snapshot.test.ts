import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type ControlPlane, startControlPlane } from "@octorun/testkit";
import { kubernetesSnapshot } from "../src/schema/kubernetes.ts";
import { snapshotFromOpenApi } from "../src/schema/openapi-snapshot.ts";

let cp: ControlPlane;
before(async () => {
  cp = await startControlPlane();
});
after(async () => {
  await cp?.stop();
});

test("the committed Kubernetes schema snapshot matches the pinned apiserver's OpenAPI v3 (else run scripts/snapshot-kubernetes-schemas.ts)", async () => {
  const raw = await cp.kubectl(["get", "--raw", "/openapi/v3/api/v1"]);
  assert.equal(raw.code, 0, raw.stderr);
  const live = snapshotFromOpenApi([JSON.parse(raw.stdout)], "live");
  assert.deepEqual(live.definitions, kubernetesSnapshot().definitions);
});
