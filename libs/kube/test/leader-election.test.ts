import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import type { KubernetesObject } from "@kubernetes/client-node";
import { type ControlPlane, startControlPlane, waitFor } from "@octorun/testkit";
import { KubeClient } from "../src/client.ts";
import { toMicroTime } from "../src/conditions.ts";
import { LeaderElector, type LeaderElectorOptions } from "../src/leader-election.ts";
import { Leases } from "../src/resource.ts";

type Lease = KubernetesObject & {
  spec?: { holderIdentity?: string; leaseTransitions?: number; leaseDurationSeconds?: number };
};

describe("LeaderElector against a real apiserver", () => {
  let cp: ControlPlane;
  let client: KubeClient;
  const electors: LeaderElector[] = [];
  const children: ChildProcess[] = [];

  function elector(identity: string, name: string, options: Partial<LeaderElectorOptions> = {}) {
    const events: string[] = [];
    const e = new LeaderElector({
      client,
      namespace: "default",
      name,
      identity,
      leaseDurationMs: 10_000,
      renewDeadlineMs: 4_000,
      retryPeriodMs: 300,
      onStartedLeading: () => {
        events.push("started");
      },
      onStoppedLeading: () => events.push("stopped"),
      ...options,
    });
    electors.push(e);
    return { e, events };
  }

  const holder = async (name: string) => (await client.get<Lease>(Leases, "default", name)).spec?.holderIdentity;

  before(async () => {
    cp = await startControlPlane();
    client = new KubeClient(cp.kubeConfig, { fieldManager: "kube-test" });
  });

  after(async () => {
    for (const child of children) child.kill("SIGKILL");
    await Promise.all(electors.map((e) => e.stop()));
    await cp?.stop();
  });

  test("one of two candidates leads; stopping it releases the lease and the other leads at once", async () => {
    const a = elector("a", "release");
    const b = elector("b", "release");
    a.e.start();
    await waitFor("a leads", () => a.e.isLeader());
    b.e.start();
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(b.e.isLeader(), false, "the standby waits while the leader renews");
    assert.equal(await holder("release"), "a");
    assert.equal(b.e.leader, "a", "the standby knows who leads");

    const stoppedAt = Date.now();
    await a.e.stop();
    assert.deepEqual(a.events, ["started", "stopped"]);
    await waitFor("b leads", () => b.e.isLeader(), { timeoutMs: 15_000 });
    const tookMs = Date.now() - stoppedAt;
    // The lease lasts 10 s: taking over sooner than that is only possible because a released it.
    assert.ok(tookMs < 5_000, `b took over ${tookMs} ms after a stopped: the lease was released, not left to expire`);
    const lease = await client.get<Lease>(Leases, "default", "release");
    assert.equal(lease.spec?.holderIdentity, "b");
    assert.equal(lease.spec?.leaseTransitions, 1);
    assert.equal(lease.spec?.leaseDurationSeconds, 10);
  });

  test("a killed leader (no release) is replaced only after its lease expires", async () => {
    const leaseMs = 4_000;
    const child = spawn(
      process.execPath,
      [
        "libs/kube/test/elector-process.ts",
        cp.kubeconfigPath,
        "default",
        "kill",
        "child",
        String(leaseMs),
        "2000",
        "300",
      ],
      { cwd: new URL("../../..", import.meta.url).pathname, stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(child);
    let output = "";
    child.stdout?.on("data", (d) => {
      output += d;
    });
    await waitFor("the child leads", () => output.includes("leading"), { timeoutMs: 20_000 });
    const standby = elector("standby", "kill", { leaseDurationMs: leaseMs, renewDeadlineMs: 2_000 });
    standby.e.start();
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(standby.e.isLeader(), false);
    assert.equal(standby.e.leader, "child");

    child.kill("SIGKILL");
    const killedAt = Date.now();
    await waitFor("standby leads", () => standby.e.isLeader(), { timeoutMs: 20_000, intervalMs: 50 });
    const tookMs = Date.now() - killedAt;
    assert.ok(tookMs >= leaseMs - 1_500, `took over after ${tookMs} ms: not before the lease (${leaseMs} ms) expired`);
    assert.ok(tookMs < leaseMs + 3_000, `took over after ${tookMs} ms: soon after the lease expired`);
    assert.equal(await holder("kill"), "standby");
  });

  test("a leader that cannot renew (someone else took the lease) steps down and calls back", async () => {
    let signalAborted = false;
    const a = elector("a2", "lose", {
      leaseDurationMs: 5_000,
      renewDeadlineMs: 1_500,
      onStartedLeading: (signal) => {
        signal.addEventListener("abort", () => {
          signalAborted = true;
        });
      },
    });
    a.e.start();
    await waitFor("a2 leads", () => a.e.isLeader());
    // An intruder overwrites the lease as if it had acquired it.
    const lease = await client.get<Lease>(Leases, "default", "lose");
    await client.replace(Leases, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: "intruder", renewTime: toMicroTime(new Date()) },
    } as Lease);
    await waitFor("a2 stepped down", () => a.events.includes("stopped"), { timeoutMs: 10_000 });
    assert.equal(a.e.isLeader(), false);
    assert.equal(signalAborted, true, "the leadership signal aborts");
    assert.equal(await holder("lose"), "intruder");
  });

  test("bad timing settings are refused with a clear message", () => {
    assert.throws(
      () => elector("x", "bad", { leaseDurationMs: 5_000, renewDeadlineMs: 5_000 }),
      /leaseDurationMs \(5000\) must be greater than renewDeadlineMs \(5000\)/,
    );
    assert.throws(
      () => elector("x", "bad", { renewDeadlineMs: 1_000, retryPeriodMs: 1_000 }),
      /renewDeadlineMs \(1000\) must be greater than 1.2 × retryPeriodMs/,
    );
  });
});
