// Job events through the real NATS stream, and two controller processes electing a leader.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BusConnection, type JobEvent, publishJobEvent } from "@octorun/bus";
import { waitFor } from "@octorun/testkit";
import type { RunnerObject } from "../src/types.ts";
import {
  Runners,
  runnerManifest,
  startController,
  startControllerProcess,
  startWorld,
  stopProcess,
  type World,
} from "./env.ts";
import { jobEvent } from "./fixtures.ts";

const NS = "events";

describe("job events and leadership", { timeout: 170_000 }, () => {
  let world: World;
  let bus: BusConnection;
  let ctl: ReturnType<typeof startController> | undefined;
  const client = () => (ctl as NonNullable<typeof ctl>).controller.client;
  const get = (name: string) => client().find<RunnerObject>(Runners, NS, name);
  const idleRunner = async (name: string) => {
    await client().create(Runners, runnerManifest(NS, name, world.orgUrl));
    return waitFor(`${name} Idle`, async () => {
      const r = await get(name);
      return r?.status?.phase === "Idle" ? r : undefined;
    });
  };
  const eventFor = (runner: RunnerObject, action: JobEvent["action"], jobId: number, deliveryId: string): JobEvent => {
    const event = jobEvent(action, {
      jobId,
      runnerName: runner.status?.runnerName ?? null,
      runnerId: runner.spec.id ?? null,
    });
    return { ...event, deliveryId };
  };
  const counter = async (outcome: string) => {
    const metric = await (ctl as NonNullable<typeof ctl>).registry
      .getSingleMetric("octorun_controller_job_events_total")
      ?.get();
    return metric?.values.filter((v) => v.labels.outcome === outcome).reduce((sum, v) => sum + v.value, 0) ?? 0;
  };

  before(async () => {
    world = await startWorld({ namespaces: [NS] });
    bus = new BusConnection({ servers: [world.nats.url], name: "test-publisher" });
    await bus.ready();
    ctl = startController(world);
    await ctl.start();
  });
  after(async () => {
    await ctl?.stop();
    await bus?.close();
    await world?.stop();
  });

  test("an event for a runner octorun does not own is acknowledged and counted", async () => {
    await publishJobEvent(bus.jetstream(), {
      ...jobEvent("assigned", { runnerName: "somebody-elses-runner", runnerId: 999_999 }),
      deliveryId: "unknown-1",
    });
    await waitFor("counted as unknown", async () => (await counter("unknown_runner")) >= 1);
  });

  test("completed before assigned, then duplicates: Active with both times, never backwards", async () => {
    const runner = await idleRunner("order");
    await publishJobEvent(bus.jetstream(), eventFor(runner, "completed", 501, "order-completed"));
    const afterCompleted = await waitFor("job recorded", async () => {
      const r = await get("order");
      return r?.status?.job?.completedAt ? r : undefined;
    });
    // Active, or already Complete if the runner was stopped after its job: never back to Idle.
    assert.ok(["Active", "Complete"].includes(afterCompleted.status?.phase ?? ""), afterCompleted.status?.phase);
    await publishJobEvent(bus.jetstream(), eventFor(runner, "assigned", 501, "order-assigned"));
    await publishJobEvent(bus.jetstream(), eventFor(runner, "assigned", 501, "order-assigned-again"));
    await waitFor("both applied or found unchanged", async () => (await counter("unchanged")) >= 2);
    const r = await get("order");
    assert.equal(r?.status?.job?.id, 501);
    assert.ok(r?.status?.job?.completedAt, "the completion is not forgotten");
    assert.ok(r?.status?.job?.assignedAt);
  });

  test("an event for another registration under the same runner name is terminated", async () => {
    const runner = await idleRunner("stale");
    const event = eventFor(runner, "assigned", 777, "stale-1");
    await publishJobEvent(bus.jetstream(), {
      ...event,
      runner: { ...event.runner, id: (runner.spec.id ?? 0) + 100_000 },
    });
    await waitFor("terminated", async () => (await counter("never")) >= 1);
    assert.equal((await get("stale"))?.status?.phase, "Idle");
  });

  test("the controller stopped mid-stream and started again: no event is lost", async () => {
    const a = await idleRunner("restart-a");
    const b = await idleRunner("restart-b");
    await ctl?.stop();
    ctl = undefined;
    await publishJobEvent(bus.jetstream(), eventFor(a, "assigned", 601, "restart-a-assigned"));
    await publishJobEvent(bus.jetstream(), eventFor(b, "assigned", 602, "restart-b-assigned"));
    ctl = startController(world);
    await ctl.start();
    for (const [name, job] of [
      ["restart-a", 601],
      ["restart-b", 602],
    ] as const) {
      await waitFor(`${name} Active`, async () => {
        const r = await get(name);
        return r?.status?.phase === "Active" && r.status.job?.id === job;
      });
    }
  });

  test("two controller processes: one leads; kill it and the other leads within the lease", async () => {
    await ctl?.stop();
    ctl = undefined;
    const env = (name: string) => ({
      LEADER_ELECT: "true",
      POD_NAME: name,
      POD_NAMESPACE: "default",
      LEASE_DURATION_MS: "3000",
      RENEW_DEADLINE_MS: "2000",
      RETRY_PERIOD_MS: "500",
      WATCH_NAMESPACES: NS,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
    });
    const first = await startControllerProcess(world, env("ctl-1"));
    const second = await startControllerProcess(world, env("ctl-2"));
    try {
      const holder = async () => {
        const lease = await world.cp.kubectl([
          "-n",
          "default",
          "get",
          "lease",
          "octorun-controller",
          "-o",
          "jsonpath={.spec.holderIdentity}",
        ]);
        return lease.code === 0 ? lease.stdout.trim() : "";
      };
      const leader = await waitFor("a leader", async () => (await holder()) || undefined);
      assert.ok(["ctl-1", "ctl-2"].includes(leader));
      const [leading, standby] = leader === "ctl-1" ? [first, second] : [second, first];
      const kc = (await import("@octorun/kube")).KubeClient;
      const c = new kc(world.cp.kubeConfig, { fieldManager: "test" });
      await c.create(Runners, runnerManifest(NS, "led-1", world.orgUrl));
      await waitFor(
        "led-1 Idle",
        async () => (await c.find<RunnerObject>(Runners, NS, "led-1"))?.status?.phase === "Idle",
      );
      leading.child.kill("SIGKILL");
      const killedAt = Date.now();
      const next = await waitFor(
        "the other leads",
        async () => {
          const h = await holder();
          return h && h !== leader ? h : undefined;
        },
        { timeoutMs: 15_000 },
      );
      assert.notEqual(next, leader);
      assert.ok(Date.now() - killedAt < 10_000, "taken over within the lease (plus a retry period)");
      await c.create(Runners, runnerManifest(NS, "led-2", world.orgUrl));
      await waitFor(
        "led-2 Idle under the new leader",
        async () => (await c.find<RunnerObject>(Runners, NS, "led-2"))?.status?.phase === "Idle",
      );
      void standby;
    } finally {
      await stopProcess(first.child);
      await stopProcess(second.child);
    }
  });
});
