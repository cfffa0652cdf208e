import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  defaultRunnerPlanConfig,
  emptyFacts,
  planRunner,
  type RunnerFacts,
  type RunnerObservation,
} from "../src/runner-plan.ts";
import type { RunnerObject } from "../src/types.ts";
import { NOW, pod, runner } from "./fixtures.ts";

const observe = (over: Partial<RunnerObservation> & { runner: RunnerObject }): RunnerObservation => ({
  pod: undefined,
  secret: undefined,
  facts: emptyFacts(),
  now: NOW,
  config: defaultRunnerPlanConfig,
  ...over,
});
const types = (o: RunnerObservation) =>
  planRunner(o)
    .actions.filter((a) => a.type !== "event")
    .map((a) => a.type);
const facts = (over: Partial<RunnerFacts>): RunnerFacts => ({ ...emptyFacts(), ...over });
const registered = runner({
  spec: { url: "https://github.com/acme", id: 7 },
  status: { phase: "Pending", runnerName: "ns-r1-x" },
});
const secret = { hasCredentials: true };
const condition = (o: RunnerObservation, type: string) =>
  planRunner(o).status.conditions?.find((c) => c.type === `runner.octorun.github.io/${type}`);

describe("runner plan: life", () => {
  test("a new Runner: finalizer first, then register and create the Pod", () => {
    const o = observe({ runner: runner({ metadata: { finalizers: [] } }) });
    assert.deepEqual(types(o), ["addFinalizer", "register", "createPod"]);
    const plan = planRunner(o);
    assert.equal(plan.status.phase, "Pending");
    assert.match(plan.status.runnerName ?? "", /^ns-r1-[0-9a-f]{8}$/);
  });
  test("registered without a Pod → create the Pod", () => {
    assert.deepEqual(types(observe({ runner: registered, secret })), ["createPod"]);
  });
  test("Pod pending → waits, PodReady False", () => {
    const o = observe({ runner: registered, secret, pod: pod("Pending") });
    assert.deepEqual(types(o), []);
    assert.equal(condition(o, "PodReady")?.status, "False");
    assert.equal(planRunner(o).status.phase, "Pending");
  });
  test("Pod Ready, GitHub not asked yet → one online check a moment after Ready", () => {
    const ready = pod("Running", true);
    (ready.status?.conditions?.[0] as { lastTransitionTime?: unknown }).lastTransitionTime = new Date(
      NOW - 200,
    ).toISOString();
    const early = observe({ runner: registered, secret, pod: ready });
    assert.deepEqual(types(early), []);
    assert.equal(planRunner(early).requeueAfterMs, 1800);
    assert.deepEqual(types(observe({ runner: registered, secret, pod: ready, now: NOW + 1800 })), ["checkRunner"]);
  });
  test("GitHub says offline → Online False (RunnerOffline), next check after backoff", () => {
    const o = observe({
      runner: registered,
      secret,
      pod: pod("Running", true),
      facts: facts({ onlineChecks: 1, github: { checkedAt: NOW - 200, found: true, online: false, busy: false } }),
    });
    const plan = planRunner(o);
    assert.deepEqual(types(o), []);
    assert.equal(plan.requeueAfterMs, 800);
    assert.equal(condition(o, "Online")?.reason, "RunnerOffline");
  });
  test("the online check rate limited → Online False (RateLimited) says why, no check until GitHub's reset", () => {
    const error = { at: NOW - 100, reason: "RateLimited", message: "rate limit exhausted", permanent: false };
    const ready = pod("Running", true);
    (ready.status?.conditions?.[0] as { lastTransitionTime?: unknown }).lastTransitionTime = new Date(
      NOW - 10_000,
    ).toISOString();
    const o = observe({
      runner: registered,
      secret,
      pod: ready,
      facts: facts({ checkFailures: 1, lastCheckError: { ...error, retryAt: NOW + 60_000 } }),
    });
    assert.deepEqual(types(o), []);
    assert.equal(planRunner(o).requeueAfterMs, 60_000);
    assert.equal(planRunner(o).status.phase, "Pending");
    assert.equal(condition(o, "Online")?.reason, "RateLimited");
    assert.match(condition(o, "Online")?.message ?? "", /rate limit exhausted/);
    const later = observe({ ...o, now: NOW + 60_000 });
    assert.deepEqual(types(later), ["checkRunner"], "asked again once GitHub allows it");
    const serverError = observe({
      ...o,
      facts: facts({ checkFailures: 3, lastCheckError: { ...error, reason: "GitHubError" } }),
    });
    assert.equal(planRunner(serverError).requeueAfterMs, 3_900, "a doubling backoff without a reset time");
  });
  test("GitHub says online → Idle, Online True (RunnerOnline), an Event", () => {
    const o = observe({
      runner: registered,
      secret,
      pod: pod("Running", true),
      facts: facts({ onlineChecks: 1, github: { checkedAt: NOW, found: true, online: true, busy: false } }),
    });
    const plan = planRunner(o);
    assert.equal(plan.status.phase, "Idle");
    assert.equal(condition(o, "Online")?.reason, "RunnerOnline");
    assert.ok(plan.actions.some((a) => a.type === "event" && a.reason === "RunnerOnline"));
  });
  test("GitHub says busy while Pending → Active and safe-to-evict false", () => {
    const o = observe({
      runner: registered,
      secret,
      pod: pod("Running", true),
      facts: facts({ onlineChecks: 1, github: { checkedAt: NOW, found: true, online: true, busy: true } }),
    });
    const plan = planRunner(o);
    assert.equal(plan.status.phase, "Active");
    assert.deepEqual(
      plan.actions.find((a) => a.type === "setSafeToEvict"),
      { type: "setSafeToEvict", value: "false" },
    );
  });
  test("Idle stays Idle without GitHub calls", () => {
    const idle = runner({ spec: { url: "u", id: 7 }, status: { phase: "Idle", runnerName: "n" } });
    assert.deepEqual(types(observe({ runner: idle, secret, pod: pod("Running", true) })), []);
  });
  test("Active (from a job event) turns safe-to-evict false on the Pod", () => {
    const active = runner({
      spec: { url: "u", id: 7 },
      status: { phase: "Active", runnerName: "n", job: { id: 1, assignedAt: new Date(NOW).toISOString() } },
    });
    assert.deepEqual(types(observe({ runner: active, secret, pod: pod("Running", true) })), ["setSafeToEvict"]);
  });
  test("Pod Succeeded → Complete, Online False (RunnerPodSucceeded)", () => {
    const active = runner({ spec: { url: "u", id: 7 }, status: { phase: "Active", runnerName: "n" } });
    const o = observe({ runner: active, secret, pod: pod("Succeeded") });
    assert.equal(planRunner(o).status.phase, "Complete");
    assert.equal(condition(o, "Online")?.reason, "RunnerPodSucceeded");
  });
  test("Pod Failed → Failed with the reason in a condition", () => {
    const failedPod = pod("Failed");
    failedPod.status = {
      ...failedPod.status,
      containerStatuses: [
        {
          name: "runner",
          image: "",
          imageID: "",
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 3, reason: "Error" } },
        },
      ],
    };
    const o = observe({ runner: registered, secret, pod: failedPod });
    assert.equal(planRunner(o).status.phase, "Failed");
    assert.equal(condition(o, "Failed")?.reason, "RunnerPodFailed");
    assert.match(condition(o, "Failed")?.message ?? "", /exited with code 3/);
  });
  test("Idle runner whose Pod vanished → Failed (its JIT configuration is used up)", () => {
    const idle = runner({ spec: { url: "u", id: 7 }, status: { phase: "Idle", runnerName: "n" } });
    assert.equal(planRunner(observe({ runner: idle, secret })).status.phase, "Failed");
  });
  test("Active runner whose job completed and whose Pod was stopped → Complete, not Failed", () => {
    const stopped = runner({
      spec: { url: "u", id: 7 },
      status: { phase: "Active", runnerName: "n", job: { id: 1, completedAt: new Date(NOW).toISOString() } },
    });
    assert.equal(planRunner(observe({ runner: stopped, secret })).status.phase, "Complete");
  });
  test("Complete is final: no actions, phase kept", () => {
    const done = runner({ spec: { url: "u", id: 7 }, status: { phase: "Complete", runnerName: "n" } });
    const plan = planRunner(observe({ runner: done, secret, pod: pod("Running", true) }));
    assert.deepEqual(plan.actions, []);
    assert.equal(plan.status.phase, "Complete");
  });
  test("never backwards: an Active runner whose GitHub answer says idle stays Active", () => {
    const active = runner({
      spec: { url: "u", id: 7 },
      status: { phase: "Active", runnerName: "n", job: { id: 1, assignedAt: new Date(NOW).toISOString() } },
    });
    const o = observe({
      runner: active,
      secret,
      pod: pod("Running", true, { annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "false" } }),
      facts: facts({ github: { checkedAt: NOW, found: true, online: true, busy: false } }),
    });
    assert.equal(planRunner(o).status.phase, "Active");
  });
  test("job completed but the Pod still runs: wait for the grace period, then stop it", () => {
    const completedAt = new Date(NOW - 10_000).toISOString();
    const active = runner({
      spec: { url: "u", id: 7 },
      status: { phase: "Active", runnerName: "n", job: { id: 1, completedAt } },
    });
    const p = pod("Running", true, { annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "false" } });
    const early = planRunner(observe({ runner: active, secret, pod: p }));
    assert.deepEqual(early.actions, []);
    assert.equal(early.requeueAfterMs, 50_000);
    assert.deepEqual(types(observe({ runner: active, secret, pod: p, now: NOW + 50_000 })), ["stopPod"]);
  });
  test("Active without a completed event: a GitHub check only after activeCheckAfterMs", () => {
    const assignedAt = new Date(NOW).toISOString();
    const active = runner({
      spec: { url: "u", id: 7 },
      status: { phase: "Active", runnerName: "n", job: { id: 1, assignedAt } },
    });
    const p = pod("Running", true, { annotations: { "cluster-autoscaler.kubernetes.io/safe-to-evict": "false" } });
    assert.deepEqual(types(observe({ runner: active, secret, pod: p, now: NOW + 1000 })), []);
    assert.deepEqual(
      types(observe({ runner: active, secret, pod: p, now: NOW + defaultRunnerPlanConfig.activeCheckAfterMs })),
      ["checkRunner"],
    );
    const afterCheck = planRunner(
      observe({
        runner: active,
        secret,
        pod: p,
        now: NOW + defaultRunnerPlanConfig.activeCheckAfterMs + 5,
        facts: facts({
          jobChecks: 1,
          github: {
            checkedAt: NOW + defaultRunnerPlanConfig.activeCheckAfterMs,
            found: false,
            online: false,
            busy: false,
          },
        }),
      }),
    );
    assert.ok(afterCheck.status.job?.completedAt, "the job is recorded as completed");
  });
});

