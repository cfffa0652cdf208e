import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { JobEvent } from "@octorun/bus";
import { applyJobEvent } from "../src/job-event-apply.ts";
import type { RunnerStatus } from "../src/types.ts";
import { jobEvent } from "./fixtures.ts";

const now = new Date("2026-01-02T03:02:00Z");
const idle: RunnerStatus = { phase: "Idle", runnerName: "ns-r1-x" };
const apply = (status: RunnerStatus | undefined, event: JobEvent) => applyJobEvent(status, event, now, 1);
const statusOf = (outcome: ReturnType<typeof applyJobEvent>) => {
  assert.equal(outcome.type, "apply", JSON.stringify(outcome));
  return (outcome as { status: RunnerStatus }).status;
};

describe("job events applied to a Runner", () => {
  test("assigned → Active with the job in status", () => {
    const status = statusOf(apply(idle, jobEvent("assigned")));
    assert.equal(status.phase, "Active");
    assert.deepEqual(status.job, {
      id: 11,
      runId: 22,
      runAttempt: 1,
      name: "build",
      repository: "acme/app",
      workflow: "CI",
      assignedAt: "2026-01-02T03:01:00Z",
    });
    assert.equal(status.conditions?.find((c) => c.type === "runner.octorun.github.io/JobAssigned")?.status, "True");
    assert.equal(status.conditions?.find((c) => c.type === "runner.octorun.github.io/Online")?.reason, "RunnerBusy");
  });
  test("assigned while still Pending → Active too", () => {
    assert.equal(statusOf(apply({ phase: "Pending" }, jobEvent("assigned"))).phase, "Active");
  });
  test("a duplicate assigned changes nothing", () => {
    const once = statusOf(apply(idle, jobEvent("assigned")));
    assert.equal(apply(once, jobEvent("assigned")).type, "unchanged");
  });
  test("completed records conclusion and completion time; the phase stays Active", () => {
    const active = statusOf(apply(idle, jobEvent("assigned")));
    const done = statusOf(apply(active, jobEvent("completed")));
    assert.equal(done.phase, "Active");
    assert.equal(done.job?.completedAt, "2026-01-02T03:05:00Z");
    assert.equal(done.job?.conclusion, "success");
  });
  test("completed before assigned: Active with the completion, and the late assigned moves nothing back", () => {
    const done = statusOf(apply(idle, jobEvent("completed")));
    assert.equal(done.phase, "Active");
    assert.equal(done.job?.completedAt, "2026-01-02T03:05:00Z");
    const late = apply(done, jobEvent("assigned"));
    assert.equal(late.type, "unchanged");
  });
  test("a completed event redelivered after Complete changes nothing", () => {
    const active = statusOf(apply(idle, jobEvent("assigned")));
    const done = statusOf(apply(active, jobEvent("completed")));
    assert.equal(apply({ ...done, phase: "Complete" }, jobEvent("completed")).type, "unchanged");
  });
  test("an event after Complete records the job without changing the phase", () => {
    const status = statusOf(apply({ phase: "Complete", runnerName: "x" }, jobEvent("assigned")));
    assert.equal(status.phase, "Complete");
    assert.equal(status.job?.id, 11);
  });
  test("a second, different job on an ephemeral runner can never apply", () => {
    const active = statusOf(apply(idle, jobEvent("assigned")));
    assert.equal(apply(active, jobEvent("assigned", { jobId: 99 })).type, "never");
  });
  test("queued and waiting events name no runner", () => {
    assert.equal(apply(idle, jobEvent("queued")).type, "never");
    assert.equal(apply(idle, jobEvent("waiting")).type, "never");
  });
});
