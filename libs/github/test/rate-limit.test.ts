import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { classifyRateLimit, RateBudget, type ResponseInfo } from "../src/index.ts";

const NOW = 1_800_000_000_000;
const reset = NOW / 1000 + 120;

describe("classifyRateLimit", () => {
  const cases: [string, ResponseInfo, number, ReturnType<typeof classifyRateLimit>][] = [
    ["200 is no limit", { status: 200, headers: {}, message: undefined }, 0, undefined],
    [
      "plain 403 is a permission problem",
      { status: 403, headers: { "x-ratelimit-remaining": "12" }, message: "Resource not accessible by integration" },
      0,
      undefined,
    ],
    [
      "primary 403: until x-ratelimit-reset plus a second",
      {
        status: 403,
        headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
        message: "API rate limit exceeded for installation ID 1.",
      },
      0,
      { kind: "primary", retryAt: reset * 1000 + 1000 },
    ],
    [
      "primary 429 likewise",
      {
        status: 429,
        headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
        message: "API rate limit exceeded",
      },
      0,
      { kind: "primary", retryAt: reset * 1000 + 1000 },
    ],
    [
      "secondary with retry-after",
      {
        status: 403,
        headers: { "retry-after": "7", "x-ratelimit-remaining": "100" },
        message: "You have exceeded a secondary rate limit. Please wait",
      },
      0,
      { kind: "secondary", retryAt: NOW + 7000 },
    ],
    [
      "secondary without retry-after but a spent budget: until the reset",
      {
        status: 403,
        headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
        message: "You have exceeded a secondary rate limit.",
      },
      0,
      { kind: "secondary", retryAt: reset * 1000 + 1000 },
    ],
    [
      "secondary with nothing to go on: a minute",
      { status: 403, headers: {}, message: "You have exceeded a secondary rate limit." },
      0,
      { kind: "secondary", retryAt: NOW + 60_000 },
    ],
    [
      "secondary fallback doubles per strike",
      { status: 403, headers: {}, message: "You have exceeded a secondary rate limit." },
      2,
      { kind: "secondary", retryAt: NOW + 240_000 },
    ],
    [
      "bare 429 with retry-after",
      { status: 429, headers: { "retry-after": "3" }, message: "Too Many Requests" },
      0,
      { kind: "secondary", retryAt: NOW + 3000 },
    ],
  ];
  for (const [name, info, strikes, expected] of cases) {
    test(name, () => {
      assert.deepEqual(classifyRateLimit(info, NOW, 60_000, strikes), expected);
    });
  }
});

describe("RateBudget", () => {
  test("a spent budget blocks until the reset; headers update the gauge values", () => {
    const budget = new RateBudget("installation:1");
    budget.observe(
      { headers: { "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4", "x-ratelimit-reset": String(reset) } },
      NOW,
    );
    assert.equal(budget.remaining, 4);
    assert.equal(budget.waitMs(NOW), 0);
    budget.observe({ headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) } }, NOW);
    assert.equal(budget.waitMs(NOW), 121_000);
    assert.equal(budget.blockedBy, "primary");
  });

  test("a later block wins; secondary strikes count until a success", () => {
    const budget = new RateBudget("token");
    budget.block({ kind: "secondary", retryAt: NOW + 5000 });
    budget.block({ kind: "secondary", retryAt: NOW + 1000 });
    assert.equal(budget.waitMs(NOW), 5000);
    assert.equal(budget.secondaryStrikes, 2);
    budget.succeeded();
    assert.equal(budget.secondaryStrikes, 0);
  });
});