describe("runner plan: registration failures", () => {
  const failure = (permanent: boolean, failures: number) =>
    facts({
      registrationFailures: failures,
      lastRegistrationError: { at: NOW - 1000, reason: "GitHubError", message: "GitHub answered 503", permanent },
    });
  test("a transient failure waits its backoff with a condition that says why", () => {
    const o = observe({ runner: runner(), facts: failure(false, 2) });
    const plan = planRunner(o);
    assert.deepEqual(types(o), []);
    assert.equal(plan.requeueAfterMs, 3000);
    assert.equal(condition(o, "Registered")?.message, "GitHub answered 503");
  });
  test("after the backoff: register again", () => {
    assert.deepEqual(types(observe({ runner: runner(), facts: failure(false, 1), now: NOW + 5000 })), [
      "register",
      "createPod",
    ]);
  });
  test("a permanent failure → Failed at once", () => {
    const o = observe({ runner: runner(), facts: failure(true, 1) });
    assert.equal(planRunner(o).status.phase, "Failed");
    assert.equal(condition(o, "Failed")?.reason, "RegistrationFailed");
  });
  test("failing again and again → Failed after the budget", () => {
    const o = observe({ runner: runner(), facts: failure(false, defaultRunnerPlanConfig.maxRegistrationFailures) });
    assert.equal(planRunner(o).status.phase, "Failed");
    assert.match(condition(o, "Failed")?.message ?? "", /gave up after 5 attempts/);
  });
  test("a rate limit waits until GitHub allows the next request", () => {
    const f = facts({
      registrationFailures: 1,
      lastRegistrationError: {
        at: NOW,
        reason: "RateLimited",
        message: "rate limited",
        permanent: false,
        retryAt: NOW + 60_000,
      },
    });
    assert.equal(planRunner(observe({ runner: runner(), facts: f })).requeueAfterMs, 60_000);
  });
  test("token mode refreshes the token five minutes before it expires", () => {
    const config = { ...defaultRunnerPlanConfig, mode: "token" as const };
    const r = runner({ status: { phase: "Pending", runnerName: "n" } });
    const soon = { hasCredentials: true, tokenExpiresAt: NOW + 4 * 60_000 };
    const later = { hasCredentials: true, tokenExpiresAt: NOW + 60 * 60_000 };
    assert.deepEqual(types(observe({ runner: r, secret: soon, pod: pod("Pending"), config })), ["refreshToken"]);
    assert.equal(
      planRunner(observe({ runner: r, secret: later, pod: pod("Pending"), config })).requeueAfterMs,
      55 * 60_000,
    );
  });
});

