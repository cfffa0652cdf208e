import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import {
  CONVERSION_DATA_ANNOTATION,
  ConversionError,
  convertObject,
  type Runner,
  type RunnerSet,
  runnerFromV1alpha1,
  runnerToV1alpha1,
  schemaViolations,
} from "../src/index.ts";

const V1 = "octorun.github.io/v1alpha1";
const V2 = "octorun.github.io/v1alpha2";

const fullRunner: Runner = {
  apiVersion: V2,
  kind: "Runner",
  metadata: { name: "r", namespace: "ns", labels: { "octorun.github.io/runner": "r" }, annotations: { keep: "me" } },
  spec: {
    url: "https://github.com/octorun/test-repo",
    id: 42,
    os: "Linux",
    group: "Default",
    workdir: "_work",
    evictionPolicy: "Never",
    labels: ["gpu", "arm64"],
    githubSecretRef: { name: "acme-app" },
    image: { name: "ghcr.io/octorun/runner:v2.288.1", pullPolicy: "IfNotPresent", pullSecrets: [{ name: "pull" }] },
    placement: { nodeSelector: { a: "b" }, tolerations: [{ key: "k", operator: "Exists" }] },
    resources: { limits: { cpu: 1, memory: "1Gi" } },
  },
  status: {
    phase: "Active",
    observedGeneration: 3,
    runnerName: "ns-r-abc12",
    conditions: [
      {
        type: "runner.octorun.github.io/Online",
        status: "True",
        reason: "RunnerOnline",
        message: "",
        lastTransitionTime: "2026-01-01T00:00:00Z",
      },
    ],
    job: { id: 7, runId: 8, repository: "octorun/test-repo", workflow: "CI", assignedAt: "2026-01-01T00:00:01Z" },
  },
};

const fullRunnerSet: RunnerSet = {
  apiVersion: V2,
  kind: "RunnerSet",
  metadata: { name: "rs" },
  spec: {
    runners: 3,
    revisionHistoryLimit: 5,
    updateStrategy: { type: "RollingUpdate" },
    selector: { matchLabels: { "octorun.github.io/runnerset": "rs" } },
    template: {
      metadata: { labels: { "octorun.github.io/runnerset": "rs" } },
      spec: {
        url: "https://github.com/octorun",
        evictionPolicy: "Never",
        labels: ["gpu"],
        githubSecretRef: { name: "acme-app" },
      },
    },
  },
  status: {
    runners: 3,
    idleRunners: 2,
    activeRunners: 1,
    selector: "octorun.github.io/runnerset=rs",
    currentRevision: "a",
    nextRevision: "b",
    collisionCount: 1,
    observedGeneration: 2,
  },
};

