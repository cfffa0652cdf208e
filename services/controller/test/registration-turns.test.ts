import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RegistrationTurns } from "../src/registration-turns.ts";

describe("registration turns", () => {
  const turns = (limit: number) => {
    const woken: string[] = [];
    return { woken, t: new RegistrationTurns({ limit, wake: (key) => woken.push(key) }) };
  };

  test("up to the limit register at once; the rest wait in line, first come first served", () => {
    const { t, woken } = turns(2);
    assert.equal(t.take("a"), true);
    assert.equal(t.take("b"), true);
    assert.equal(t.take("c"), false);
    assert.equal(t.take("d"), false);
    assert.equal(t.take("c"), false, "asking again keeps its place");
    assert.equal(t.waiting, 2);
    t.settle("a", false);
    assert.deepEqual(woken, ["c"], "the first in line is handed the turn and woken");
    assert.equal(t.take("e"), false, "a newcomer does not jump the line");
    assert.equal(t.take("c"), true, "the woken key holds its turn");
    assert.equal(t.take("c"), true, "and keeps it until it settles");
    t.settle("b", false);
    t.settle("c", false);
    assert.deepEqual(woken, ["c", "d", "e"]);
    assert.equal(t.waiting, 0);
  });

  test("a key that no longer needs to register leaves the line; a woken key that does not register passes its turn on", () => {
    const { t, woken } = turns(1);
    t.take("a");
    t.take("b");
    t.take("c");
    t.settle("b", false); // e.g. deleted while waiting
    t.settle("a", false);
    assert.deepEqual(woken, ["c"]);
    t.take("d");
    t.settle("c", false); // woken, but its Secret had appeared: it did not register
    assert.deepEqual(woken, ["c", "d"]);
  });

  test("settling a key that waits (its reconcile ended in line) keeps it in line", () => {
    const { t, woken } = turns(1);
    t.take("a");
    t.take("b");
    t.settle("b", true);
    t.settle("a", false);
    assert.deepEqual(woken, ["b"]);
  });

  test("a limit below 1 is refused", () => {
    assert.throws(() => turns(0), /at least 1/);
  });
});