describe("runner plan: a URL the GitHub client refuses", () => {
  const urlRefused = 'host "evil.example" is neither github.com nor a configured GitHub Enterprise Server host';
  test("a new Runner is Failed with URLNotAllowed, and nothing is asked of GitHub", () => {
    const o = observe({ runner: runner({ spec: { url: "https://evil.example/acme" } }), urlRefused });
    assert.deepEqual(types(o), []);
    const plan = planRunner(o);
    assert.equal(plan.status.phase, "Failed");
    assert.equal(condition(o, "Failed")?.reason, "URLNotAllowed");
    assert.equal(condition(o, "Registered")?.status, "False");
    assert.match(condition(o, "Registered")?.message ?? "", /evil\.example/);
  });
  test("a running Runner whose host is no longer allowed is Failed, with no online check", () => {
    const o = observe({ runner: registered, secret, pod: pod("Running", true), urlRefused });
    assert.deepEqual(types(o), []);
    assert.equal(planRunner(o).status.phase, "Failed");
  });
  test("deletion removes no registration on a refused host", () => {
    const r = runner({
      metadata: { deletionTimestamp: new Date(NOW) },
      spec: { url: "u", id: 7 },
      status: { phase: "Idle" },
    });
    assert.deepEqual(types(observe({ runner: r, secret, urlRefused })), ["deleteSecret", "removeFinalizer"]);
  });
});

