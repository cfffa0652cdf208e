import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { createLogger, Redactor } from "../src/index.ts";

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean)));
  return { stream, lines };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("logger", () => {
  test("writes one JSON object per line with level, service, message and fields", async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ service: "github-ingress", stream });
    logger.info("delivery stored", { deliveryId: "d-1", sequence: 7 });
    await tick();
    const line = JSON.parse(lines[0]!);
    assert.equal(line.level, "info");
    assert.equal(line.service, "github-ingress");
    assert.equal(line.message, "delivery stored");
    assert.equal(line.deliveryId, "d-1");
    assert.equal(line.sequence, 7);
    assert.ok(Date.parse(line.timestamp));
  });

  test("a secret given in config never appears in a log line, wherever it is", async () => {
    const secret = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";
    const redactor = new Redactor();
    redactor.add(secret);
    const { stream, lines } = capture();
    const logger = createLogger({ service: "controller", stream, redactor });
    logger.info(`calling GitHub with ${secret}`);
    logger.warn("request failed", { headers: { authorization: `token ${secret}` }, url: `https://x/?t=${secret}` });
    logger.error("boom", { error: new Error(`bad credentials ${secret}`) });
    logger.info("jit", { encodedJitConfig: "eyJhbGciOi-some-config", nested: [{ note: `inner ${secret}` }] });
    await tick();
    assert.equal(lines.length, 4);
    for (const line of lines) assert.ok(!line.includes(secret), line);
    assert.ok(!lines[3]!.includes("eyJhbGciOi-some-config"), "a field named like a JIT config is redacted");
    assert.match(lines[0]!, /calling GitHub with \[REDACTED\]/);
    assert.match(lines[2]!, /bad credentials \[REDACTED\]/);
  });

  test("levels below the configured one are dropped", async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ service: "s", stream, level: "warn" });
    logger.info("hidden");
    logger.warn("shown");
    await tick();
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).message),
      ["shown"],
    );
  });
});
