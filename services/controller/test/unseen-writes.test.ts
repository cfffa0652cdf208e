import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { noteWrite, stillUnseen } from "../src/unseen-writes.ts";

describe("unseen writes", () => {
  const writes = noteWrite(noteWrite(undefined, { secretUid: "s1" }, 1_000), { podUid: "p1", generation: 3 }, 1_200);

  test("noting writes keeps the time of the first", () => {
    assert.deepEqual(writes, { since: 1_000, secretUid: "s1", podUid: "p1", generation: 3 });
  });

  const cases: [string, Parameters<typeof stillUnseen>[1], number, ReturnType<typeof stillUnseen>][] = [
    [
      "nothing seen yet",
      { generation: 2, secretUid: undefined, podUid: undefined },
      2_000,
      { since: 1_000, secretUid: "s1", podUid: "p1", generation: 3 },
    ],
    [
      "the Secret and the spec write seen, the Pod not",
      { generation: 3, secretUid: "s1", podUid: undefined },
      2_000,
      { since: 1_000, podUid: "p1" },
    ],
    ["a later generation counts as seen", { generation: 5, secretUid: "s1", podUid: "p1" }, 2_000, undefined],
    [
      "another Pod than the one created is not it",
      { generation: 3, secretUid: "s1", podUid: "p0" },
      2_000,
      { since: 1_000, podUid: "p1" },
    ],
    [
      "past the timeout the caches are trusted again",
      { generation: 2, secretUid: undefined, podUid: undefined },
      31_000,
      undefined,
    ],
  ];
  for (const [name, cached, now, expected] of cases) {
    test(name, () => assert.deepEqual(stillUnseen(writes, cached, now, 30_000), expected));
  }

  test("no writes → nothing to wait for", () => {
    assert.equal(
      stillUnseen(undefined, { generation: 1, secretUid: undefined, podUid: undefined }, 0, 30_000),
      undefined,
    );
  });
});