describe("runner plan: deletion", () => {
  const deleting = (phase: "Pending" | "Idle" | "Active" | "Complete", extra: object = {}) =>
    runner({
      metadata: { deletionTimestamp: new Date(NOW) },
      spec: { url: "u", id: 7 },
      status: { phase, runnerName: "n", ...extra },
    });
  test("an unused runner: GitHub registration, then the Pod and Secret, then the finalizer", () => {
    assert.deepEqual(types(observe({ runner: deleting("Idle"), secret, pod: pod("Running", true) })), [
      "deleteRegistration",
      "deletePod",
      "deleteSecret",
      "removeFinalizer",
    ]);
  });
  test("an Active runner waits for its job", () => {
    const plan = planRunner(
      observe({ runner: deleting("Active", { job: { id: 1 } }), secret, pod: pod("Running", true) }),
    );
    assert.deepEqual(
      plan.actions.map((a) => a.type),
      ["event"],
    );
    assert.equal(plan.requeueAfterMs, 60_000);
  });
  test("an Active runner whose job completed is torn down", () => {
    const r = deleting("Active", { job: { id: 1, completedAt: new Date(NOW).toISOString() } });
    assert.deepEqual(types(observe({ runner: r, secret, pod: pod("Running", true) })), [
      "deleteRegistration",
      "deletePod",
      "deleteSecret",
      "removeFinalizer",
    ]);
  });
  test("a Complete runner: GitHub already removed it, no call", () => {
    assert.deepEqual(types(observe({ runner: deleting("Complete"), secret, pod: pod("Succeeded") })), [
      "deletePod",
      "deleteSecret",
      "removeFinalizer",
    ]);
  });
  test("registration already removed: not asked twice", () => {
    assert.deepEqual(types(observe({ runner: deleting("Idle"), facts: facts({ registrationRemoved: true }) })), [
      "removeFinalizer",
    ]);
  });
  test("without our finalizer there is nothing to do", () => {
    const r = runner({ metadata: { deletionTimestamp: new Date(NOW), finalizers: [] } });
    assert.deepEqual(planRunner(observe({ runner: r })).actions, []);
  });
});

