import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type LabelSelector, selectorMatches, selectorProblems, selectorString } from "../src/index.ts";

// The one label selector of octorun (the webhook and the controller), with Kubernetes' semantics.
describe("label selectors", () => {
  const table: [string, LabelSelector | undefined, Record<string, string>, boolean][] = [
    ["matchLabels", { matchLabels: { a: "1" } }, { a: "1", b: "2" }, true],
    ["matchLabels mismatch", { matchLabels: { a: "1" } }, { a: "2" }, false],
    ["In", { matchExpressions: [{ key: "a", operator: "In", values: ["1", "2"] }] }, { a: "2" }, true],
    ["In absent", { matchExpressions: [{ key: "a", operator: "In", values: ["1"] }] }, {}, false],
    ["NotIn absent", { matchExpressions: [{ key: "a", operator: "NotIn", values: ["1"] }] }, {}, true],
    ["NotIn present", { matchExpressions: [{ key: "a", operator: "NotIn", values: ["1"] }] }, { a: "1" }, false],
    ["Exists", { matchExpressions: [{ key: "a", operator: "Exists" }] }, { a: "" }, true],
    ["DoesNotExist", { matchExpressions: [{ key: "a", operator: "DoesNotExist" }] }, { a: "x" }, false],
    ["unknown operator matches nothing", { matchExpressions: [{ key: "a", operator: "Near" }] }, { a: "x" }, false],
    // metav1: "An empty label selector matches all objects. A null label selector matches no objects."
    ["empty selector matches everything", {}, { a: "1" }, true],
    ["absent selector matches nothing", undefined, { a: "1" }, false],
  ];
  for (const [name, selector, labels, expected] of table) {
    test(`${name} → ${expected}`, () => assert.equal(selectorMatches(selector, labels), expected));
  }

  test("string form", () => {
    assert.equal(
      selectorString({
        matchLabels: { b: "2", a: "1" },
        matchExpressions: [
          { key: "c", operator: "In", values: ["y", "x"] },
          { key: "d", operator: "DoesNotExist" },
        ],
      }),
      "a=1,b=2,c in (x,y),!d",
    );
    assert.equal(selectorString({}), "");
  });

  test("syntax problems, named by field", () => {
    assert.deepEqual(selectorProblems({ matchLabels: { a: "1" } }, "spec.selector"), []);
    assert.deepEqual(
      selectorProblems({ matchExpressions: [{ key: "a", operator: "In" }] }, "spec.selector").map((p) => p.field),
      ["spec.selector.matchExpressions[0].values"],
    );
  });
});
