import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Runner, RunnerSet } from "@octorun/api";
import { escapeLabelValue, formatValue } from "../src/exposition.ts";
import { mapToPrometheusLabels, parseAllowlist, prometheusLabelName } from "../src/label-names.ts";
import { MetricsStore } from "../src/metrics-store.ts";
import { runnerFamilies } from "../src/runner-families.ts";
import { runnerSetFamilies } from "../src/runnerset-families.ts";

const all = parseAllowlist(["*"]);
const runnerGen = Object.fromEntries(runnerFamilies({ labelsAllowlist: all }).map((f) => [f.name, f]));
const setGen = Object.fromEntries(runnerSetFamilies({ labelsAllowlist: all }).map((f) => [f.name, f]));

const runner: Runner = {
  metadata: {
    name: "r-1",
    namespace: "ci",
    uid: "u-1",
    creationTimestamp: "2026-11-29T12:00:00Z",
    labels: { "octorun.github.io/runnerset": "linux", "app.kubernetes.io/name": "octorun", teamOwner: 'a"b' },
  },
  spec: { url: "https://github.com/octo-org", group: "Default", id: 42, os: "linux" },
  status: {
    phase: "Idle",
    conditions: [
      {
        type: "runner.octorun.github.io/Online",
        status: "True",
        reason: "RunnerOnline",
        message: "",
        lastTransitionTime: "2026-11-29T12:01:00Z",
      },
      {
        type: "runner.octorun.github.io/PodReady",
        status: "Unknown",
        reason: "RunnerPodPending",
        message: "",
        lastTransitionTime: "2026-11-29T12:01:00Z",
      },
    ],
  },
};

const runnerSet: RunnerSet = {
  metadata: {
    name: "linux",
    namespace: "ci",
    uid: "s-1",
    creationTimestamp: "2026-11-29T11:00:00.000Z",
    labels: { tier: "x" },
  },
  spec: { runners: 4, selector: { matchLabels: { "octorun.github.io/runnerset": "linux" } } },
  status: {
    runners: 3,
    idleRunners: 2,
    activeRunners: 1,
    conditions: [
      {
        type: "runnerset.octorun.github.io/RunnersReady",
        status: "False",
        reason: "RunnersNotReady",
        message: "",
        lastTransitionTime: "2026-11-29T12:00:00Z",
      },
    ],
  },
};

