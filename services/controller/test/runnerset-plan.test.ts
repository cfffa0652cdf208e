import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { V1ControllerRevision } from "@kubernetes/client-node";
import { canonicalJson, revisionData, templateHash } from "../src/revisions.ts";
import {
  defaultRunnerSetPlanConfig,
  emptyRunnerSetFacts,
  mattersToRunnerSet,
  planRunnerSet,
  type RunnerSetObservation,
} from "../src/runnerset-plan.ts";
import type { RunnerObject, RunnerSetObject } from "../src/types.ts";
import { NOW, runner, runnerSet } from "./fixtures.ts";

const set = runnerSet();
const hash = templateHash(set.spec.template);

function member(
  name: string,
  phase: string | undefined,
  over: { revision?: string; created?: string; owned?: boolean; deleting?: boolean } = {},
): RunnerObject {
  const r = runner({
    name,
    metadata: {
      labels: {
        "octorun.github.io/runnerset": "set",
        "runnerset.octorun.github.io/revision-hash": over.revision ?? hash,
      },
      creationTimestamp: (over.created ?? "2026-01-02T03:00:00Z") as unknown as Date,
      ...(over.owned === false
        ? {}
        : {
            ownerReferences: [
              {
                apiVersion: "octorun.github.io/v1alpha2",
                kind: "RunnerSet",
                name: "set",
                uid: "set-uid",
                controller: true,
              },
            ],
          }),
      ...(over.deleting ? { deletionTimestamp: new Date("2026-01-02T03:00:00Z") } : {}),
    },
  });
  if (phase) r.status = { phase: phase as "Idle" };
  return r;
}

function revisionOf(s: RunnerSetObject, h: string, revision: number): V1ControllerRevision {
  return {
    metadata: { name: `set-${h}`, labels: { "runnerset.octorun.github.io/revision-hash": h } },
    data: revisionData(s.spec.template),
    revision,
  };
}

const observe = (over: Partial<RunnerSetObservation>): RunnerSetObservation => ({
  runnerSet: set,
  runners: [],
  revisions: [revisionOf(set, hash, 1)],
  facts: emptyRunnerSetFacts(),
  now: NOW,
  config: defaultRunnerSetPlanConfig,
  ...over,
});
const find = <T extends string>(o: RunnerSetObservation, type: T) =>
  planRunnerSet(o).actions.filter((a) => a.type === type);
const deleted = (o: RunnerSetObservation) =>
  planRunnerSet(o).actions.flatMap((a) =>
    a.type === "deleteRunners" ? a.runners.map((r) => `${r.name}:${r.reason}`) : [],
  );
const createdCount = (o: RunnerSetObservation) =>
  planRunnerSet(o).actions.reduce((n, a) => n + (a.type === "createRunners" ? a.count : 0), 0);

