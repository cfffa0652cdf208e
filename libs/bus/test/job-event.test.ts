import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  actionOfSubject,
  checkJobEvent,
  decodeJobEvent,
  encodeJobEvent,
  InvalidJobEventError,
  jobActionFromGitHub,
  jobStreamConfig,
  jobSubject,
} from "../src/index.ts";
import { sampleEvent } from "./fixtures.ts";

// biome-ignore lint/suspicious/noExplicitAny: GitHub payloads and events are untyped JSON that the tests mutate freely.
type Json = any;

describe("job event schema", () => {
  const cases: { name: string; mutate: (e: Json) => void; problem?: RegExp }[] = [
    { name: "a complete event is valid", mutate: () => {} },
    {
      name: "queued: runner fields null",
      mutate: (e) => (e.runner = { id: null, name: null, groupId: null, groupName: null }),
    },
    { name: "org-hook delivery: no installation", mutate: (e) => (e.installationId = null) },
    {
      name: "completed with empty labels",
      mutate: (e) => {
        e.job.labels = [];
        e.job.conclusion = "skipped";
      },
    },
    { name: "an unknown future conclusion is accepted", mutate: (e) => (e.job.conclusion = "startup_failure") },
    {
      name: "another version is refused",
      mutate: (e) => (e.version = 2),
      problem: /version must be equal to constant/,
    },
    { name: "GitHub's in_progress is not an action", mutate: (e) => (e.action = "in_progress"), problem: /action/ },
    { name: "the delivery id is required", mutate: (e) => delete e.deliveryId, problem: /^deliveryId is required$/ },
    { name: "the job id must be an integer", mutate: (e) => (e.job.id = "12"), problem: /job\.id must be integer/ },
    {
      name: "a missing run attempt is named",
      mutate: (e) => delete e.job.runAttempt,
      problem: /job\.runAttempt is required/,
    },
    { name: "labels are strings", mutate: (e) => (e.job.labels = [1]), problem: /job\.labels\.0 must be string/ },
    {
      name: "timestamps are date-times",
      mutate: (e) => (e.job.createdAt = "yesterday"),
      problem: /job\.createdAt must match format/,
    },
    { name: "unknown fields are refused", mutate: (e) => (e.extra = 1), problem: /extra is not a job event field/ },
    {
      name: "repository is owner/name",
      mutate: (e) => (e.repository.fullName = "repo"),
      problem: /repository\.fullName/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const event = structuredClone(sampleEvent()) as Json;
      c.mutate(event);
      const result = checkJobEvent(event);
      if (!c.problem) return assert.equal(result.valid, true, JSON.stringify(result));
      assert.equal(result.valid, false);
      assert.ok(!result.valid && result.problems.some((p) => c.problem!.test(p)), JSON.stringify(result));
    });
  }

  test("encoding refuses an invalid event and decoding refuses bytes that are not a valid event", () => {
    assert.throws(() => encodeJobEvent({ ...sampleEvent(), deliveryId: "" }), InvalidJobEventError);
    assert.throws(() => decodeJobEvent(Buffer.from("{not json")), /not JSON/);
    assert.deepEqual(decodeJobEvent(encodeJobEvent(sampleEvent())), sampleEvent());
  });
});

describe("subjects", () => {
  test("GitHub actions map to octorun actions and subjects", () => {
    const table: [string, string | undefined][] = [
      ["queued", "octorun.jobs.queued"],
      ["waiting", "octorun.jobs.waiting"],
      ["in_progress", "octorun.jobs.assigned"],
      ["completed", "octorun.jobs.completed"],
      ["requested", undefined],
    ];
    for (const [github, subject] of table) {
      const action = jobActionFromGitHub(github);
      assert.equal(action && jobSubject(action), subject, github);
      if (subject) assert.equal(actionOfSubject(subject), action);
    }
    assert.equal(actionOfSubject("octorun.jobs.other"), undefined);
  });

  test("the stream keeps delivery ids at least ten minutes", () => {
    assert.throws(
      () => jobStreamConfig({ maxAgeMs: 0, maxBytes: -1, maxMessages: -1, duplicateWindowMs: 60_000, replicas: 1 }),
      /at least 600 s/,
    );
    const config = jobStreamConfig();
    assert.deepEqual(config.subjects, ["octorun.jobs.>"]);
    assert.equal(config.storage, "file");
  });
});