describe("Runner families (golden exposition)", () => {
  const cases: { family: string; obj: Runner; want: string }[] = [
    {
      family: "octorun_runner_labels",
      obj: runner,
      want: 'octorun_runner_labels{namespace="ci",runner="r-1",label_app_kubernetes_io_name="octorun",label_octorun_github_io_runnerset="linux",label_team_owner="a\\"b"} 1\n',
    },
    {
      family: "octorun_runner_labels",
      obj: { metadata: { name: "bare", namespace: "ns" }, spec: { url: "u" } },
      want: 'octorun_runner_labels{namespace="ns",runner="bare"} 1\n',
    },
    {
      family: "octorun_runner_created",
      obj: runner,
      want: 'octorun_runner_created{namespace="ci",runner="r-1"} 1795953600\n',
    },
    {
      family: "octorun_runner_created",
      obj: { metadata: { name: "new", namespace: "ns" }, spec: { url: "u" } },
      want: "",
    },
    {
      family: "octorun_runner_info",
      obj: runner,
      want: 'octorun_runner_info{namespace="ci",runner="r-1",url="https://github.com/octo-org",group="Default",runner_id="42",os="linux"} 1\n',
    },
    {
      family: "octorun_runner_info",
      obj: { metadata: { name: "p", namespace: "ns" }, spec: { url: "https://github.com/o/r" } },
      want: 'octorun_runner_info{namespace="ns",runner="p",url="https://github.com/o/r",group="",runner_id="",os=""} 1\n',
    },
    {
      family: "octorun_runner_status_phase",
      obj: runner,
      want: [
        'octorun_runner_status_phase{namespace="ci",runner="r-1",phase="Pending"} 0',
        'octorun_runner_status_phase{namespace="ci",runner="r-1",phase="Idle"} 1',
        'octorun_runner_status_phase{namespace="ci",runner="r-1",phase="Active"} 0',
        'octorun_runner_status_phase{namespace="ci",runner="r-1",phase="Complete"} 0',
        'octorun_runner_status_phase{namespace="ci",runner="r-1",phase="Failed"} 0',
        "",
      ].join("\n"),
    },
    {
      family: "octorun_runner_status_phase",
      obj: { ...runner, status: { phase: "Failed" } },
      want: [
        'octorun_runner_status_phase{namespace="ci",runner="r-1",phase="Pending"} 0',
        'octorun_runner_status_phase{namespace="ci",runner="r-1",phase="Idle"} 0',
        'octorun_runner_status_phase{namespace="ci",runner="r-1",phase="Active"} 0',
        'octorun_runner_status_phase{namespace="ci",runner="r-1",phase="Complete"} 0',
        'octorun_runner_status_phase{namespace="ci",runner="r-1",phase="Failed"} 1',
        "",
      ].join("\n"),
    },
    { family: "octorun_runner_status_phase", obj: { ...runner, status: {} }, want: "" },
    {
      family: "octorun_runner_status_conditions",
      obj: runner,
      want: [
        'octorun_runner_status_conditions{namespace="ci",runner="r-1",condition="runner.octorun.github.io/Online",status="true"} 1',
        'octorun_runner_status_conditions{namespace="ci",runner="r-1",condition="runner.octorun.github.io/Online",status="false"} 0',
        'octorun_runner_status_conditions{namespace="ci",runner="r-1",condition="runner.octorun.github.io/Online",status="unknown"} 0',
        'octorun_runner_status_conditions{namespace="ci",runner="r-1",condition="runner.octorun.github.io/PodReady",status="true"} 0',
        'octorun_runner_status_conditions{namespace="ci",runner="r-1",condition="runner.octorun.github.io/PodReady",status="false"} 0',
        'octorun_runner_status_conditions{namespace="ci",runner="r-1",condition="runner.octorun.github.io/PodReady",status="unknown"} 1',
        "",
      ].join("\n"),
    },
    { family: "octorun_runner_status_conditions", obj: { ...runner, status: undefined }, want: "" },
  ];
  for (const [i, c] of cases.entries()) {
    test(`${c.family} #${i}`, () => {
      const family = runnerGen[c.family];
      assert.ok(family, `family ${c.family} exists`);
      assert.equal(family.generate(c.obj), c.want);
    });
  }

  test("the labels family exports only allowlisted metadata labels", () => {
    const family = runnerFamilies({ labelsAllowlist: parseAllowlist(["octorun.github.io/runnerset"]) })[0]!;
    assert.equal(
      family.generate(runner),
      'octorun_runner_labels{namespace="ci",runner="r-1",label_octorun_github_io_runnerset="linux"} 1\n',
    );
  });
});

describe("RunnerSet families (golden exposition)", () => {
  const id = 'namespace="ci",runnerset="linux"';
  const cases: { family: string; obj: RunnerSet; want: string }[] = [
    { family: "octorun_runnerset_labels", obj: runnerSet, want: `octorun_runnerset_labels{${id},label_tier="x"} 1\n` },
    { family: "octorun_runnerset_created", obj: runnerSet, want: `octorun_runnerset_created{${id}} 1795950000\n` },
    { family: "octorun_runnerset_spec_runners", obj: runnerSet, want: `octorun_runnerset_spec_runners{${id}} 4\n` },
    { family: "octorun_runnerset_status_runners", obj: runnerSet, want: `octorun_runnerset_status_runners{${id}} 3\n` },
    {
      family: "octorun_runnerset_status_runners",
      obj: { ...runnerSet, status: undefined },
      want: `octorun_runnerset_status_runners{${id}} 0\n`,
    },
    {
      family: "octorun_runnerset_status_idle_runners",
      obj: runnerSet,
      want: `octorun_runnerset_status_idle_runners{${id}} 2\n`,
    },
    {
      family: "octorun_runnerset_status_active_runners",
      obj: runnerSet,
      want: `octorun_runnerset_status_active_runners{${id}} 1\n`,
    },
    {
      family: "octorun_runnerset_status_conditions",
      obj: runnerSet,
      want: [
        `octorun_runnerset_status_conditions{${id},condition="runnerset.octorun.github.io/RunnersReady",status="true"} 0`,
        `octorun_runnerset_status_conditions{${id},condition="runnerset.octorun.github.io/RunnersReady",status="false"} 1`,
        `octorun_runnerset_status_conditions{${id},condition="runnerset.octorun.github.io/RunnersReady",status="unknown"} 0`,
        "",
      ].join("\n"),
    },
    {
      family: "octorun_runnerset_runner_active_ratio",
      obj: runnerSet,
      want: `octorun_runnerset_runner_active_ratio{${id}} 0.3333333333333333\n`,
    },
    {
      family: "octorun_runnerset_runner_active_ratio",
      obj: { ...runnerSet, status: { runners: 0, activeRunners: 0 } },
      want: `octorun_runnerset_runner_active_ratio{${id}} 0\n`,
    },
    {
      family: "octorun_runnerset_runner_active_ratio",
      obj: { ...runnerSet, status: undefined },
      want: `octorun_runnerset_runner_active_ratio{${id}} 0\n`,
    },
  ];
  for (const [i, c] of cases.entries()) {
    test(`${c.family} #${i}`, () => {
      const family = setGen[c.family];
      assert.ok(family, `family ${c.family} exists`);
      assert.equal(family.generate(c.obj), c.want);
    });
  }
});