describe("conversion v1alpha2 → v1alpha1 → v1alpha2", () => {
  for (const object of [fullRunner, fullRunnerSet]) {
    test(`a ${object.kind} loses nothing on a round trip`, () => {
      const down = convertObject(object, V1);
      const up = convertObject(down, V2);
      assert.deepEqual(up, object);
    });

    test(`a ${object.kind} down-converted is a valid v1alpha1 object without v1alpha2-only fields`, () => {
      const down = convertObject<Record<string, unknown>>(object, V1);
      assert.equal(down["apiVersion"], V1);
      assert.deepEqual(schemaViolations(object.kind as "Runner", "v1alpha1", down), []);
      const text = JSON.stringify({ spec: down["spec"], status: down["status"] });
      for (const field of [
        "evictionPolicy",
        "revisionHistoryLimit",
        "updateStrategy",
        "collisionCount",
        "runnerName",
        '"job"',
        "observedGeneration",
        "currentRevision",
        "githubSecretRef",
      ]) {
        assert.ok(!text.includes(field), `${field} is still in the v1alpha1 spec/status`);
      }
      const spec = down["spec"] as { labels?: unknown; template?: { spec?: { labels?: unknown } } };
      assert.equal(spec.labels ?? spec.template?.spec?.labels, undefined, "spec.labels is v1alpha2-only");
    });
  }

  test("conversion leaves its input alone", () => {
    const before = structuredClone(fullRunner);
    runnerToV1alpha1(fullRunner);
    assert.deepEqual(fullRunner, before);
  });

  test("other annotations survive, and the conversion annotation is removed going up", () => {
    const up = runnerFromV1alpha1(runnerToV1alpha1(fullRunner));
    assert.deepEqual(up.metadata?.annotations, { keep: "me" });
  });

  test("no annotation is added when there is nothing to keep", () => {
    const plain = { apiVersion: V2, kind: "Runner", metadata: { name: "p" }, spec: { url: "https://github.com/o" } };
    const down = convertObject<Runner>(plain, V1);
    assert.equal(down.metadata?.annotations, undefined);
  });

  test("a damaged conversion annotation is dropped rather than making the object unreadable", () => {
    const v1 = {
      apiVersion: V1,
      kind: "Runner",
      metadata: { name: "p", annotations: { [CONVERSION_DATA_ANNOTATION]: "{not json" } },
      spec: { url: "https://github.com/o" },
    };
    const up = convertObject<Runner>(v1, V2);
    assert.deepEqual(up, {
      apiVersion: V2,
      kind: "Runner",
      metadata: { name: "p" },
      spec: { url: "https://github.com/o" },
    });
  });

  test("the same version converts to an equal copy", () => {
    assert.deepEqual(convertObject(fullRunner, V2), fullRunner);
  });

  for (const [name, object, version, message] of [
    ["an unknown kind", { ...fullRunner, kind: "Pod" }, V1, /unsupported kind "Pod"/],
    [
      "an unknown source version",
      { ...fullRunner, apiVersion: "octorun.github.io/v9" },
      V1,
      /unsupported apiVersion "octorun.github.io\/v9"/,
    ],
    ["an unknown target version", fullRunner, "apps/v1", /unsupported apiVersion "apps\/v1"/],
  ] as const) {
    test(`${name} is a ConversionError`, () => {
      assert.throws(
        () => convertObject(object, version),
        (error: unknown) => error instanceof ConversionError && message.test(error.message),
      );
    });
  }
});

describe("the original octorun's example manifests", () => {
  const fixtures = join(import.meta.dirname, "fixtures");
  for (const [file, kind] of [
    ["runner-sample.v1alpha1.yaml", "Runner"],
    ["runnerset-sample.v1alpha1.yaml", "RunnerSet"],
  ] as const) {
    test(`${file} is a valid v1alpha1 ${kind} and converts to a valid v1alpha2 one`, () => {
      const object = parse(readFileSync(join(fixtures, file), "utf8")) as Record<string, unknown>;
      assert.deepEqual(schemaViolations(kind, "v1alpha1", object), []);
      const up = convertObject(object, V2);
      assert.deepEqual(schemaViolations(kind, "v1alpha2", up), []);
      assert.deepEqual(convertObject(up, V1), object);
    });
  }
});

describe("schema validation", () => {
  test("a Runner without spec.url names the field", () => {
    assert.deepEqual(schemaViolations("Runner", "v1alpha2", { apiVersion: V2, kind: "Runner", spec: {} }), [
      { field: "spec.url", message: "Required value" },
    ]);
  });
  test("quantities may be numbers or strings", () => {
    const runner = {
      ...fullRunner,
      spec: { ...fullRunner.spec, resources: { requests: { cpu: "500m", memory: 1073741824 } } },
    };
    assert.deepEqual(schemaViolations("Runner", "v1alpha2", runner), []);
  });
  test("a bad quantity, pull policy and eviction policy are named", () => {
    const runner = {
      ...fullRunner,
      spec: {
        ...fullRunner.spec,
        evictionPolicy: "Sometimes",
        image: { pullPolicy: "Maybe" },
        resources: { limits: { cpu: "lots" } },
      },
    };
    const fields = schemaViolations("Runner", "v1alpha2", runner).map((v) => v.field);
    assert.ok(fields.includes("spec.evictionPolicy"), String(fields));
    assert.ok(fields.includes("spec.image.pullPolicy"), String(fields));
    assert.ok(fields.includes("spec.resources.limits.cpu"), String(fields));
  });
});
