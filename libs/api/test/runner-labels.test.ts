import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { webhookExamples } from "@octorun/testkit";
import {
  distinctiveJobLabel,
  githubLabelProblems,
  githubRunnerLabels,
  type RunnerLabelSource,
  runnerLabelOffer,
  runnerTakesJob,
} from "../src/index.ts";

const runner = (labels: string[] = [], metadataLabels: Record<string, string> = {}): RunnerLabelSource => ({
  metadata: { labels: metadataLabels },
  spec: { labels },
});

describe("githubRunnerLabels", () => {
  test("keeps only octorun.github.io/ labels, without the prefix, as key=value in key order", () => {
    assert.deepEqual(
      githubRunnerLabels({
        metadata: {
          labels: {
            "octorun.github.io/runner": "x",
            app: "y",
            "octorun.github.io/gpu": "a100",
            "runnerset.octorun.github.io/revision-hash": "h",
          },
        },
      }),
      ["gpu=a100", "runner=x"],
    );
  });
  test("plain spec.labels come first, in their order", () => {
    assert.deepEqual(githubRunnerLabels(runner(["gpu", "arm64"], { "octorun.github.io/runnerset": "big" })), [
      "gpu",
      "arm64",
      "runnerset=big",
    ]);
  });
  test("a label given twice (ignoring case) is sent once", () => {
    assert.deepEqual(githubRunnerLabels(runner(["pool=a", "GPU", "gpu"], { "octorun.github.io/pool": "A" })), [
      "pool=a",
      "GPU",
    ]);
  });
  test("no labels → none", () => assert.deepEqual(githubRunnerLabels(undefined), []));
});

describe("githubLabelProblems", () => {
  const meta = (labels: Record<string, string>) => runner([], labels);
  test("ordinary labels are fine", () => {
    assert.deepEqual(githubLabelProblems(runner(["gpu", "self-hosted"], { "octorun.github.io/runner": "x" })), []);
  });
  test("labels equal but for case are refused (GitHub labels are case-insensitive)", () => {
    const problems = githubLabelProblems(meta({ "octorun.github.io/gpu": "A100", "octorun.github.io/GPU": "a100" }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]?.message ?? "", /case-insensitive/);
  });
  test("a plain label equal but for case to another, or to a key=value label, is refused where it repeats", () => {
    assert.deepEqual(
      githubLabelProblems(runner(["gpu", "GPU"])).map((p) => p.index),
      [1],
    );
    assert.deepEqual(
      githubLabelProblems(runner(["Pool=a"], { "octorun.github.io/pool": "a" })).map((p) => p.key),
      ["octorun.github.io/pool"],
    );
  });
  test("labels that differ in value are two labels", () => {
    assert.deepEqual(githubLabelProblems(meta({ "octorun.github.io/gpu": "a", "octorun.github.io/GPU": "b" })), []);
  });
  test("more labels than GitHub allows, counting both kinds, are refused", () => {
    const labels = Object.fromEntries(Array.from({ length: 96 }, (_, i) => [`octorun.github.io/l${i}`, "v"]));
    assert.deepEqual(githubLabelProblems(runner(["gpu"], labels)), []);
    assert.match(
      githubLabelProblems(runner(["gpu", "x"], labels))[0]?.message ?? "",
      /at most 97 custom runner labels/,
    );
  });
  test("an empty name after the prefix is refused", () => {
    assert.match(githubLabelProblems(meta({ "octorun.github.io/": "x" }))[0]?.message ?? "", /empty/);
  });
  for (const bad of ["", " gpu", "a,b", "x".repeat(257)]) {
    test(`the plain label ${JSON.stringify(bad.slice(0, 12))} is refused`, () => {
      assert.deepEqual(
        githubLabelProblems(runner(["ok", bad])).map((p) => p.index),
        [1],
      );
    });
  }
});

describe("runnerTakesJob: which runner can take a job (GitHub's rule)", () => {
  const takes = (labels: string[], job: readonly string[], meta: Record<string, string> = {}) =>
    runnerTakesJob(runnerLabelOffer(runner(labels, meta)), job);
  const cases: [string, string[], Record<string, string>, string[], boolean][] = [
    ["every label asked is the runner's, ignoring case", ["gpu", "db-app"], {}, ["GPU", "db-app"], true],
    [
      "self-hosted, an OS and an architecture come with every runner",
      ["gpu"],
      {},
      ["self-hosted", "linux", "X64", "gpu"],
      true,
    ],
    ["a label the runner lacks", ["gpu"], {}, ["self-hosted", "gpu", "dc-03"], false],
    [
      "key=value labels come from octorun.github.io/ metadata labels",
      [],
      { "octorun.github.io/runnerset": "big" },
      ["runnerset=big"],
      true,
    ],
    ["a key=value label with another value", [], { "octorun.github.io/runnerset": "big" }, ["runnerset=small"], false],
    ["an architecture the runner names is the only one it offers", ["arm64"], {}, ["self-hosted", "x64"], false],
    ["... and it offers that one", ["arm64"], {}, ["self-hosted", "ARM64", "linux"], true],
    ["an OS the runner names is the only one it offers", ["windows"], {}, ["self-hosted", "linux"], false],
    ["a GitHub-hosted label", ["gpu"], {}, ["ubuntu-latest"], false],
    ["self-hosted alone: any self-hosted runner", [], {}, ["self-hosted"], true],
    ["no labels at all: no self-hosted runner", ["gpu"], {}, [], false],
  ];
  for (const [name, labels, meta, job, want] of cases) test(name, () => assert.equal(takes(labels, job, meta), want));

  // GitHub's published workflow_job payloads (and two variants: empty labels, self-hosted alone).
  const examples = webhookExamples("workflow_job", { includeOutdated: true }).map((e) => ({
    name: `example ${e.index} (${e.action})`,
    labels: (e.payload["workflow_job"] as { labels: string[] }).labels,
  }));
  const payloadLabels = [
    ...examples,
    { name: "empty labels", labels: [] as string[] },
    { name: "self-hosted alone", labels: ["self-hosted"] },
  ];
  const gpuRunner = runnerLabelOffer(runner(["gpu", "db-app", "dc-03"]));
  const k8sRunner = runnerLabelOffer(runner(["k8s"]));
  const want: Record<string, [boolean, boolean]> = {
    '["gpu","db-app","dc-03"]': [true, false],
    '["ubuntu-latest"]': [false, false],
    '["self-hosted","k8s"]': [false, true],
    "[]": [false, false],
    '["self-hosted"]': [true, true],
  };
  for (const { name, labels } of payloadLabels) {
    test(`${name}: runs-on ${JSON.stringify(labels)}`, () => {
      const expected = want[JSON.stringify(labels)];
      assert.ok(expected, `no expectation for ${JSON.stringify(labels)}: a new example in @octokit/webhooks-examples`);
      assert.deepEqual([runnerTakesJob(gpuRunner, labels), runnerTakesJob(k8sRunner, labels)], expected);
    });
  }

  test("the distinctive label skips self-hosted, OS and architecture", () => {
    assert.equal(distinctiveJobLabel(["self-hosted", "Linux", "ARM64", "GPU"]), "gpu");
    assert.equal(distinctiveJobLabel(["self-hosted", "linux"]), undefined);
  });
});
