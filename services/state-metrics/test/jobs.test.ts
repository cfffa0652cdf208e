import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RunnerSet } from "@octorun/api";
import { webhookExamples } from "@octorun/testkit";
import { Registry } from "prom-client";
import { JobBook, type Placement } from "../src/job-book.ts";
import { jobLabelSchema, jobLabelValues, offerAccepts, offerOf, scopeOf, splitRunsOnLabel } from "../src/job-labels.ts";
import { JobMetrics } from "../src/job-metrics.ts";
import { jobEvent, sampleValue } from "./helpers.ts";

const linux = { namespace: "ci", runnerset: "linux" } satisfies Placement;
const placeAll = () => linux;
const t0 = Date.parse("2026-11-29T12:10:00Z");

describe("JobBook", () => {
  test("stages only move forward: a late or repeated event changes nothing", () => {
    const book = new JobBook();
    assert.equal(book.apply(jobEvent("queued", 1), t0, placeAll).newlyAssigned, false);
    assert.equal(book.queuedCount, 1);
    const assigned = book.apply(jobEvent("assigned", 1), t0, placeAll);
    assert.deepEqual([assigned.newlyAssigned, assigned.newlyCompleted], [true, false]);
    assert.equal(book.queuedCount, 0);
    assert.deepEqual(book.apply(jobEvent("assigned", 1), t0, placeAll).newlyAssigned, false, "redelivered");
    assert.deepEqual(book.apply(jobEvent("queued", 1), t0, placeAll).newlyAssigned, false, "late queued");
    assert.equal(book.queuedCount, 0);
    const completed = book.apply(jobEvent("completed", 1), t0, placeAll);
    assert.deepEqual([completed.newlyAssigned, completed.newlyCompleted], [false, true]);
    assert.equal(book.apply(jobEvent("completed", 1), t0, placeAll).newlyCompleted, false, "redelivered");
  });

  test("waiting counts as queued; a completed event without an assigned one completes the job", () => {
    const book = new JobBook();
    book.apply(jobEvent("waiting", 2), t0, placeAll);
    assert.equal(book.queuedCount, 1);
    const completed = book.apply(jobEvent("completed", 2), t0, placeAll);
    assert.deepEqual([completed.newlyAssigned, completed.newlyCompleted], [true, true]);
    assert.equal(book.queuedCount, 0);
  });

  test("the placement is learned when the runner is named, and kept after the Runner is gone", () => {
    const book = new JobBook();
    book.apply(jobEvent("assigned", 3), t0, () => linux);
    const { job } = book.apply(jobEvent("completed", 3), t0, () => undefined);
    assert.deepEqual(job.placement, linux);
  });

  test("prune forgets jobs past their stage's retention", () => {
    const book = new JobBook();
    book.apply(jobEvent("queued", 4), t0, placeAll);
    book.apply(jobEvent("assigned", 5), t0, placeAll);
    book.apply(jobEvent("completed", 6), t0, placeAll);
    const retention = { queued: 100, assigned: 1000, completed: 10 };
    assert.equal(book.prune(t0 + 50, retention), 1, "completed");
    assert.equal(book.prune(t0 + 500, retention), 1, "queued");
    assert.equal(book.queuedCount, 0);
    assert.equal(book.prune(t0 + 5000, retention), 1, "assigned");
    assert.equal(book.size, 0);
  });
});

