// Regenerates libs/api/src/schema/kubernetes-openapi.json from a real kube-apiserver's OpenAPI v3
// document (the pinned testkit version). Run after changing the Kubernetes version or the list of
// embedded types, then run generate.ts:
//   node_modules/.bin/node libs/api/scripts/snapshot-kubernetes-schemas.ts
import { writeFileSync } from "node:fs";
import { pinnedVersions, startControlPlane } from "@octorun/testkit";
import { SNAPSHOT_PATH } from "../src/schema/kubernetes.ts";
import { snapshotFromOpenApi } from "../src/schema/openapi-snapshot.ts";

const controlPlane = await startControlPlane();
try {
  const core = await controlPlane.kubectl(["get", "--raw", "/openapi/v3/api/v1"]);
  if (core.code !== 0) throw new Error(`kubectl get --raw /openapi/v3/api/v1: ${core.stderr}`);
  const version = await controlPlane.kubectl(["version", "-o", "json"]);
  const gitVersion = (JSON.parse(version.stdout) as { serverVersion?: { gitVersion?: string } }).serverVersion
    ?.gitVersion;
  const snapshot = snapshotFromOpenApi(
    [JSON.parse(core.stdout)],
    `kube-apiserver ${gitVersion ?? `v${pinnedVersions().K8S_VERSION}`} /openapi/v3/api/v1`,
  );
  writeFileSync(SNAPSHOT_PATH, `${JSON.stringify(snapshot, null, 2)}\n`);
  console.log(`wrote ${Object.keys(snapshot.definitions).length} definitions to ${SNAPSHOT_PATH}`);
} finally {
  await controlPlane.stop();
}