describe("RunnerSet plan", () => {
  const refusedSelectors: [string, RunnerSetObject["spec"]["selector"]][] = [
    ["an empty selector", {}],
    ["an invalid selector", { matchExpressions: [{ key: "a", operator: "Near" }] }],
  ];
  for (const [name, selector] of refusedSelectors) {
    test(`${name}: no runner is created or adopted; a Warning and a RunnerFailure condition say why`, () => {
      const refused = { ...set, spec: { ...set.spec, selector } };
      const plan = planRunnerSet(observe({ runnerSet: refused, runners: [member("stray", "Idle", { owned: false })] }));
      assert.deepEqual(
        plan.actions.map((a) => (a.type === "event" ? `${a.eventType} ${a.reason}` : a.type)),
        ["Warning InvalidSelector"],
      );
      const failure = plan.status.conditions?.find((c) => c.type === "runnerset.octorun.github.io/RunnerFailure");
      assert.equal(failure?.status, "True");
      assert.equal(failure?.reason, "InvalidSelector");
    });
  }

  test("scale up from nothing: the revision and all the runners", () => {
    const o = observe({ revisions: [] });
    const plan = planRunnerSet(o);
    assert.equal(plan.actions[0]?.type, "createRevision");
    assert.equal(createdCount(o), 3);
    assert.equal(plan.status.nextRevision, `set-${hash}`);
    assert.equal(plan.status.selector, "octorun.github.io/runnerset=set");
    assert.equal(plan.status.observedGeneration, 2);
  });
  test("a Complete runner whose job is not recorded yet is kept for the grace period, and replaced at once", () => {
    const completedAt = (ms: number) => {
      const r = member("b", "Complete");
      r.status!.conditions = [
        {
          type: "runner.octorun.github.io/PodReady",
          status: "False",
          reason: "RunnerPodSucceeded",
          message: "",
          lastTransitionTime: new Date(NOW - ms).toISOString(),
        },
      ];
      return r;
    };
    const grace = defaultRunnerSetPlanConfig.unrecordedJobGraceMs;
    const fresh = observe({ runners: [member("a", "Idle"), completedAt(10_000), member("c", "Active")] });
    assert.deepEqual(deleted(fresh), [], "kept while a late job event may still come");
    assert.equal(createdCount(fresh), 1, "its replacement is not held back");
    assert.ok(planRunnerSet(fresh).requeueAfterMs! <= grace - 10_000);
    const stale = observe({ runners: [member("a", "Idle"), completedAt(grace + 1), member("c", "Active")] });
    assert.deepEqual(deleted(stale), ["b:Complete"]);
    const recorded = completedAt(10_000);
    recorded.status!.job = { id: 7, assignedAt: new Date(NOW - 20_000).toISOString() };
    assert.deepEqual(deleted(observe({ runners: [member("a", "Idle"), recorded, member("c", "Active")] })), [
      "b:Complete",
    ]);
  });
  test("Complete runners are deleted and replaced", () => {
    const o = observe({ runners: [member("a", "Idle"), member("b", "Complete"), member("c", "Active")] });
    assert.deepEqual(deleted(o), ["b:Complete"]);
    assert.equal(createdCount(o), 1);
  });
  test("Failed runners are deleted; their replacement waits a growing backoff", () => {
    const o = observe({ runners: [member("a", "Idle"), member("b", "Idle"), member("f", "Failed")] });
    const plan = planRunnerSet(o);
    assert.deepEqual(deleted(o), ["f:Failed"]);
    assert.equal(createdCount(o), 0);
    assert.equal(plan.requeueAfterMs, 1000);
    assert.equal(plan.facts.failures, 1);
    // Next time round, the same Failed runner (still in the cache) is not counted twice.
    const again = planRunnerSet(observe({ runners: o.runners, facts: plan.facts, now: NOW + 500 }));
    assert.equal(again.facts.failures, 1);
    const later = planRunnerSet(
      observe({ runners: [member("a", "Idle"), member("b", "Idle")], facts: plan.facts, now: NOW + 1000 }),
    );
    assert.equal(
      later.actions.some((a) => a.type === "createRunners"),
      true,
    );
  });
  test("scale down: Pending first, then Idle, never Active", () => {
    const small = runnerSet({ runners: 1 });
    const o = observe({
      runnerSet: small,
      revisions: [revisionOf(small, templateHash(small.spec.template), 1)],
      runners: [
        member("idle", "Idle"),
        member("active1", "Active"),
        member("pending", "Pending"),
        member("active2", "Active"),
      ],
    });
    assert.deepEqual(deleted(o), ["pending:ScaleDown", "idle:ScaleDown"]);
  });
  test("scale to zero keeps Active runners until they finish", () => {
    const zero = runnerSet({ runners: 0 });
    const o = observe({ runnerSet: zero, runners: [member("a", "Active"), member("b", "Idle")] });
    assert.deepEqual(deleted(o), ["b:ScaleDown"]);
    assert.equal(createdCount(o), 0);
  });
  test("runners being deleted do not count; their replacements are created", () => {
    const o = observe({ runners: [member("a", "Idle"), member("b", "Active", { deleting: true })] });
    assert.equal(createdCount(o), 2);
  });
  test("orphans matching the selector are adopted and counted", () => {
    const o = observe({
      runners: [member("orphan", "Idle", { owned: false }), member("a", "Idle"), member("b", "Idle")],
    });
    assert.deepEqual(
      find(o, "adopt").map((a) => (a as { runner: string }).runner),
      ["orphan"],
    );
    assert.equal(createdCount(o), 0);
  });
  test("a runner owned by another controller is left alone", () => {
    const other = member("other", "Idle", { owned: false });
    other.metadata.ownerReferences = [{ apiVersion: "x", kind: "RunnerSet", name: "x", uid: "x", controller: true }];
    assert.equal(createdCount(observe({ runners: [other] })), 3);
  });
  test("status counts", () => {
    const plan = planRunnerSet(
      observe({
        runners: [member("a", "Idle"), member("b", "Active"), member("c", "Pending"), member("d", "Complete")],
      }),
    );
    assert.deepEqual([plan.status.runners, plan.status.idleRunners, plan.status.activeRunners], [3, 1, 1]);
    assert.equal(
      plan.status.conditions?.find((c) => c.type === "runnerset.octorun.github.io/RunnersReady")?.status,
      "False",
    );
  });
  test("all runners Idle or Active → RunnersReady", () => {
    const plan = planRunnerSet(observe({ runners: [member("a", "Idle"), member("b", "Active"), member("c", "Idle")] }));
    assert.equal(
      plan.status.conditions?.find((c) => c.type === "runnerset.octorun.github.io/RunnersReady")?.status,
      "True",
    );
    assert.equal(plan.status.currentRevision, `set-${hash}`);
  });
});