describe("runs-on labels", () => {
  test("split into name and value; plain labels are true", () => {
    assert.deepEqual(splitRunsOnLabel("runnerset=linux"), ["runnerset", "linux"]);
    assert.deepEqual(splitRunsOnLabel("Self-Hosted"), ["self-hosted", "true"]);
    assert.deepEqual(splitRunsOnLabel("a=b=c"), ["a", "b=c"]);
  });

  test("only allowlisted names become Prometheus labels, sanitized as kube-state-metrics does", () => {
    const schema = jobLabelSchema(["self-hosted", "runnerset", "GPU"]);
    assert.deepEqual(schema.labelNames, ["label_gpu", "label_runnerset", "label_self_hosted"]);
    assert.deepEqual(jobLabelValues(schema, ["self-hosted", "runnerset=linux", "x64", "team=a"]), [
      "",
      "linux",
      "true",
    ]);
    assert.deepEqual(jobLabelValues(schema, ["gpu=a100"]), ["a100", "", ""]);
    assert.equal(jobLabelValues(schema, [`runnerset=${"x".repeat(300)}`])[1]!.length, 100, "values are cut");
  });

  const cases: [string | undefined, ReturnType<typeof scopeOf>][] = [
    ["https://github.com/octo-org", { kind: "organization", owner: "octo-org" }],
    ["https://github.com/Octo-Org/App/", { kind: "repository", fullName: "octo-org/app" }],
    ["https://ghe.example.com/enterprises/acme", { kind: "enterprise" }],
    ["not a url", undefined],
    [undefined, undefined],
  ];
  for (const [url, want] of cases) test(`scope of ${url}`, () => assert.deepEqual(scopeOf(url), want));

  const set = (url: string, labels: Record<string, string>, plain?: string[]): RunnerSet => ({
    metadata: { namespace: "ci", name: "s" },
    spec: { selector: {}, template: { metadata: { labels }, spec: { url, ...(plain ? { labels: plain } : {}) } } },
  });
  const job = (labels: string[], repository = "octo-org/app", owner = "octo-org") => ({ labels, repository, owner });
  const accepts: [string, RunnerSet, ReturnType<typeof job>, boolean][] = [
    [
      "labels and organization match",
      set("https://github.com/octo-org", { "octorun.github.io/runnerset": "linux" }),
      job(["self-hosted", "runnerset=linux"]),
      true,
    ],
    [
      "labels match case-insensitively",
      set("https://github.com/octo-org", { "octorun.github.io/runnerset": "Linux" }),
      job(["RunnerSet=linux"]),
      true,
    ],
    [
      "a label the runners lack",
      set("https://github.com/octo-org", { "octorun.github.io/runnerset": "linux" }),
      job(["runnerset=linux", "gpu=a100"]),
      false,
    ],
    [
      "self-hosted alone: any runner in scope",
      set("https://github.com/octo-org", { "octorun.github.io/runnerset": "linux" }),
      job(["self-hosted"]),
      true,
    ],
    ["no label at all: no self-hosted runner", set("https://github.com/octo-org", {}, ["gpu"]), job([]), false],
    [
      "plain labels from spec.labels, with the runner's own self-hosted, OS and architecture",
      set("https://github.com/octo-org", {}, ["gpu"]),
      job(["self-hosted", "linux", "gpu"]),
      true,
    ],
    [
      "a plain label the runners lack",
      set("https://github.com/octo-org", {}, ["gpu"]),
      job(["self-hosted", "linux", "fpga"]),
      false,
    ],
    [
      "an OS other than the one spec.labels names",
      set("https://github.com/octo-org", {}, ["linux"]),
      job(["windows"]),
      false,
    ],
    [
      "other organization",
      set("https://github.com/other", { "octorun.github.io/runnerset": "linux" }),
      job(["runnerset=linux"]),
      false,
    ],
    [
      "same repository",
      set("https://github.com/octo-org/app", { "octorun.github.io/runnerset": "linux" }),
      job(["runnerset=linux"]),
      true,
    ],
    [
      "other repository",
      set("https://github.com/octo-org/web", { "octorun.github.io/runnerset": "linux" }),
      job(["runnerset=linux"]),
      false,
    ],
    [
      "enterprise runners take any repository",
      set("https://github.com/enterprises/acme", { "octorun.github.io/runnerset": "linux" }),
      job(["runnerset=linux"]),
      true,
    ],
    [
      "non-prefixed metadata labels are no GitHub labels",
      set("https://github.com/octo-org", { runnerset: "linux" }),
      job(["runnerset=linux"]),
      false,
    ],
  ];
  for (const [name, runnerSet, j, want] of accepts)
    test(`RunnerSet offer: ${name}`, () => assert.equal(offerAccepts(offerOf(runnerSet), j), want));
});

