import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RequestGate } from "../src/request-gate.ts";

describe("RequestGate", () => {
  test("at most maxConcurrent at once; one write at a time; releasing lets the next in, in order", async () => {
    const gate = new RequestGate({ maxConcurrent: 2 });
    const order: string[] = [];
    const take = (name: string, write: boolean) =>
      gate.acquire(write).then((release) => {
        order.push(name);
        return release;
      });
    const w1 = take("w1", true);
    const w2 = take("w2", true);
    const r1 = take("r1", false);
    const r2 = take("r2", false);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ["w1", "r1"], "w2 waits for w1; r2 waits for a slot");
    (await w1)();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ["w1", "r1", "w2"]);
    (await r1)();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ["w1", "r1", "w2", "r2"]);
    const release = await w2;
    release();
    release(); // a second release is harmless
    (await r2)();
    const again = await Promise.all([take("a", false), take("b", false)]);
    assert.deepEqual(order.slice(-2), ["a", "b"]);
    for (const r of again) r();
  });

  test("maxConcurrentWrites lets that many writes in at once, and never more", async () => {
    const gate = new RequestGate({ maxConcurrent: 10, maxConcurrentWrites: 3 });
    let inFlight = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        const release = await gate.acquire(true);
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight -= 1;
        release();
      }),
    );
    assert.equal(most, 3);
    assert.throws(() => new RequestGate({ maxConcurrentWrites: 0 }), /at least one write/);
  });
});
