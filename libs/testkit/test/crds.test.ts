// installCrds against a real apiserver: what it serves afterwards is deploy/crds as written, so the
// tests run against the CRDs users install (enums, defaults and CEL rules included).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ControlPlane, fileCrdSchemas, installCrds, servedCrdSchemas, startControlPlane } from "../src/index.ts";

describe("installCrds", () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane();
    await installCrds(cp, { conversion: "None" });
  });
  after(() => cp?.stop());

  test("the apiserver serves each version's schema exactly as deploy/crds writes it", async () => {
    const files = fileCrdSchemas();
    assert.deepEqual(Object.keys(files).sort(), ["runners.octorun.github.io", "runnersets.octorun.github.io"]);
    assert.deepEqual(await servedCrdSchemas(cp), files);
  });

  test("kubectl explain shows evictionPolicy's enum; the OpenAPI document it reads has the default too", async () => {
    const explained = await cp.kubectl(["explain", "runners.spec.evictionPolicy"]);
    assert.equal(explained.code, 0, explained.stderr);
    assert.match(explained.stdout, /ENUM:\s+Never\s+IfNotActive/);
    const openapi = await cp.kubectl(["get", "--raw", "/openapi/v3/apis/octorun.github.io/v1alpha2"]);
    assert.equal(openapi.code, 0, openapi.stderr);
    const schemas = JSON.parse(openapi.stdout).components.schemas;
    const policy = schemas["io.github.octorun.v1alpha2.Runner"].properties.spec.properties.evictionPolicy;
    assert.deepEqual([policy.enum, policy.default], [["Never", "IfNotActive"], "IfNotActive"]);
  });

  test("with no webhook, the apiserver refuses a nonsense evictionPolicy and defaults a missing one", async () => {
    const runner = (name: string, spec: Record<string, unknown>) =>
      JSON.stringify({
        apiVersion: "octorun.github.io/v1alpha2",
        kind: "Runner",
        metadata: { name, namespace: "default" },
        spec: { url: "https://github.com/octorun", ...spec },
      });
    const refused = await cp.kubectl(["create", "-f", "-"], runner("nonsense", { evictionPolicy: "Sometimes" }));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /spec\.evictionPolicy: Unsupported value: "Sometimes"/);
    const created = await cp.kubectl(["create", "-o", "json", "-f", "-"], runner("plain", {}));
    assert.equal(created.code, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout).spec.evictionPolicy, "IfNotActive");
  });
});
