import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EndpointPace, GITHUB_COM_POINTS_PER_MINUTE, pointsPerMinuteFor } from "../src/endpoint-pace.ts";

/** A clock that sleeping moves forward. */
function fakeTime() {
  let now = 1_000_000;
  const slept: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      slept.push(ms);
      now += ms;
    },
    slept,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe("EndpointPace", () => {
  test("a minute's worth of points goes at once, then points come back at the limit's rate", async () => {
    const time = fakeTime();
    const pace = new EndpointPace({ pointsPerMinute: 60, now: time.now, sleep: time.sleep });
    for (let i = 0; i < 12; i++) assert.equal(await pace.take("POST /jit", 5), 0, `write ${i + 1} is free`);
    assert.equal(await pace.take("POST /jit", 5), 5_000, "the 13th waits for 5 points at 1 a second");
    time.advance(60_000);
    assert.equal(await pace.take("POST /jit", 5), 0, "a quiet minute fills the bucket again");
  });

  test("endpoints are paced apart; the waiters of one endpoint go in order", async () => {
    const time = fakeTime();
    const pace = new EndpointPace({ pointsPerMinute: 10, now: time.now, sleep: time.sleep });
    await pace.take("POST /jit", 10);
    assert.equal(await pace.take("GET /runner", 1), 0, "another endpoint has its own points");
    const order: string[] = [];
    await Promise.all(
      ["a", "b", "c"].map((name) => pace.take("POST /jit", 5).then((waited) => order.push(`${name} ${waited}`))),
    );
    assert.deepEqual(order, ["a 30000", "b 30000", "c 30000"], "each waits half a minute after the one before");
  });

  test("a request costing more than a minute's points waits for a full bucket instead of forever", async () => {
    const time = fakeTime();
    const pace = new EndpointPace({ pointsPerMinute: 3, now: time.now, sleep: time.sleep });
    await pace.take("POST /jit", 3);
    assert.equal(await pace.take("POST /jit", 5), 60_000);
  });

  test("github.com is paced at GitHub's 900 points a minute by default, other hosts not; a setting wins", () => {
    assert.equal(pointsPerMinuteFor("https://api.github.com", undefined), GITHUB_COM_POINTS_PER_MINUTE);
    assert.equal(pointsPerMinuteFor("https://api.github.com/", undefined), 900);
    assert.equal(pointsPerMinuteFor("https://ghes.example.com/api/v3", undefined), 0);
    assert.equal(pointsPerMinuteFor("https://api.github.com", 0), 0);
    assert.equal(pointsPerMinuteFor("https://ghes.example.com/api/v3", 300), 300);
    assert.throws(() => new EndpointPace({ pointsPerMinute: 0, now: Date.now, sleep: async () => {} }), /positive/);
  });
});
