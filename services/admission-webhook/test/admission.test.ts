import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkRequestKind, mutate, validate } from "../src/admission.ts";
import type { AdmissionRequest, UserInfo } from "../src/admission-review.ts";
import { convertReview } from "../src/conversion-review.ts";
import { BadRequestError } from "../src/errors.ts";
import { jsonPatch } from "../src/json-patch.ts";
import type { ValidationPolicy } from "../src/validation.ts";

const policy: ValidationPolicy = {
  enterpriseHosts: ["ghes.example.com"],
  controllerUsernames: ["system:serviceaccount:octorun-system:octorun-controller"],
  controllerGroups: ["octorun:controllers"],
};
const user = { username: "alice", groups: ["system:authenticated"] };
const controller = { username: "system:serviceaccount:octorun-system:octorun-controller" };

function request(
  kind: "Runner" | "RunnerSet",
  operation: "CREATE" | "UPDATE",
  object: Record<string, unknown>,
  oldObject?: Record<string, unknown>,
  userInfo: UserInfo = user,
  version = "v1alpha2",
): AdmissionRequest {
  return {
    uid: "u1",
    kind: { group: "octorun.github.io", version, kind },
    operation,
    userInfo,
    object,
    oldObject: oldObject ?? null,
    name: (object["metadata"] as { name?: string })?.name ?? "",
    namespace: "ns",
  };
}

