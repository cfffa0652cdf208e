import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { generatedFiles, REPOSITORY_ROOT } from "../src/generate/files.ts";
import { runnerCrd, runnerSetCrd } from "../src/index.ts";

describe("generated files", () => {
  for (const [path, expected] of Object.entries(generatedFiles())) {
    test(`${path} is up to date with the schema source (run libs/api/scripts/generate.ts)`, () => {
      const committed = readFileSync(join(REPOSITORY_ROOT, path), "utf8");
      assert.ok(committed === expected, `${path} is stale: run node_modules/.bin/node libs/api/scripts/generate.ts`);
    });
  }
});

describe("CRDs", () => {
  test("each fits in client-side kubectl apply's last-applied annotation (256 KiB)", () => {
    for (const crd of [runnerCrd(), runnerSetCrd()]) {
      const size = Buffer.byteLength(JSON.stringify(crd));
      assert.ok(size < 262144, `${crd.metadata.name} is ${size} bytes`);
    }
  });

  test("v1alpha2 is the storage version, v1alpha1 is served, conversion is by webhook", () => {
    for (const crd of [runnerCrd(), runnerSetCrd()]) {
      assert.deepEqual(
        crd.spec.versions.map((v) => [v.name, v.served, v.storage]),
        [
          ["v1alpha2", true, true],
          ["v1alpha1", true, false],
        ],
      );
      assert.equal(crd.spec.conversion.strategy, "Webhook");
      assert.deepEqual(crd.spec.conversion.webhook.conversionReviewVersions, ["v1"]);
    }
  });

  test("printer columns and subresources are the original octorun's", () => {
    const original = (crd: ReturnType<typeof runnerCrd>) =>
      crd.spec.versions.map((v) => ({
        columns: v.additionalPrinterColumns.map((c) => [c.name, c.jsonPath, c.type, c.priority ?? 0]),
        sub: v.subresources,
      }));
    for (const version of original(runnerCrd())) {
      assert.deepEqual(version.columns, [
        ["RunnerID", ".spec.id", "string", 0],
        ["Status", ".status.phase", "string", 0],
        ["Online", '.status.conditions[?(@.type=="runner.octorun.github.io/Online")].status', "string", 0],
        ["URL", ".spec.url", "string", 10],
        ["RunnerGroup", ".spec.group", "string", 10],
        ["Age", ".metadata.creationTimestamp", "date", 0],
      ]);
      assert.deepEqual(version.sub, { status: {} });
    }
    for (const version of original(runnerSetCrd())) {
      assert.deepEqual(version.columns, [
        ["Runners", ".status.runners", "integer", 0],
        ["Idle", ".status.idleRunners", "integer", 0],
        ["Active", ".status.activeRunners", "integer", 0],
        ["Age", ".metadata.creationTimestamp", "date", 0],
      ]);
      assert.deepEqual(version.sub, {
        status: {},
        scale: {
          specReplicasPath: ".spec.runners",
          statusReplicasPath: ".status.runners",
          labelSelectorPath: ".status.selector",
        },
      });
    }
  });

  test("schemas are structural: every node has a type, or is int-or-string", () => {
    const untyped: string[] = [];
    const walk = (node: Record<string, unknown>, path: string) => {
      if (
        node["type"] === undefined &&
        !node["x-kubernetes-int-or-string"] &&
        !node["x-kubernetes-preserve-unknown-fields"]
      )
        untyped.push(path);
      for (const [key, child] of Object.entries((node["properties"] ?? {}) as Record<string, Record<string, unknown>>))
        walk(child, `${path}.${key}`);
      if (node["items"]) walk(node["items"] as Record<string, unknown>, `${path}[]`);
      if (typeof node["additionalProperties"] === "object")
        walk(node["additionalProperties"] as Record<string, unknown>, `${path}{}`);
    };
    for (const crd of [runnerCrd(), runnerSetCrd()]) {
      for (const version of crd.spec.versions)
        walk(version.schema.openAPIV3Schema as Record<string, unknown>, `${crd.metadata.name}/${version.name}`);
    }
    assert.deepEqual(untyped, []);
  });

  test("x-kubernetes-preserve-unknown-fields is used nowhere (pruning keeps only known fields)", () => {
    assert.ok(!JSON.stringify([runnerCrd(), runnerSetCrd()]).includes("x-kubernetes-preserve-unknown-fields"));
  });
});
