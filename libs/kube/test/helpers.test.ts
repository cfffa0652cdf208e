import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KubernetesObject } from "@kubernetes/client-node";
import { Redactor } from "@octorun/runtime";
import { type ControlPlane, startControlPlane, waitFor } from "@octorun/testkit";
import { Registry } from "prom-client";
import { KubeClient } from "../src/client.ts";
import { type Condition, setCondition } from "../src/conditions.ts";
import { isConflict, isNotFound, KubeApiError } from "../src/errors.ts";
import { EventRecorder } from "../src/events.ts";
import { addFinalizer, hasFinalizer, removeFinalizer } from "../src/finalizers.ts";
import { controllerOf, isOwnedBy, ownerReference } from "../src/owner-references.ts";
import { ConfigMaps, Events, Secrets } from "../src/resource.ts";
import { patchStatus } from "../src/status.ts";
import { createNamespace, installWidgetCrd, type Widget, Widgets } from "./fixtures.ts";

type KubeEvent = KubernetesObject & {
  reason?: string;
  note?: string;
  type?: string;
  action?: string;
  reportingController?: string;
  reportingInstance?: string;
  regarding?: { kind?: string; name?: string; uid?: string };
  series?: { count?: number };
};

describe("write helpers against a real apiserver", () => {
  let cp: ControlPlane;
  let client: KubeClient;
  const ns = "helpers";

  before(async () => {
    cp = await startControlPlane({ controllerManager: true });
    client = new KubeClient(cp.kubeConfig, { fieldManager: "octorun-controller" });
    await Promise.all([createNamespace(client, ns), installWidgetCrd(client)]);
  });

  after(async () => {
    await cp?.stop();
  });

  const widget = (name: string, spec: Record<string, unknown> = {}) =>
    client.create<Widget>(Widgets, { metadata: { name, namespace: ns }, spec } as Widget);

  test("merge patch and JSON patch; a stale JSON patch fails: 409 when it carries the resourceVersion, 422 when it tests it", async () => {
    const w = await widget("patched", { a: 1, b: { c: 2 } });
    const merged = await client.mergePatch<Widget>(Widgets, ns, "patched", { spec: { b: { c: null, d: 3 } } });
    assert.deepEqual(merged.spec, { a: 1, b: { d: 3 } });
    const json = await client.jsonPatch<Widget>(Widgets, ns, "patched", [{ op: "replace", path: "/spec/a", value: 5 }]);
    assert.equal(json.spec?.a, 5);
    const carried = client.jsonPatch(Widgets, ns, "patched", [
      { op: "replace", path: "/metadata/resourceVersion", value: w.metadata?.resourceVersion },
      { op: "replace", path: "/spec/a", value: 6 },
    ]);
    await assert.rejects(carried, (e) => isConflict(e), "a lost race: 409 Conflict");
    const tested = client.jsonPatch(Widgets, ns, "patched", [
      { op: "test", path: "/metadata/resourceVersion", value: w.metadata?.resourceVersion },
      { op: "replace", path: "/spec/a", value: 7 },
    ]);
    await assert.rejects(tested, (e) => e instanceof KubeApiError && e.statusCode === 422, "a failed test op: 422");
    assert.equal((await client.get<Widget>(Widgets, ns, "patched")).spec?.a, 5, "the stale writes changed nothing");
    await assert.rejects(client.get(Widgets, ns, "missing"), (e) => isNotFound(e));
    assert.equal(await client.find(Widgets, ns, "missing"), undefined);
    // A delete whose uid precondition names another object of that name: 409, as a RunnerSet's
    // scale-down relies on (the status code, not the message's wording).
    await client.create(Widgets, { metadata: { name: "replaced", namespace: ns } } as Widget);
    await assert.rejects(client.delete(Widgets, ns, "replaced", { uid: "00000000-0000-0000-0000-000000000000" }), (e) =>
      isConflict(e),
    );
    assert.ok(await client.find(Widgets, ns, "replaced"), "the object of the other uid is kept");
  });

  test("server-side apply: one field manager owns its fields; another manager conflicts unless it forces", async () => {
    await client.apply<Widget>(Widgets, {
      metadata: { name: "applied", namespace: ns },
      spec: { replicas: 1 },
    } as Widget);
    const stored = await client.get<Widget>(Widgets, ns, "applied");
    const managers = (stored.metadata?.managedFields ?? []).map((f) => `${f.manager}:${f.operation}`);
    assert.deepEqual(managers, ["octorun-controller:Apply"]);
    const other = new KubeClient(cp.kubeConfig, { fieldManager: "someone-else" });
    const conflicting = other.apply(
      Widgets,
      { metadata: { name: "applied", namespace: ns }, spec: { replicas: 2 } } as Widget,
      {
        force: false,
      },
    );
    await assert.rejects(conflicting, (e) => isConflict(e));
    const forced = await other.apply<Widget>(Widgets, {
      metadata: { name: "applied", namespace: ns },
      spec: { replicas: 2 },
    } as Widget);
    assert.equal(forced.spec?.replicas, 2);
    // Applying again without a field drops it when this manager alone owned it.
    await client.apply(Widgets, { metadata: { name: "applied", namespace: ns }, spec: { extra: "x" } } as Widget);
    await client.apply(Widgets, { metadata: { name: "applied", namespace: ns }, spec: {} } as Widget);
    const final = await client.get<Widget>(Widgets, ns, "applied");
    assert.deepEqual(final.spec, { replicas: 2 });
  });

  test("status goes through the status subresource with observedGeneration and standard conditions", async () => {
    const w = await widget("status", { size: 1 });
    const conditions = setCondition(undefined, { type: "Ready", status: "False", reason: "Starting" }, new Date());
    const patched = await patchStatus<Widget>(client, Widgets, w, { phase: "Pending", conditions });
    assert.equal(patched.status?.observedGeneration, 1);
    assert.equal(patched.status?.phase, "Pending");
    assert.equal(patched.spec?.size, 1);
    // A spec change through the main resource bumps generation; status through it is ignored.
    const bumped = await client.mergePatch<Widget>(Widgets, ns, "status", {
      spec: { size: 2 },
      status: { phase: "Ignored" },
    });
    assert.equal(bumped.metadata?.generation, 2);
    assert.equal(bumped.status?.phase, "Pending", "the main resource does not write status");
    const stale = patchStatus(client, Widgets, w, { phase: "Stale" }, { optimisticLock: true });
    await assert.rejects(stale, (e) => isConflict(e), "an optimistic-lock status write on an old version conflicts");
    const ready = setCondition(
      patched.status?.conditions as Condition[],
      { type: "Ready", status: "True", reason: "Up" },
      new Date(),
    );
    const running = await patchStatus<Widget>(client, Widgets, bumped, { phase: "Running", conditions: ready });
    assert.equal(running.status?.observedGeneration, 2);
    assert.equal(running.status?.phase, "Running");
    assert.equal((running.status?.conditions as Condition[] | undefined)?.[0]?.status, "True");
    assert.equal(running.metadata?.generation, 2, "status writes do not bump generation");
  });

  test("finalizers: added once, block deletion until removed", async () => {
    const w = await widget("final");
    const f = "octorun.github.io/cleanup";
    const withF = await addFinalizer(client, Widgets, w, f);
    assert.deepEqual(withF.metadata?.finalizers, [f]);
    assert.equal(await addFinalizer(client, Widgets, withF, f), withF, "adding it again is a no-op without a request");
    const two = await addFinalizer(client, Widgets, withF, "example.com/other");
    assert.deepEqual(two.metadata?.finalizers, [f, "example.com/other"]);
    // A lost race is a conflict (retried), not an invalid request.
    await assert.rejects(addFinalizer(client, Widgets, w, "x.io/stale"), isConflict, "stale version refused");
    await assert.rejects(removeFinalizer(client, Widgets, withF, f), isConflict, "stale version refused");
    await client.delete(Widgets, ns, "final");
    const deleting = await client.get<Widget>(Widgets, ns, "final");
    assert.ok(deleting.metadata?.deletionTimestamp, "still there, being deleted");
    const one = await removeFinalizer(client, Widgets, deleting, "example.com/other");
    assert.equal(hasFinalizer(one, f), true);
    await removeFinalizer(client, Widgets, one, f);
    await waitFor("deleted", async () => (await client.find(Widgets, ns, "final")) === undefined);
  });

  test("owner references: accepted by the apiserver, and the garbage collector deletes the child with its owner", async () => {
    const widgetOwner = await widget("owner");
    assert.deepEqual(ownerReference(Widgets, widgetOwner), {
      apiVersion: "test.octorun.github.io/v1",
      kind: "Widget",
      name: "owner",
      uid: widgetOwner.metadata?.uid,
      controller: true,
      blockOwnerDeletion: true,
    });
    assert.throws(() => ownerReference(Widgets, { metadata: { name: "x" } }), /Widget\/x: missing metadata.uid/);
    // The garbage collector watches a new CRD only after its next discovery pass (30 s), so the
    // collection itself is shown with a core owner; the reference is built the same way.
    const owner = await client.create<KubernetesObject>(ConfigMaps, { metadata: { name: "owner", namespace: ns } });
    const child = await client.create(Secrets, {
      metadata: { name: "child", namespace: ns, ownerReferences: [ownerReference(ConfigMaps, owner)] },
    });
    assert.equal(controllerOf(child)?.uid, owner.metadata?.uid);
    assert.equal(isOwnedBy(child, owner), true);
    assert.equal(isOwnedBy(child, widgetOwner), false);
    await client.delete(ConfigMaps, ns, "owner", { propagationPolicy: "Background" });
    await waitFor("child collected", async () => (await client.find(Secrets, ns, "child")) === undefined, {
      timeoutMs: 30_000,
    });
  });

  test("events: events.k8s.io/v1 with octorun's reporting component; repeats counted in a series; secrets redacted", async () => {
    const w = await widget("evented");
    const redactor = new Redactor();
    const token = "ghs_supersecrettoken123";
    redactor.add(token);
    const recorder = new EventRecorder({
      client,
      reportingController: "octorun.github.io/controller",
      reportingInstance: "controller-0",
      redact: (s) => redactor.redactString(s),
    });
    await recorder.record(w, {
      type: "Warning",
      reason: "RegistrationFailed",
      action: "Register",
      note: `GitHub refused ${token}`,
    });
    await recorder.record(w, {
      type: "Warning",
      reason: "RegistrationFailed",
      action: "Register",
      note: `GitHub refused ${token}`,
    });
    await recorder.record(w, { type: "Normal", reason: "RunnerOnline", action: "Reconcile", note: "x".repeat(5000) });
    const events = (await client.list<KubeEvent>(Events, { namespace: ns })).items.filter(
      (e) => e.regarding?.uid === w.metadata?.uid,
    );
    assert.equal(events.length, 2);
    const failed = events.find((e) => e.reason === "RegistrationFailed");
    assert.equal(failed?.note, "GitHub refused [REDACTED]");
    assert.equal(failed?.type, "Warning");
    assert.equal(failed?.action, "Register");
    assert.equal(failed?.reportingController, "octorun.github.io/controller");
    assert.equal(failed?.reportingInstance, "controller-0");
    assert.equal(failed?.regarding?.kind, "Widget");
    assert.equal(failed?.series?.count, 2, "the repeat is counted, not a new Event");
    const online = events.find((e) => e.reason === "RunnerOnline");
    assert.ok(
      online?.note && Buffer.byteLength(online.note) <= 1024 && online.note.endsWith("..."),
      "long notes are cut to 1 kB",
    );
    // Recording never throws: a failure (here a Secret cannot be the namespace of an event) is only logged.
    const warnings: string[] = [];
    const quiet = new EventRecorder({
      client,
      reportingController: "octorun.github.io/controller",
      reportingInstance: "controller-0",
      logger: { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} },
    });
    await quiet.record(
      { kind: "Secret", apiVersion: "v1", metadata: { name: "s", namespace: "no-such-namespace" } },
      {
        type: "Normal",
        reason: "X",
        action: "Y",
        note: "z",
      },
    );
    assert.deepEqual(warnings, ["could not record event"]);
  });

  test("events wait in a bounded queue for a fixed number of senders; when it is full they are dropped and counted", async () => {
    const w = await widget("burst");
    const warnings: string[] = [];
    const registry = new Registry();
    const recorder = new EventRecorder({
      client,
      reportingController: "octorun.github.io/controller",
      reportingInstance: "controller-0",
      senders: 1,
      maxQueued: 2,
      registry,
      logger: { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} },
    });
    // The first is taken by the sender at once, the next two wait, the last two find the queue full.
    const recorded = Array.from({ length: 5 }, (_, i) =>
      recorder.record(w, { type: "Normal", reason: `Burst${i}`, action: "Test", note: `event ${i}` }),
    );
    const metric = async (name: string) =>
      (await registry.getSingleMetric(name)?.get())?.values.reduce((sum, v) => sum + v.value, 0);
    assert.equal(recorder.queued, 2);
    assert.equal(await metric("octorun_events_queued"), 2, "the queue is told as a gauge");
    await Promise.all(recorded);
    assert.equal(recorder.queued, 0);
    assert.equal(await metric("octorun_events_queued"), 0);
    assert.equal(await metric("octorun_events_dropped_total"), 2);
    const reasons = (await client.list<KubeEvent>(Events, { namespace: ns })).items
      .filter((e) => e.regarding?.uid === w.metadata?.uid)
      .map((e) => e.reason)
      .sort();
    assert.deepEqual(reasons, ["Burst0", "Burst1", "Burst2"]);
    assert.equal(recorder.dropped, 2);
    assert.deepEqual(warnings, ["event queue full; dropping events"], "logged once for the burst");
  });
});