describe("label names as kube-state-metrics sanitizes them", () => {
  const cases: [string, string][] = [
    ["app.kubernetes.io/name", "label_app_kubernetes_io_name"],
    ["self-hosted", "label_self_hosted"],
    ["runsOn", "label_runs_on"],
    ["GPU", "label_gpu"],
    ["x86_64", "label_x86_64"],
  ];
  for (const [name, want] of cases)
    test(`${name} → ${want}`, () => assert.equal(prometheusLabelName("label", name), want));

  test("names that collide after sanitizing get _conflictN suffixes", () => {
    assert.deepEqual(
      mapToPrometheusLabels("label", { "a-b": "1", a_b: "2", "a.b": "3", c: "4" }, parseAllowlist(["*"])),
      [
        ["label_a_b_conflict1", "1"],
        ["label_a_b_conflict2", "3"],
        ["label_a_b_conflict3", "2"],
        ["label_c", "4"],
      ],
    );
  });
});

describe("exposition details", () => {
  test("label values escape backslash, quote and newline", () =>
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd'));
  test("special values", () => {
    assert.equal(formatValue(Number.NaN), "NaN");
    assert.equal(formatValue(Number.POSITIVE_INFINITY), "+Inf");
    assert.equal(formatValue(0.5), "0.5");
  });
});

describe("MetricsStore", () => {
  test("writes each family once with every object's lines, and forgets deleted objects", () => {
    const store = new MetricsStore(runnerSetFamilies({ labelsAllowlist: parseAllowlist([]) }).slice(2, 4));
    const other: RunnerSet = { ...runnerSet, metadata: { ...runnerSet.metadata, name: "win", uid: "s-2" } };
    store.upsert(runnerSet);
    store.upsert(other);
    const text = () => store.text(10);
    assert.equal(
      text(),
      [
        "# HELP octorun_runnerset_spec_runners Number of desired runners.",
        "# TYPE octorun_runnerset_spec_runners gauge",
        'octorun_runnerset_spec_runners{namespace="ci",runnerset="linux"} 4',
        'octorun_runnerset_spec_runners{namespace="ci",runnerset="win"} 4',
        "# HELP octorun_runnerset_status_runners Most recently observed number of runners.",
        "# TYPE octorun_runnerset_status_runners gauge",
        'octorun_runnerset_status_runners{namespace="ci",runnerset="linux"} 3',
        'octorun_runnerset_status_runners{namespace="ci",runnerset="win"} 3',
        "",
      ].join("\n"),
    );
    store.replace(other, {
      ...other,
      metadata: { ...other.metadata, uid: "s-3" },
      spec: { ...other.spec!, runners: 9 },
    });
    store.delete(runnerSet);
    assert.equal(store.size, 1);
    assert.match(text(), /runnerset="win"\} 9\n/);
    assert.doesNotMatch(text(), /runnerset="linux"/);
  });
});
