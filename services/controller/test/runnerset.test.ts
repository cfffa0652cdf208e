// RunnerSet behaviour against the real apiserver, NATS, github-ingress and the GitHub simulator.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { V1ControllerRevision } from "@kubernetes/client-node";
import { ControllerRevisions } from "@octorun/kube";
import { waitFor } from "@octorun/testkit";
import type { RunnerObject, RunnerSetObject } from "../src/types.ts";
import {
  RunnerSets,
  Runners,
  runnerManifest,
  runnerSetManifest,
  startController,
  startWorld,
  type World,
} from "./env.ts";

const NS = "sets";
const HASH = "runnerset.octorun.github.io/revision-hash";

describe("RunnerSet", { timeout: 170_000 }, () => {
  let world: World;
  let ctl: ReturnType<typeof startController>;
  const client = () => ctl.controller.client;
  const membersOf = async (set: string) =>
    (
      await client().list<RunnerObject>(Runners, { namespace: NS, labelSelector: `octorun.github.io/runnerset=${set}` })
    ).items.filter((r) => !r.metadata.deletionTimestamp);
  const getSet = (name: string) => client().get<RunnerSetObject>(RunnerSets, NS, name);
  const waitIdle = (set: string, count: number, timeoutMs = 40_000) =>
    waitFor(
      `${set}: ${count} idle runners`,
      async () => {
        const s = await getSet(set);
        const members = await membersOf(set);
        return s.status?.idleRunners === count && s.status.runners === count && members.length === count
          ? s
          : undefined;
      },
      { timeoutMs, intervalMs: 200 },
    );

  before(async () => {
    world = await startWorld({ namespaces: [NS], kwokNodes: 2 });
    ctl = startController(world);
    await ctl.start();
  });
  after(async () => {
    await ctl?.stop();
    await world?.stop();
  });

  test("scales up, is scaled by kubectl scale, down, to 0 and back; status, selector and revisions are kept", async () => {
    await client().create(RunnerSets, runnerSetManifest(NS, "web", world.orgUrl, 3));
    const three = await waitIdle("web", 3);
    assert.equal(three.status?.selector, "octorun.github.io/runnerset=web");
    assert.equal(three.status?.observedGeneration, three.metadata.generation);
    assert.equal(
      three.status?.conditions?.find((c) => c.type === "runnerset.octorun.github.io/RunnersReady")?.status,
      "True",
    );
    const members = await membersOf("web");
    for (const r of members) {
      assert.equal(r.metadata.ownerReferences?.[0]?.uid, three.metadata.uid);
      assert.ok(r.metadata.name?.startsWith("web-"));
      assert.ok(r.metadata.labels?.[HASH]);
    }
    const revisions = (await client().list<V1ControllerRevision>(ControllerRevisions, { namespace: NS })).items;
    assert.equal(revisions.length, 1);
    assert.equal(three.status?.currentRevision, revisions[0]?.metadata?.name);

    const scaled = await world.cp.kubectl(["-n", NS, "scale", "runnerset/web", "--replicas=5"]);
    assert.equal(scaled.code, 0, scaled.stderr);
    await waitIdle("web", 5);

    await client().mergePatch(RunnerSets, NS, "web", { spec: { runners: 1 } });
    await waitIdle("web", 1);

    await client().mergePatch(RunnerSets, NS, "web", { spec: { runners: 0 } });
    await waitFor(
      "web at 0",
      async () => (await membersOf("web")).length === 0 && (await getSet("web")).status?.runners === 0,
    );

    await client().mergePatch(RunnerSets, NS, "web", { spec: { runners: 2 } });
    await waitIdle("web", 2);
  });

  test("scaling down never deletes an Active runner; a Complete runner is deleted and replaced", async () => {
    await client().create(RunnerSets, runnerSetManifest(NS, "jobs", world.orgUrl, 2));
    await waitIdle("jobs", 2);
    const job = await world.sim.queueJob({ repository: "acme/app", labels: ["runnerset=jobs"] });
    const active = await waitFor("one Active", async () =>
      (await membersOf("jobs")).find((r) => r.status?.phase === "Active"),
    );
    await client().mergePatch(RunnerSets, NS, "jobs", { spec: { runners: 0 } });
    await waitFor("only the Active runner left", async () => {
      const left = await membersOf("jobs");
      return left.length === 1 && left[0]?.metadata.name === active.metadata.name;
    });
    await client().mergePatch(RunnerSets, NS, "jobs", { spec: { runners: 1 } });
    await world.sim.completeJob(job.id, "success");
    // The Complete runner is deleted and a fresh one takes its place.
    await waitFor(
      "replaced",
      async () => {
        const left = await membersOf("jobs");
        return (
          left.length === 1 && left[0]?.metadata.name !== active.metadata.name && left[0]?.status?.phase === "Idle"
        );
      },
      { timeoutMs: 40_000 },
    );
    assert.equal(await client().find(Runners, NS, active.metadata.name ?? ""), undefined);
  });

  test("a Failed runner is replaced", async () => {
    await client().create(RunnerSets, runnerSetManifest(NS, "fragile", world.orgUrl, 1));
    await waitIdle("fragile", 1);
    const [victim] = await membersOf("fragile");
    await world.cp.finishPod(NS, victim?.metadata.name ?? "", "Failed");
    await waitFor(
      "replaced after failure",
      async () => {
        const left = await membersOf("fragile");
        return (
          left.length === 1 && left[0]?.metadata.name !== victim?.metadata.name && left[0]?.status?.phase === "Idle"
        );
      },
      { timeoutMs: 40_000 },
    );
  });

  test("adopts an orphan Runner that matches its selector and counts it", async () => {
    const orphan = runnerManifest(NS, "stray", world.orgUrl);
    orphan.metadata.labels = { "octorun.github.io/runnerset": "adopt" };
    await client().create(Runners, orphan);
    await waitFor(
      "stray Idle",
      async () => (await client().get<RunnerObject>(Runners, NS, "stray")).status?.phase === "Idle",
    );
    await client().create(RunnerSets, runnerSetManifest(NS, "adopt", world.orgUrl, 2));
    const set = await waitIdle("adopt", 2);
    const stray = await client().get<RunnerObject>(Runners, NS, "stray");
    assert.equal(stray.metadata.ownerReferences?.[0]?.uid, set.metadata.uid, "the orphan is owned by the RunnerSet");
    assert.equal(stray.metadata.ownerReferences?.[0]?.controller, true);
  });

  test("an empty selector, where no webhook refused it: no Runner is adopted or created, and the condition says why", async () => {
    await client().create(Runners, runnerManifest(NS, "loner", world.orgUrl));
    const before = (await client().list<RunnerObject>(Runners, { namespace: NS })).items.map((r) => r.metadata.name);
    const everything = runnerSetManifest(NS, "everything", world.orgUrl, 2);
    everything.spec.selector = {};
    await client().create(RunnerSets, everything);
    const refused = await waitFor("everything refused", async () => {
      const s = await getSet("everything");
      const failure = s.status?.conditions?.find((c) => c.type === "runnerset.octorun.github.io/RunnerFailure");
      return failure?.status === "True" && failure.reason === "InvalidSelector" ? s : undefined;
    });
    await client().mergePatch(RunnerSets, NS, "everything", { spec: { runners: 3 } }); // and reconciled again
    await waitFor("generation observed", async () => (await getSet("everything")).status?.observedGeneration === 2);
    const after = (await client().list<RunnerObject>(Runners, { namespace: NS })).items;
    assert.deepEqual(after.map((r) => r.metadata.name).sort(), before.sort(), "no Runner was created");
    assert.deepEqual(
      after
        .filter((r) => r.metadata.ownerReferences?.some((o) => o.uid === refused.metadata.uid))
        .map((r) => r.metadata.name),
      [],
      "no Runner was adopted",
    );
    await client().delete(RunnerSets, NS, "everything");
    await client().delete(Runners, NS, "loner");
  });

  test("RollingUpdate replaces the idle runners of an old revision", async () => {
    await client().create(
      RunnerSets,
      runnerSetManifest(NS, "roll", world.orgUrl, 2, { updateStrategy: { type: "RollingUpdate" } }),
    );
    await waitIdle("roll", 2);
    const before = new Set((await membersOf("roll")).map((r) => r.metadata.name));
    await client().mergePatch(RunnerSets, NS, "roll", {
      spec: { template: { spec: { image: { name: "ghcr.io/octorun/runner:v2" } } } },
    });
    const done = await waitFor(
      "rolled",
      async () => {
        const s = await getSet("roll");
        const members = await membersOf("roll");
        const fresh = members.filter(
          (r) =>
            !before.has(r.metadata.name) &&
            r.spec.image?.name === "ghcr.io/octorun/runner:v2" &&
            r.status?.phase === "Idle",
        );
        return fresh.length === 2 && members.length === 2 && s.status?.currentRevision === s.status?.nextRevision
          ? s
          : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const revisions = (await client().list<V1ControllerRevision>(ControllerRevisions, { namespace: NS })).items.filter(
      (r) => r.metadata?.ownerReferences?.[0]?.uid === done.metadata.uid,
    );
    assert.deepEqual(revisions.map((r) => r.revision).sort(), [1, 2]);
    assert.equal(
      done.status?.conditions?.find((c) => c.type === "runnerset.octorun.github.io/Progressing")?.status,
      "False",
    );
  });
});