describe("RunnerSet plan: revisions and rolling update", () => {
  const updated = runnerSet({ runners: 4, strategy: "RollingUpdate", image: "runner:2" });
  const newHash = templateHash(updated.spec.template);
  const oldRevision = revisionOf(set, hash, 1);
  test("a new template gets a new revision with the next number", () => {
    const o = observe({ runnerSet: updated, revisions: [oldRevision] });
    const created = find(o, "createRevision")[0] as { revision: V1ControllerRevision } | undefined;
    assert.equal(created?.revision.revision, 2);
    assert.equal(created?.revision.metadata?.name, `set-${newHash}`);
    assert.notEqual(newHash, hash);
  });
  test("RollingUpdate replaces Idle runners of the old revision a batch at a time, never Active ones", () => {
    const o = observe({
      runnerSet: updated,
      revisions: [oldRevision, revisionOf(updated, newHash, 2)],
      runners: [
        member("a", "Idle"),
        member("b", "Idle"),
        member("c", "Active"),
        member("d", "Idle", { revision: newHash }),
      ],
    });
    assert.deepEqual(deleted(o), ["a:RollingUpdate"]);
    assert.equal(createdCount(o), 1);
    const plan = planRunnerSet(o);
    assert.equal(
      plan.status.conditions?.find((c) => c.type === "runnerset.octorun.github.io/Progressing")?.status,
      "True",
    );
  });
  test("OnDelete leaves old runners alone", () => {
    const onDelete = { ...updated, spec: { ...updated.spec, updateStrategy: { type: "OnDelete" as const } } };
    const o = observe({
      runnerSet: onDelete,
      revisions: [oldRevision],
      runners: [member("a", "Idle"), member("b", "Idle"), member("c", "Idle"), member("d", "Idle")],
    });
    assert.deepEqual(deleted(o), []);
  });
  test("history beyond revisionHistoryLimit is deleted, oldest first, but not a revision in use", () => {
    const limited = { ...set, spec: { ...set.spec, revisionHistoryLimit: 1 } };
    const revisions = [1, 2, 3, 4].map((n) => ({
      metadata: { name: `set-h${n}`, labels: { "runnerset.octorun.github.io/revision-hash": `h${n}` } },
      data: { n },
      revision: n,
    }));
    const o = observe({
      runnerSet: limited,
      revisions: [...revisions, revisionOf(limited, templateHash(limited.spec.template), 5)],
      runners: [member("a", "Idle", { revision: "h1" })],
    });
    assert.deepEqual(find(o, "deleteRevisions"), [{ type: "deleteRevisions", names: ["set-h2", "set-h3"] }]);
  });
  test("a collision count changes the hash", () => {
    assert.notEqual(templateHash(set.spec.template, 0), templateHash(set.spec.template, 1));
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  });
  test("canonical JSON ignores key order", () => {
    assert.equal(canonicalJson({ b: 1, a: { d: 2, c: 3 } }), canonicalJson({ a: { c: 3, d: 2 }, b: 1 }));
  });
});

describe("which Runner changes a RunnerSet plans for", () => {
  const base = member("r1", "Idle");
  const changed = (over: (r: RunnerObject) => void) => {
    const next = structuredClone(base);
    over(next);
    return mattersToRunnerSet(base, next);
  };
  test("phase, job, labels, owner and deletion matter", () => {
    assert.equal(
      changed((r) => {
        r.status = { ...r.status, phase: "Active" };
      }),
      true,
    );
    assert.equal(
      changed((r) => {
        r.status = { ...r.status, job: { id: 1 } };
      }),
      true,
    );
    assert.equal(
      changed((r) => {
        r.metadata.labels = { ...r.metadata.labels, team: "x" };
      }),
      true,
    );
    assert.equal(
      changed((r) => {
        r.metadata.ownerReferences = [];
      }),
      true,
    );
    assert.equal(
      changed((r) => {
        r.metadata.deletionTimestamp = "2026-01-02T04:00:00Z" as unknown as Date;
      }),
      true,
    );
  });
  test("conditions, spec.id and the resourceVersion do not", () => {
    assert.equal(
      changed((r) => {
        r.spec = { ...r.spec, id: 42, os: "linux" };
        r.metadata.resourceVersion = "99";
        r.status = { ...r.status, conditions: [] };
      }),
      false,
    );
  });
});
