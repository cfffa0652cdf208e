import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { githubLabelProblems, githubRunnerLabels } from "../src/index.ts";

describe("githubRunnerLabels", () => {
  test("keeps only octorun.github.io/ labels, without the prefix, as key=value in key order", () => {
    assert.deepEqual(
      githubRunnerLabels({
        "octorun.github.io/runner": "x",
        app: "y",
        "octorun.github.io/gpu": "a100",
        "runnerset.octorun.github.io/revision-hash": "h",
      }),
      ["gpu=a100", "runner=x"],
    );
  });
  test("no labels → none", () => assert.deepEqual(githubRunnerLabels(undefined), []));
});

describe("githubLabelProblems", () => {
  test("ordinary labels are fine", () => {
    assert.deepEqual(githubLabelProblems({ "octorun.github.io/runner": "x", other: "y" }), []);
  });
  test("labels equal but for case are refused (GitHub labels are case-insensitive)", () => {
    const problems = githubLabelProblems({ "octorun.github.io/gpu": "A100", "octorun.github.io/GPU": "a100" });
    assert.equal(problems.length, 1);
    assert.match(problems[0]?.message ?? "", /case-insensitive/);
  });
  test("labels that differ in value are two labels", () => {
    assert.deepEqual(githubLabelProblems({ "octorun.github.io/gpu": "a", "octorun.github.io/GPU": "b" }), []);
  });
  test("more labels than GitHub allows are refused", () => {
    const labels = Object.fromEntries(Array.from({ length: 98 }, (_, i) => [`octorun.github.io/l${i}`, "v"]));
    assert.match(githubLabelProblems(labels)[0]?.message ?? "", /at most 97 custom runner labels/);
    delete labels["octorun.github.io/l0"];
    assert.deepEqual(githubLabelProblems(labels), []);
  });
  test("an empty name after the prefix is refused", () => {
    assert.match(githubLabelProblems({ "octorun.github.io/": "x" })[0]?.message ?? "", /empty/);
  });
});