describe("runner plan: the runner id GitHub gave at registration", () => {
  const unrecorded = runner({
    spec: { url: "https://github.com/acme" },
    status: { phase: "Pending", runnerName: "n" },
  });
  const jitSecret = { hasCredentials: true, runnerId: 42, runnerOs: undefined };
  test("a JIT Secret with the id counts as registered before spec.id is written: the Pod, not a second registration", () => {
    assert.deepEqual(types(observe({ runner: unrecorded, secret: jitSecret })), ["createPod"]);
  });
  test("the online check asks GitHub by that id (and writes spec.id with spec.os)", () => {
    const ready = pod("Running", true);
    (ready.status?.conditions?.[0] as { lastTransitionTime?: unknown }).lastTransitionTime = new Date(
      NOW,
    ).toISOString();
    const plan = planRunner(observe({ runner: unrecorded, secret: jitSecret, pod: ready, now: NOW + 60_000 }));
    assert.deepEqual(
      plan.actions.filter((a) => a.type === "checkRunner"),
      [{ type: "checkRunner", purpose: "online", githubName: "n", id: 42 }],
    );
  });
  test("a runner that left Pending without an online check records the id from its Secret", () => {
    const active = runner({
      spec: { url: "https://github.com/acme" },
      status: { phase: "Active", runnerName: "n", job: { id: 1, assignedAt: new Date(NOW).toISOString() } },
    });
    const plan = planRunner(
      observe({ runner: active, secret: { ...jitSecret, runnerOs: "linux" }, pod: pod("Running", true) }),
    );
    assert.deepEqual(
      plan.actions.filter((a) => a.type === "recordRegistration"),
      [{ type: "recordRegistration", id: 42, os: "linux" }],
    );
  });
  test("deleting an unrecorded runner removes the registration by the Secret's id", () => {
    const deleting = runner({
      spec: { url: "https://github.com/acme" },
      metadata: { deletionTimestamp: new Date(NOW) },
      status: { phase: "Idle", runnerName: "n" },
    });
    assert.deepEqual(
      planRunner(observe({ runner: deleting, secret: jitSecret })).actions.find((a) => a.type === "deleteRegistration"),
      { type: "deleteRegistration", id: 42 },
    );
  });
});