describe("JobMetrics", () => {
  const runnerSets: RunnerSet[] = [
    {
      metadata: { namespace: "ci", name: "linux" },
      spec: {
        selector: {},
        template: {
          metadata: { labels: { "octorun.github.io/runnerset": "linux" } },
          spec: { url: "https://github.com/octo-org" },
        },
      },
    },
    {
      metadata: { namespace: "ci", name: "idle" },
      spec: { selector: {}, template: { spec: { url: "https://github.com/octo-org" } } },
    },
  ];
  const make = (options: { maxQueuedSeries?: number } = {}) => {
    const registry = new Registry();
    const metrics = new JobMetrics({
      registry,
      labelsAllowlist: ["runnerset"],
      placementOf: (event) => (event.runner.name === "gh-runner-7" ? linux : undefined),
      runnerSets: () => runnerSets,
      now: () => t0,
      ...options,
    });
    return { registry, metrics };
  };

  test("every action is exported from the start, at 0", async () => {
    const text = await make().registry.metrics();
    for (const action of ["queued", "waiting", "assigned", "completed"])
      assert.equal(sampleValue(text, "octorun_jobs_total", { action }), 0);
  });

  test("queue and run time are observed once per job, on the RunnerSet that ran it", async () => {
    const { registry, metrics } = make();
    for (const e of [
      jobEvent("queued", 1),
      jobEvent("assigned", 1),
      jobEvent("assigned", 1),
      jobEvent("completed", 1),
      jobEvent("completed", 1),
    ])
      metrics.record(e);
    const text = await registry.metrics();
    assert.equal(sampleValue(text, "octorun_jobs_total", { action: "assigned" }), 2, "events are counted as read");
    assert.equal(sampleValue(text, "octorun_job_queue_duration_seconds_count", linux), 1);
    assert.equal(sampleValue(text, "octorun_job_queue_duration_seconds_sum", linux), 30);
    assert.equal(sampleValue(text, "octorun_job_run_duration_seconds_count", { ...linux, conclusion: "success" }), 1);
    assert.equal(sampleValue(text, "octorun_job_run_duration_seconds_sum", { ...linux, conclusion: "success" }), 300);
  });

  test("conclusions outside GitHub's known set are 'other'", async () => {
    const { registry, metrics } = make();
    const done = jobEvent("completed", 2);
    metrics.record({ ...done, job: { ...done.job, conclusion: "brand_new" } });
    assert.equal(
      sampleValue(await registry.metrics(), "octorun_job_run_duration_seconds_count", {
        ...linux,
        conclusion: "other",
      }),
      1,
    );
  });

  test("jobs on runners octorun does not own have no durations", async () => {
    const { registry, metrics } = make();
    metrics.record(jobEvent("assigned", 3, { runner: { id: 1, name: "elsewhere", groupId: 1, groupName: "x" } }));
    assert.doesNotMatch(await registry.metrics(), /octorun_job_queue_duration_seconds_count\{/);
  });

  test("queued jobs by allowlisted label, and by the RunnerSets that could take them (0 for the others)", async () => {
    const { registry, metrics } = make();
    metrics.record(jobEvent("queued", 10));
    metrics.record(jobEvent("queued", 11));
    metrics.record(jobEvent("queued", 12, { labels: ["ubuntu-latest"] }));
    const text = await registry.metrics();
    assert.equal(sampleValue(text, "octorun_jobs_queued", { label_runnerset: "linux" }), 2);
    assert.equal(sampleValue(text, "octorun_jobs_queued", { label_runnerset: "" }), 1);
    assert.equal(sampleValue(text, "octorun_runnerset_queued_jobs", { namespace: "ci", runnerset: "linux" }), 2);
    assert.equal(sampleValue(text, "octorun_runnerset_queued_jobs", { namespace: "ci", runnerset: "idle" }), 0);
  });

  test("GitHub's example workflow_job payloads, with empty labels and self-hosted alone, count for the RunnerSets whose runners GitHub would give them", async () => {
    const sets: RunnerSet[] = [
      ["gpu", "https://github.com/octo-org", ["gpu", "db-app", "dc-03"]],
      ["k8s", "https://github.com/lineville", ["k8s"]],
      ["hello", "https://github.com/Codertocat/Hello-World", []],
    ].map(([name, url, labels]) => ({
      metadata: { namespace: "ci", name: name as string },
      spec: { selector: {}, template: { spec: { url: url as string, labels: labels as string[] } } },
    }));
    const registry = new Registry();
    const metrics = new JobMetrics({
      registry,
      labelsAllowlist: [],
      placementOf: () => undefined,
      runnerSets: () => sets,
      now: () => t0,
    });
    const payloads = webhookExamples("workflow_job", { includeOutdated: true }).map((e) => e.payload);
    const hello = payloads.find(
      (p) => (p["repository"] as { full_name: string }).full_name === "Codertocat/Hello-World",
    );
    assert.ok(hello);
    const variant = (labels: string[]) => {
      const copy = structuredClone(hello);
      (copy["workflow_job"] as { labels: string[] }).labels = labels;
      return copy;
    };
    payloads.push(variant([]), variant(["self-hosted"]));
    payloads.forEach((payload, i) => {
      const job = payload["workflow_job"] as { labels: string[] };
      const repository = payload["repository"] as { full_name: string; owner: { login: string } };
      // Each as a job still waiting for a runner.
      metrics.record(
        jobEvent("queued", 900 + i, {
          labels: job.labels,
          repository: { fullName: repository.full_name, url: "" },
          owner: { login: repository.owner.login, type: "Organization", url: "" },
        }),
      );
    });
    const text = await registry.metrics();
    const count = (runnerset: string) =>
      sampleValue(text, "octorun_runnerset_queued_jobs", { namespace: "ci", runnerset });
    // gpu: the one example asking for gpu, db-app, dc-03 in octo-org. k8s: the queued and waiting
    // self-hosted, k8s examples. hello: only the self-hosted-alone variant (ubuntu-latest is
    // GitHub's; a job with no labels is for no self-hosted runner).
    assert.deepEqual([count("gpu"), count("k8s"), count("hello")], [1, 2, 1]);
  });

  test("label combinations beyond the cap are counted under _other", async () => {
    const { registry, metrics } = make({ maxQueuedSeries: 2 });
    for (let i = 0; i < 5; i++) metrics.record(jobEvent("queued", 20 + i, { labels: [`runnerset=s${i}`] }));
    const text = await registry.metrics();
    assert.equal(sampleValue(text, "octorun_jobs_queued", { label_runnerset: "_other" }), 3);
    assert.equal(text.split("\n").filter((line) => line.startsWith("octorun_jobs_queued{")).length, 3);
  });
});