function applyPatch(object: unknown, patchBase64: string | undefined): unknown {
  const result = structuredClone(object) as Record<string, unknown>;
  for (const op of JSON.parse(Buffer.from(patchBase64 ?? "W10=", "base64").toString()) as Array<{
    op: string;
    path: string;
    value?: unknown;
  }>) {
    const keys = op.path
      .split("/")
      .slice(1)
      .map((k) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = keys.pop() as string;
    let parent = result;
    for (const key of keys) parent = parent[key] as Record<string, unknown>;
    if (op.op === "remove") delete parent[last];
    else parent[last] = op.value;
  }
  return result;
}

const runner = (spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = { name: "r1" }) => ({
  apiVersion: "octorun.github.io/v1alpha2",
  kind: "Runner",
  metadata,
  spec: { url: "https://github.com/octorun/test-repo", ...spec },
});
const runnerSet = (
  spec: Record<string, unknown> = {},
  labels: Record<string, string> = { "octorun.github.io/runnerset": "rs" },
) => ({
  apiVersion: "octorun.github.io/v1alpha2",
  kind: "RunnerSet",
  metadata: { name: "rs" },
  spec: {
    selector: { matchLabels: { "octorun.github.io/runnerset": "rs" } },
    template: { metadata: { labels }, spec: { url: "https://github.com/octorun" } },
    ...spec,
  },
});

describe("defaulting", () => {
  test("a named Runner gets its runner label, group, workdir and evictionPolicy", () => {
    const object = runner();
    const response = mutate(request("Runner", "CREATE", object), "Runner", "v1alpha2");
    assert.equal(response.patchType, "JSONPatch");
    assert.deepEqual(applyPatch(object, response.patch), {
      ...object,
      metadata: { name: "r1", labels: { "octorun.github.io/runner": "r1" } },
      spec: {
        url: "https://github.com/octorun/test-repo",
        group: "Default",
        workdir: "_work",
        evictionPolicy: "IfNotActive",
      },
    });
  });

  test("values the user gave are kept, and a complete object gets no patch", () => {
    const object = runner(
      { group: "gpu", workdir: "w", evictionPolicy: "Never" },
      { name: "r1", labels: { "octorun.github.io/runner": "custom" } },
    );
    const response = mutate(request("Runner", "CREATE", object), "Runner", "v1alpha2");
    assert.equal(response.allowed, true);
    assert.equal(response.patch, undefined);
  });

  test("an update of a Runner gets no spec defaults (its spec is immutable)", () => {
    const object = runner();
    const response = mutate(request("Runner", "UPDATE", object, object), "Runner", "v1alpha2");
    assert.equal(response.patch, undefined);
    assert.equal(validate(request("Runner", "UPDATE", object, object), "Runner", policy).allowed, true);
  });

  test("a Runner with only generateName gets no runner label (its name is not known yet)", () => {
    const object = runner({}, { generateName: "r-" });
    const patched = applyPatch(object, mutate(request("Runner", "CREATE", object), "Runner", "v1alpha2").patch) as {
      metadata: Record<string, unknown>;
    };
    assert.deepEqual(patched.metadata, { generateName: "r-" });
  });

  test("v1alpha1 gets no evictionPolicy (it has no such field)", () => {
    const object = { ...runner(), apiVersion: "octorun.github.io/v1alpha1" };
    const patched = applyPatch(
      object,
      mutate(request("Runner", "CREATE", object, undefined, user, "v1alpha1"), "Runner", "v1alpha1").patch,
    ) as { spec: Record<string, unknown> };
    assert.equal(patched.spec["evictionPolicy"], undefined);
    assert.equal(patched.spec["group"], "Default");
  });

  test("a RunnerSet gets runners, updateStrategy, revisionHistoryLimit, its template label and spec defaults", () => {
    const object = runnerSet({}, {});
    const patched = applyPatch(
      object,
      mutate(request("RunnerSet", "CREATE", object), "RunnerSet", "v1alpha2").patch,
    ) as { spec: Record<string, unknown> };
    assert.equal(patched.spec["runners"], 1);
    assert.deepEqual(patched.spec["updateStrategy"], { type: "OnDelete" });
    assert.equal(patched.spec["revisionHistoryLimit"], 10);
    assert.deepEqual(patched.spec["template"], {
      metadata: { labels: { "octorun.github.io/runnerset": "rs" } },
      spec: { url: "https://github.com/octorun", group: "Default", workdir: "_work", evictionPolicy: "IfNotActive" },
    });
  });

  test("runners: 0 is kept (explicit zero is not unset)", () => {
    const object = runnerSet({ runners: 0 });
    const patched = applyPatch(
      object,
      mutate(request("RunnerSet", "CREATE", object), "RunnerSet", "v1alpha2").patch,
    ) as { spec: Record<string, unknown> };
    assert.equal(patched.spec["runners"], 0);
  });

  test("a spec of the wrong type is left for the schema to refuse", () => {
    const object = { ...runner(), spec: "nope" };
    const patched = applyPatch(object, mutate(request("Runner", "CREATE", object), "Runner", "v1alpha2").patch) as {
      spec: unknown;
    };
    assert.equal(patched.spec, "nope");
  });
});

describe("jsonPatch", () => {
  test("escapes / and ~ in keys, adds missing parents whole, removes and replaces", () => {
    assert.deepEqual(jsonPatch({ a: 1, b: { c: [1] }, d: 0 }, { a: 2, b: { c: [1, 2], "x/y~z": true }, e: { f: 1 } }), [
      { op: "remove", path: "/d" },
      { op: "replace", path: "/a", value: 2 },
      { op: "replace", path: "/b/c", value: [1, 2] },
      { op: "add", path: "/b/x~1y~0z", value: true },
      { op: "add", path: "/e", value: { f: 1 } },
    ]);
  });
});

describe("Runner validation", () => {
  const cases: Array<[string, AdmissionRequest, string[]]> = [
    ["a valid Runner", request("Runner", "CREATE", runner()), []],
    [
      "a GHES URL on a configured host",
      request("Runner", "CREATE", runner({ url: "https://ghes.example.com/org" })),
      [],
    ],
    ["a URL on another host", request("Runner", "CREATE", runner({ url: "https://gitlab.com/org" })), ["spec.url"]],
    [
      "a URL that is not a scope",
      request("Runner", "CREATE", runner({ url: "https://github.com/a/b/c" })),
      ["spec.url"],
    ],
    ["no URL", request("Runner", "CREATE", { metadata: { name: "x" }, spec: {} }), ["spec.url"]],
    ["spec.id set by a user", request("Runner", "CREATE", runner({ id: 5 })), ["spec.id"]],
    ["spec.os set by a user", request("Runner", "CREATE", runner({ os: "Linux" })), ["spec.os"]],
    [
      "spec.id set by the controller on update",
      request("Runner", "UPDATE", runner({ id: 5, os: "Linux" }), runner(), controller),
      [],
    ],
    [
      "spec.id set by a member of a controller group",
      request("Runner", "UPDATE", runner({ id: 5 }), runner(), { username: "bob", groups: ["octorun:controllers"] }),
      [],
    ],
    [
      "spec.id changed by a user on update",
      request("Runner", "UPDATE", runner({ id: 6 }), runner({ id: 5 })),
      ["spec.id"],
    ],
    [
      "any other spec change",
      request("Runner", "UPDATE", runner({ group: "other", image: { name: "x" } }), runner()),
      ["spec.group", "spec.image"],
    ],
    [
      "even by the controller",
      request("Runner", "UPDATE", runner({ workdir: "w" }), runner(), controller),
      ["spec.workdir"],
    ],
    [
      "a metadata-only update",
      request("Runner", "UPDATE", runner({}, { name: "r1", finalizers: ["f"] }), runner()),
      [],
    ],
    [
      "an unchanged invalid URL on update (ratcheting)",
      request(
        "Runner",
        "UPDATE",
        runner({ url: "https://gitlab.com/x" }, { name: "r1", finalizers: [] }),
        runner({ url: "https://gitlab.com/x" }),
      ),
      [],
    ],
    [
      "labels that would be one GitHub label",
      request(
        "Runner",
        "CREATE",
        runner({}, { name: "r1", labels: { "octorun.github.io/gpu": "A", "octorun.github.io/GPU": "a" } }),
      ),
      ["metadata.labels[octorun.github.io/gpu]"],
    ],
    [
      "plain labels that would be one GitHub label",
      request("Runner", "CREATE", runner({ labels: ["gpu", "GPU"] })),
      ["spec.labels[1]"],
    ],
    [
      "a plain label with a comma (config.sh would split it)",
      request("Runner", "CREATE", runner({ labels: ["a,b"] })),
      ["spec.labels[0]"],
    ],
    ["plain labels GitHub takes", request("Runner", "CREATE", runner({ labels: ["gpu", "self-hosted"] })), []],
  ];
  for (const [name, req, fields] of cases) {
    test(`${name} → ${fields.length ? `refused naming ${fields.join(", ")}` : "allowed"}`, () => {
      const response = validate(req, "Runner", policy);
      assert.equal(response.allowed, fields.length === 0, JSON.stringify(response.status));
      assert.deepEqual(
        (response.status?.details?.causes ?? []).map((c) => c.field),
        fields,
      );
      if (fields.length) {
        assert.equal(response.status?.reason, "Invalid");
        assert.equal(response.status?.code, 422);
        assert.match(response.status?.message ?? "", /^Runner\.octorun\.github\.io "r1|x" is invalid: /);
      }
    });
  }
});

describe("RunnerSet validation", () => {
  const selector = (s: unknown) => runnerSet({ selector: s });
  const cases: Array<[string, AdmissionRequest, string[]]> = [
    ["a valid RunnerSet", request("RunnerSet", "CREATE", runnerSet()), []],
    [
      "matchExpressions that match",
      request(
        "RunnerSet",
        "CREATE",
        selector({ matchExpressions: [{ key: "octorun.github.io/runnerset", operator: "In", values: ["rs"] }] }),
      ),
      [],
    ],
    ["no selector", request("RunnerSet", "CREATE", selector(undefined)), ["spec.selector"]],
    ["an empty selector", request("RunnerSet", "CREATE", selector({})), ["spec.selector"]],
    [
      "a selector that does not match the template",
      request("RunnerSet", "CREATE", selector({ matchLabels: { app: "x" } })),
      ["spec.template.metadata.labels"],
    ],
    [
      "a bad operator",
      request("RunnerSet", "CREATE", selector({ matchExpressions: [{ key: "a", operator: "Near" }] })),
      ["spec.selector.matchExpressions[0].operator"],
    ],
    [
      "In without values",
      request("RunnerSet", "CREATE", selector({ matchExpressions: [{ key: "a", operator: "In" }] })),
      ["spec.selector.matchExpressions[0].values"],
    ],
    [
      "Exists with values",
      request("RunnerSet", "CREATE", selector({ matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] })),
      ["spec.selector.matchExpressions[0].values"],
    ],
    [
      "a bad label key",
      request("RunnerSet", "CREATE", selector({ matchLabels: { "-bad": "x" } })),
      ["spec.selector.matchLabels"],
    ],
    [
      "a changed selector",
      request(
        "RunnerSet",
        "UPDATE",
        selector({ matchLabels: { "octorun.github.io/runnerset": "rs", a: "b" } }),
        runnerSet(),
      ),
      ["spec.selector"],
    ],
    [
      "a changed template and runners",
      request("RunnerSet", "UPDATE", runnerSet({ runners: 5 }), runnerSet({ runners: 1 })),
      [],
    ],
    [
      "a bad template URL",
      request(
        "RunnerSet",
        "CREATE",
        runnerSet({
          template: {
            metadata: { labels: { "octorun.github.io/runnerset": "rs" } },
            spec: { url: "http://github.com/x" },
          },
        }),
      ),
      ["spec.template.spec.url"],
    ],
    [
      "a template whose plain label repeats a key=value label but for case",
      request(
        "RunnerSet",
        "CREATE",
        runnerSet({
          template: {
            metadata: { labels: { "octorun.github.io/runnerset": "rs" } },
            spec: { url: "https://github.com/x", labels: ["RunnerSet=RS"] },
          },
        }),
      ),
      ["spec.template.metadata.labels[octorun.github.io/runnerset]"],
    ],
    [
      "a template with spec.id",
      request(
        "RunnerSet",
        "CREATE",
        runnerSet({
          template: {
            metadata: { labels: { "octorun.github.io/runnerset": "rs" } },
            spec: { url: "https://github.com/x", id: 3 },
          },
        }),
      ),
      ["spec.template.spec.id"],
    ],
  ];
  for (const [name, req, fields] of cases) {
    test(`${name} → ${fields.length ? `refused naming ${fields.join(", ")}` : "allowed"}`, () => {
      const response = validate(req, "RunnerSet", policy);
      assert.equal(response.allowed, fields.length === 0, JSON.stringify(response.status));
      assert.deepEqual(
        (response.status?.details?.causes ?? []).map((c) => c.field),
        fields,
      );
    });
  }
});

