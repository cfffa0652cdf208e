import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Condition, type ConditionUpdate, setCondition, toMicroTime, toRfc3339 } from "../src/conditions.ts";

const t0 = "2026-01-01T00:00:00Z";
const now = new Date("2026-01-02T03:04:05.678Z");
const nowText = "2026-01-02T03:04:05Z";
const online = (status: Condition["status"], reason = "Ready", message = ""): Condition => ({
  type: "Online",
  status,
  reason,
  message,
  lastTransitionTime: t0,
});
const other: Condition = { type: "Registered", status: "True", reason: "Done", message: "", lastTransitionTime: t0 };

describe("setCondition", () => {
  const cases: { name: string; before: Condition[] | undefined; update: ConditionUpdate; after: Condition[] }[] = [
    {
      name: "adds a new condition with lastTransitionTime now",
      before: undefined,
      update: { type: "Online", status: "True", reason: "Ready" },
      after: [{ ...online("True"), lastTransitionTime: nowText }],
    },
    {
      name: "appends after existing conditions, keeping them",
      before: [other],
      update: { type: "Online", status: "False", reason: "Offline", message: "no heartbeat" },
      after: [other, { ...online("False", "Offline", "no heartbeat"), lastTransitionTime: nowText }],
    },
    {
      name: "same status: the transition time stays even when reason and message change",
      before: [online("True", "Ready", "a"), other],
      update: { type: "Online", status: "True", reason: "StillReady", message: "b" },
      after: [online("True", "StillReady", "b"), other],
    },
    {
      name: "status changes: the transition time moves to now, position kept",
      before: [other, online("True")],
      update: { type: "Online", status: "False", reason: "Offline" },
      after: [other, { ...online("False", "Offline"), lastTransitionTime: nowText }],
    },
    {
      name: "Unknown is a status change too",
      before: [online("False")],
      update: { type: "Online", status: "Unknown", reason: "NoData" },
      after: [{ ...online("Unknown", "NoData"), lastTransitionTime: nowText }],
    },
    {
      name: "observedGeneration is recorded without counting as a transition",
      before: [online("True")],
      update: { type: "Online", status: "True", reason: "Ready", observedGeneration: 7 },
      after: [{ ...online("True"), observedGeneration: 7 }],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const frozen = c.before ? structuredClone(c.before) : undefined;
      assert.deepEqual(setCondition(c.before, c.update, now), c.after);
      assert.deepEqual(c.before, frozen, "the input is not modified");
    });
  }

  test("time formats: Time has seconds, MicroTime six fractional digits", () => {
    assert.equal(toRfc3339(now), nowText);
    assert.equal(toMicroTime(now), "2026-01-02T03:04:05.678000Z");
  });
});
