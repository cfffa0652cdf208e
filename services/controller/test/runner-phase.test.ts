import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { applyJobEvent } from "../src/job-event-apply.ts";
import { nextPhase, type RunnerPhase } from "../src/runner-phase.ts";
import { defaultRunnerPlanConfig, emptyFacts, planRunner } from "../src/runner-plan.ts";
import { jobEvent, NOW, pod, runner } from "./fixtures.ts";

const PHASES: RunnerPhase[] = ["Pending", "Idle", "Active", "Complete", "Failed"];

describe("a Runner's phase only moves forward", () => {
  // [current, observed, result]
  const table: [RunnerPhase | undefined, RunnerPhase, RunnerPhase][] = [
    [undefined, "Idle", "Idle"],
    ["Pending", "Active", "Active"],
    ["Idle", "Active", "Active"],
    ["Idle", "Pending", "Idle"],
    ["Active", "Idle", "Active"],
    ["Active", "Complete", "Complete"],
    ["Active", "Failed", "Failed"],
    ["Complete", "Failed", "Complete"],
    ["Failed", "Complete", "Failed"],
    ["Complete", "Active", "Complete"],
    ["Failed", "Active", "Failed"],
  ];
  for (const [current, observed, expected] of table) {
    test(`${current ?? "(none)"} + ${observed} → ${expected}`, () =>
      assert.equal(nextPhase(current, observed), expected));
  }

  test("both writers follow it: a job event and a plan that sees GitHub call the runner busy agree", () => {
    for (const phase of PHASES) {
      const status = { phase, runnerName: "ns-r1-x" };
      const byEvent = applyJobEvent(status, jobEvent("assigned"), new Date(NOW));
      const eventPhase = byEvent.type === "apply" ? byEvent.status.phase : phase;
      const plan = planRunner({
        runner: runner({ spec: { url: "https://github.com/acme", id: 7 }, status }),
        pod: pod("Running", true),
        secret: { hasCredentials: true },
        facts: { ...emptyFacts(), github: { checkedAt: NOW, found: true, online: true, busy: true } },
        now: NOW,
        config: defaultRunnerPlanConfig,
      });
      assert.equal(eventPhase, nextPhase(phase, "Active"), `job event on ${phase}`);
      if (phase === "Pending") assert.equal(plan.status.phase, "Active", "the plan on Pending");
      else assert.equal(plan.status.phase, phase, `the plan leaves ${phase} as it is`);
      const online = (s: typeof status & { conditions?: { type: string; message: string }[] }) =>
        s.conditions?.find((c) => c.type === "runner.octorun.github.io/Online")?.message;
      if (phase === "Pending" && byEvent.type === "apply") {
        assert.equal(online(plan.status as never), online(byEvent.status as never), "one Online condition for Active");
      }
    }
  });
});
