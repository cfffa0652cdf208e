import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Registry } from "prom-client";
import { exponentialBackoff } from "../src/backoff.ts";
import { WorkQueue } from "../src/work-queue.ts";
import { FakeClock } from "./fake-clock.ts";

async function takeAll(queue: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (queue.len() > 0) {
    const key = await queue.get();
    if (key === undefined) break;
    keys.push(key);
  }
  return keys;
}

describe("exponentialBackoff", () => {
  const cases: [attempt: number, base: number, max: number, expected: number][] = [
    [0, 5, 1000, 0],
    [1, 5, 1000, 5],
    [2, 5, 1000, 10],
    [3, 5, 1000, 20],
    [8, 5, 1000, 640],
    [9, 5, 1000, 1000],
    [50, 5, 1000, 1000],
    [10_000, 5, 300_000, 300_000],
  ];
  for (const [attempt, base, max, expected] of cases) {
    test(`attempt ${attempt} (base ${base}, cap ${max}) → ${expected} ms`, () => {
      assert.equal(exponentialBackoff(attempt, base, max), expected);
    });
  }
});

describe("WorkQueue", () => {
  test("duplicate keys waiting in the queue collapse into one", async () => {
    const queue = new WorkQueue({ name: "t" });
    queue.add("a");
    queue.add("b");
    queue.add("a");
    queue.add("a");
    assert.equal(queue.len(), 2);
    assert.deepEqual(await takeAll(queue), ["a", "b"]);
  });

  test("addFirst puts a key ahead of those waiting, moves a waiting one there, and a key being worked goes first when done", async () => {
    const queue = new WorkQueue({ name: "t" });
    queue.add("a");
    queue.add("b");
    queue.addFirst("c");
    queue.addFirst("b");
    assert.deepEqual(await takeAll(queue), ["b", "c", "a"]);

    queue.add("x");
    const worked = await queue.get();
    assert.equal(worked, "x");
    queue.add("y");
    queue.addFirst("x");
    assert.equal(queue.len(), 1, "not queued while a worker holds it");
    queue.done("x");
    assert.deepEqual(await takeAll(queue), ["x", "y"]);
  });

  test("a key added while it is being worked is not handed out twice, and is worked again after done", async () => {
    const queue = new WorkQueue({ name: "t" });
    queue.add("a");
    const first = await queue.get();
    assert.equal(first, "a");
    queue.add("a");
    queue.add("a");
    assert.equal(queue.len(), 0, "not queued while a worker holds it");
    let second: string | undefined;
    const waiting = queue.get().then((k) => {
      second = k;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(second, undefined, "a second worker does not get the key being worked");
    queue.done("a");
    await waiting;
    assert.equal(second, "a", "worked again once, after done");
    queue.done("a");
    assert.equal(queue.len(), 0);
  });

  test("waiting workers get keys as they are added", async () => {
    const queue = new WorkQueue({ name: "t" });
    const got = Promise.all([queue.get(), queue.get()]);
    queue.add("x");
    queue.add("y");
    assert.deepEqual((await got).sort(), ["x", "y"]);
  });

  test("addAfter adds once the delay passes; an earlier add-after of the same key wins", async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ name: "t", clock });
    queue.addAfter("a", 1000);
    queue.addAfter("a", 5000);
    queue.addAfter("b", 200);
    clock.advance(199);
    assert.equal(queue.len(), 0);
    clock.advance(1);
    assert.deepEqual(await takeAll(queue), ["b"]);
    clock.advance(800);
    assert.deepEqual(await takeAll(queue), ["a"]);
    clock.advance(10_000);
    assert.equal(queue.len(), 0, "the later add-after was replaced, not kept");
    queue.addAfter("c", 1000);
    queue.addAfter("c", 100);
    clock.advance(100);
    assert.deepEqual(await takeAll(queue), ["c"], "a sooner add-after replaces a later one");
  });

  test("addRateLimited backs off per key exponentially up to the cap; forget resets it", async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ name: "t", clock, backoffBaseMs: 10, backoffMaxMs: 50 });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = clock.now();
      queue.addRateLimited("a");
      let waited = 0;
      while (queue.len() === 0) {
        clock.advance(1);
        waited++;
        assert.ok(waited < 1000);
      }
      delays.push(clock.now() - before);
      const key = await queue.get();
      queue.done(key!);
    }
    assert.deepEqual(delays, [10, 20, 40, 50, 50]);
    assert.equal(queue.numRequeues("a"), 5);
    queue.addRateLimited("b");
    assert.equal(queue.numRequeues("b"), 1, "backoff is per key");
    queue.forget("a");
    assert.equal(queue.numRequeues("a"), 0);
    const before = clock.now();
    queue.addRateLimited("a");
    while (queue.len() === 0) clock.advance(1);
    assert.ok(clock.now() - before <= 10, "after forget the backoff starts again from the base");
  });

  test("shutDown drains: queued keys are still handed out, then get() returns undefined; adds are refused", async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ name: "t", clock });
    queue.add("a");
    queue.add("b");
    queue.addAfter("later", 100);
    const held = await queue.get();
    let drained = false;
    const shutdown = queue.shutDown().then(() => {
      drained = true;
    });
    queue.add("c");
    assert.equal(clock.pendingTimers, 0, "pending add-afters are dropped");
    assert.equal(await queue.get(), "b");
    queue.done("b");
    assert.equal(await queue.get(), undefined);
    await new Promise((r) => setImmediate(r));
    assert.equal(drained, false, "still working on a key");
    queue.done(held!);
    await shutdown;
    assert.equal(drained, true);
  });

  test("shutDown without drain drops queued keys and wakes idle workers", async () => {
    const queue = new WorkQueue({ name: "t" });
    const idle = queue.get();
    await queue.shutDown({ drain: false });
    assert.equal(await idle, undefined);
    const q2 = new WorkQueue({ name: "t2" });
    q2.add("a");
    q2.add("b");
    await q2.shutDown({ drain: false });
    assert.equal(await q2.get(), undefined);
  });

  test("records workqueue_* metrics labelled by queue name on the registry it is given", async () => {
    const registry = new Registry();
    const clock = new FakeClock();
    const runners = new WorkQueue({ name: "runner", registry, clock });
    const sets = new WorkQueue({ name: "runnerset", registry, clock });
    runners.add("a");
    runners.add("a");
    runners.add("b");
    sets.add("x");
    clock.advance(250);
    const key = await runners.get();
    clock.advance(1500);
    runners.done(key!);
    runners.addRateLimited("a");
    const text = await registry.metrics();
    assert.match(text, /workqueue_depth\{name="runner"\} 1/);
    assert.match(text, /workqueue_depth\{name="runnerset"\} 1/);
    assert.match(text, /workqueue_adds_total\{name="runner"\} 2/, "a duplicate waiting key is not a new add");
    assert.match(text, /workqueue_retries_total\{name="runner"\} 1/);
    assert.match(text, /workqueue_queue_duration_seconds_bucket\{le="0.25",name="runner"\} 1/);
    assert.match(text, /workqueue_queue_duration_seconds_bucket\{le="0.1",name="runner"\} 0/);
    assert.match(text, /workqueue_work_duration_seconds_sum\{name="runner"\} 1.5/);
    const global = await import("prom-client").then((m) => m.register.getSingleMetric("workqueue_depth"));
    assert.equal(global, undefined, "nothing registered on the global registry");
  });
});
