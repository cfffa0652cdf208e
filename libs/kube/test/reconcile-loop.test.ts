import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Registry } from "prom-client";
import { KubeApiError, TerminalError } from "../src/errors.ts";
import { ReconcileLoop, type ReconcileResult, type Reconciler } from "../src/reconcile-loop.ts";
import { WorkQueue } from "../src/work-queue.ts";
import { FakeClock } from "./fake-clock.ts";

class ScriptedReconciler implements Reconciler {
  calls: string[] = [];
  readonly script: (key: string, call: number) => Promise<ReconcileResult> | ReconcileResult;
  constructor(script: ScriptedReconciler["script"]) {
    this.script = script;
  }
  async reconcile(key: string): Promise<ReconcileResult> {
    this.calls.push(key);
    return this.script(key, this.calls.filter((k) => k === key).length);
  }
}

function setup(script: ScriptedReconciler["script"]) {
  const clock = new FakeClock();
  const registry = new Registry();
  const queue = new WorkQueue({ name: "widgets", clock, registry, backoffBaseMs: 100, backoffMaxMs: 1_000 });
  const reconciler = new ScriptedReconciler(script);
  const logs: { level: string; message: string; meta?: Record<string, unknown> }[] = [];
  const log = (level: string) => (message: string, meta?: Record<string, unknown>) =>
    logs.push({ level, message, meta });
  const logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
  const loop = new ReconcileLoop({ name: "widget", reconciler, queue, registry, logger });
  return { clock, registry, queue, reconciler, loop, logs };
}

describe("ReconcileLoop outcome → queue and metrics", () => {
  const cases: {
    name: string;
    script: ScriptedReconciler["script"];
    outcome: string;
    requeuedAfterMs: number | undefined;
    retries: number;
  }[] = [
    {
      name: "done → forgotten, not requeued",
      script: () => ({ type: "done" }),
      outcome: "success",
      requeuedAfterMs: undefined,
      retries: 0,
    },
    {
      name: "requeueAfter → added again after exactly that delay, backoff reset",
      script: () => ({ type: "requeueAfter", ms: 500 }),
      outcome: "requeue",
      requeuedAfterMs: 500,
      retries: 0,
    },
    {
      name: "an Error → retried with the key's backoff",
      script: () => {
        throw new Error("apiserver said no");
      },
      outcome: "error",
      requeuedAfterMs: 100,
      retries: 1,
    },
    {
      name: "a thrown non-Error (a 'panic') is an error, the worker survives",
      script: () => {
        throw "boom";
      },
      outcome: "error",
      requeuedAfterMs: 100,
      retries: 1,
    },
    {
      name: "an invalid result is an error",
      script: () => ({ type: "requeueAfter", ms: Number.NaN }),
      outcome: "error",
      requeuedAfterMs: 100,
      retries: 1,
    },
    {
      name: "a 409 Conflict (a lost race, not a failure) → counted apart, retried with the key's backoff",
      script: () => {
        throw new KubeApiError("PATCH", "/apis/x/v1/widgets/w", 409, { reason: "Conflict", message: "modified" });
      },
      outcome: "conflict",
      requeuedAfterMs: 100,
      retries: 1,
    },
    {
      name: "TerminalError → not retried",
      script: () => {
        throw new TerminalError("spec.url is not a GitHub URL");
      },
      outcome: "terminal",
      requeuedAfterMs: undefined,
      retries: 0,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const { clock, registry, queue, loop } = setup(c.script);
      assert.equal(await loop.reconcileKey("ns/w"), c.outcome);
      assert.equal(queue.numRequeues("ns/w"), c.retries);
      let waited: number | undefined;
      for (let ms = 1; ms <= 2_000; ms++) {
        clock.advance(1);
        if (queue.len() > 0) {
          waited = ms;
          break;
        }
      }
      assert.equal(waited, c.requeuedAfterMs);
      const text = await registry.metrics();
      assert.match(text, new RegExp(`reconcile_total\\{controller="widget",result="${c.outcome}"\\} 1`));
      assert.match(text, /reconcile_duration_seconds_count\{controller="widget"\} 1/);
    });
  }
});

describe("ReconcileLoop workers", () => {
  test("bounded concurrency, one worker per key, every key reconciled, errors retried until success", async () => {
    const registry = new Registry();
    const queue = new WorkQueue({ name: "w", registry, backoffBaseMs: 1, backoffMaxMs: 5 });
    let running = 0;
    let maxRunning = 0;
    const inFlight = new Set<string>();
    const calls = new Map<string, number>();
    const reconciler: Reconciler = {
      async reconcile(key) {
        assert.ok(!inFlight.has(key), `${key} reconciled by two workers at once`);
        inFlight.add(key);
        running++;
        maxRunning = Math.max(maxRunning, running);
        const n = (calls.get(key) ?? 0) + 1;
        calls.set(key, n);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        inFlight.delete(key);
        if (key.endsWith("flaky") && n < 3) throw new Error("transient");
        return { type: "done" };
      },
    };
    const loop = new ReconcileLoop({ name: "w", reconciler, queue, concurrency: 3, registry });
    loop.start();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) queue.add(`ns/k${i}`);
      queue.add("ns/flaky");
      await new Promise((r) => setTimeout(r, 2));
    }
    await new Promise((r) => setTimeout(r, 300));
    await loop.stop();
    assert.ok(maxRunning <= 3, `at most 3 at once, saw ${maxRunning}`);
    assert.equal(maxRunning, 3, "the workers do run in parallel");
    for (let i = 0; i < 10; i++) assert.ok((calls.get(`ns/k${i}`) ?? 0) >= 1);
    assert.ok((calls.get("ns/flaky") ?? 0) >= 3, "retried after failures");
    const text = await registry.metrics();
    assert.match(text, /reconcile_total\{controller="w",result="error"\} [1-9]/);
  });

  test("stop() drains queued keys and waits for the reconcile in flight", async () => {
    const queue = new WorkQueue({ name: "d" });
    const finished: string[] = [];
    const reconciler: Reconciler = {
      async reconcile(key) {
        await new Promise((r) => setTimeout(r, 20));
        finished.push(key);
        return { type: "done" };
      },
    };
    const loop = new ReconcileLoop({ name: "d", reconciler, queue, concurrency: 1 });
    loop.start();
    queue.add("a");
    queue.add("b");
    queue.add("c");
    await new Promise((r) => setTimeout(r, 5));
    await loop.stop();
    assert.deepEqual(finished, ["a", "b", "c"]);
  });

  test("logs carry the controller and key; concurrency must be a positive integer", async () => {
    const { loop, logs } = setup(() => {
      throw new Error("nope");
    });
    await loop.reconcileKey("ns/w1");
    assert.deepEqual(logs[0]?.meta?.key, "ns/w1");
    assert.equal(logs[0]?.meta?.controller, "widget");
    assert.throws(
      () =>
        new ReconcileLoop({
          name: "x",
          reconciler: { reconcile: async () => ({ type: "done" }) },
          queue: new WorkQueue({ name: "x" }),
          concurrency: 0,
        }),
      /concurrency must be a positive integer/,
    );
  });
});
