import assert from "node:assert/strict";
import { test } from "node:test";
import { describeTrials, meetsGoal, trialRatio } from "../src/index.ts";

test("a trial ratio is the median of the trials, with their spread", () => {
  const ratio = trialRatio([1.4, 1.1, 1.21]);
  assert.equal(ratio.median, 1.21);
  assert.equal(ratio.min, 1.1);
  assert.equal(ratio.max, 1.4);
  // One noisy trial does not decide it.
  assert.equal(trialRatio([0.9, 0.95, 3.0]).median, 0.95);
  // An even count takes the lower middle (nearest rank), not a mean of the two.
  assert.equal(trialRatio([2, 1, 4, 3]).median, 2);
  assert.match(
    describeTrials(ratio),
    /^median 1\.21 \(min 1\.10, max 1\.40\) over 3 alternating trial\(s\): 1\.40, 1\.10, 1\.21$/,
  );
  assert.ok(Number.isNaN(trialRatio([]).median));
});

test("goals are read as written", () => {
  assert.equal(meetsGoal(1.5, "<= 1.5"), true);
  assert.equal(meetsGoal(0.59, ">= 0.6"), false);
  assert.equal(meetsGoal(1, undefined), undefined);
});
