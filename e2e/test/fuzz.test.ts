import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { JOB_STREAM } from "@octorun/bus";
import { fuzzAdmission, fuzzIngress } from "../src/fuzz.ts";
import { OctorunSystem } from "../src/system.ts";

// The short variant (1,000 each); `npm run bench fuzz` sends 10,000 of each.
describe("mutated input at the services that face the outside", () => {
  let system: OctorunSystem;
  before(async () => {
    system = await new OctorunSystem({ kwokNodes: 1 }).start();
  });
  after(() => system?.stop());

  test("1,000 broken webhook deliveries at github-ingress: only 4xx answers, nothing stored, the process lives", async () => {
    const result = await fuzzIngress(system, 1_000, 4242);
    assert.deepEqual(result.wrong, [], JSON.stringify(result.statusCounts));
    const nc = await system.natsAdmin();
    assert.equal((await (await nc.jetstreamManager()).streams.info(JOB_STREAM)).state.messages, 0);
    await nc.close();
    assert.equal(result.sent, 1_000);
    assert.ok(result.alive);
    assert.ok(result.rssAfterMb - result.rssBeforeMb < 100, `RSS ${result.rssBeforeMb} → ${result.rssAfterMb} MB`);
  });

  test("1,000 broken AdmissionReviews at the webhook: 4xx or a denial, never a 5xx or an admission, the process lives", async () => {
    const result = await fuzzAdmission(system, 1_000, 4242);
    assert.deepEqual(result.wrong, [], JSON.stringify(result.statusCounts));
    assert.ok(result.alive);
    assert.ok(result.rssAfterMb - result.rssBeforeMb < 100, `RSS ${result.rssBeforeMb} → ${result.rssAfterMb} MB`);
  });
});
