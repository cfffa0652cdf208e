import assert from "node:assert/strict";
import { test } from "node:test";
import { type DeliverySample, deliveryStalled, reconsumeDelayMs } from "../src/delivery-check.ts";

const sample = (overrides: Partial<DeliverySample> = {}): DeliverySample => ({
  received: 10,
  undelivered: 3,
  ackPending: 0,
  maxAckPending: 256,
  paused: false,
  ...overrides,
});

test("a consumer is stalled only when events waited at both checks, none arrived, and it had room", () => {
  const cases: [string, DeliverySample | undefined, DeliverySample, boolean][] = [
    ["waiting at both checks, nothing received", sample(), sample(), true],
    ["the first check has nothing to compare with", undefined, sample(), false],
    ["something arrived in between", sample(), sample({ received: 11 }), false],
    ["nothing waited at the first check", sample({ undelivered: 0 }), sample(), false],
    ["nothing waits now", sample(), sample({ undelivered: 0 }), false],
    ["every slot for unacknowledged events is taken", sample(), sample({ ackPending: 256 }), false],
    ["one slot is free", sample(), sample({ ackPending: 255 }), true],
    ["no limit on unacknowledged events", sample(), sample({ ackPending: 10_000, maxAckPending: -1 }), true],
    ["paused on purpose", sample(), sample({ paused: true }), false],
  ];
  for (const [name, previous, current, stalled] of cases)
    assert.equal(deliveryStalled(previous, current), stalled, name);
});

test("consuming again backs off from 0.1 s, doubling, to at most 30 s", () => {
  assert.deepEqual([0, 1, 2, 3].map(reconsumeDelayMs), [100, 200, 400, 800]);
  assert.equal(reconsumeDelayMs(9), 30_000);
  assert.equal(reconsumeDelayMs(50), 30_000);
});