describe("request checks", () => {
  test("a review for another kind or an unserved version is a 400", () => {
    assert.throws(
      () => checkRequestKind(request("Runner", "CREATE", runner()), "RunnerSet"),
      (e: unknown) => e instanceof BadRequestError && e.statusCode === 400,
    );
    assert.throws(
      () => checkRequestKind(request("Runner", "CREATE", runner(), undefined, user, "v2"), "Runner"),
      /unsupported version "v2"/,
    );
  });
  test("a DELETE is allowed without review", () => {
    assert.equal(
      validate({ ...request("Runner", "CREATE", runner()), operation: "DELETE", object: null }, "Runner", policy)
        .allowed,
      true,
    );
  });
});

describe("ConversionReview", () => {
  test("converts every object and echoes the uid", () => {
    const result = convertReview({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "ConversionReview",
      request: {
        uid: "c1",
        desiredAPIVersion: "octorun.github.io/v1alpha1",
        objects: [runner({ evictionPolicy: "Never" }), runnerSet()],
      },
    });
    const response = (
      result.review as {
        response: { uid: string; result: { status: string }; convertedObjects: Array<{ apiVersion: string }> };
      }
    ).response;
    assert.equal(response.uid, "c1");
    assert.equal(response.result.status, "Success");
    assert.deepEqual(
      response.convertedObjects.map((o) => o.apiVersion),
      ["octorun.github.io/v1alpha1", "octorun.github.io/v1alpha1"],
    );
  });
  test("an unknown kind is a Failure result naming it", () => {
    const result = convertReview({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "ConversionReview",
      request: {
        uid: "c2",
        desiredAPIVersion: "octorun.github.io/v1alpha1",
        objects: [{ apiVersion: "octorun.github.io/v1alpha2", kind: "Pod" }],
      },
    });
    assert.equal(result.failed, true);
    assert.match(JSON.stringify(result.review), /unsupported kind \\"Pod\\"/);
  });
  test("not a ConversionReview is a 400", () => {
    assert.throws(
      () => convertReview({ kind: "AdmissionReview" }),
      (e: unknown) => e instanceof BadRequestError && e.statusCode === 400,
    );
  });
});
