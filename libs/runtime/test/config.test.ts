import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, type ConfigSchema, loadConfig } from "../src/index.ts";

const schema: ConfigSchema = {
  properties: {
    NATS_URL: { type: "string", format: "uri", description: "the NATS server" },
    PORT: { type: "integer", minimum: 1, maximum: 65535, default: 8080, description: "listen port" },
    DEBUG: { type: "boolean", default: false, description: "debug mode" },
    WEBHOOK_SECRET: {
      type: "array",
      items: { type: "string" },
      minItems: 1,
      secret: true,
      description: "webhook secrets",
    },
  },
  required: ["NATS_URL", "WEBHOOK_SECRET"],
};

function problems(env: NodeJS.ProcessEnv, readFile?: (path: string) => string): string[] {
  try {
    loadConfig(schema, { env, readFile });
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return [...error.problems];
  }
  return [];
}

describe("loadConfig", () => {
  test("a missing setting stops start-up naming the variable and its file alternative", () => {
    const found = problems({ NATS_URL: "nats://127.0.0.1:4222" });
    assert.deepEqual(found, ["WEBHOOK_SECRET (or WEBHOOK_SECRET_FILE) is required: webhook secrets"]);
  });

  test("every bad setting is named at once, without echoing its value", () => {
    const found = problems({ NATS_URL: "not a url", PORT: "99999", WEBHOOK_SECRET: "s3cr3t-value" });
    assert.equal(found.length, 2);
    assert.match(found.join("\n"), /^NATS_URL must match format "uri"$/m);
    assert.match(found.join("\n"), /^PORT must be <= 65535$/m);
    assert.doesNotMatch(found.join("\n"), /s3cr3t-value|not a url/);
  });

  test("values are converted, defaulted and lists split; secrets are reported for redaction", () => {
    const loaded = loadConfig<{ NATS_URL: string; PORT: number; DEBUG: boolean; WEBHOOK_SECRET: string[] }>(schema, {
      env: { NATS_URL: "nats://127.0.0.1:4222", DEBUG: "true", WEBHOOK_SECRET: "new-secret, old-secret" },
    });
    assert.deepEqual(loaded.values, {
      NATS_URL: "nats://127.0.0.1:4222",
      PORT: 8080,
      DEBUG: true,
      WEBHOOK_SECRET: ["new-secret", "old-secret"],
    });
    assert.deepEqual(loaded.secretValues, ["new-secret", "old-secret"]);
  });

  test("a secret can come from a mounted file named by <NAME>_FILE", () => {
    const loaded = loadConfig<{ WEBHOOK_SECRET: string[] }>(schema, {
      env: { NATS_URL: "nats://x:1", WEBHOOK_SECRET_FILE: "/var/run/secrets/webhook" },
      readFile: (path) => (path === "/var/run/secrets/webhook" ? "from-file\n" : ""),
    });
    assert.deepEqual(loaded.values.WEBHOOK_SECRET, ["from-file"]);
  });

  test("an unreadable secret file is named", () => {
    const found = problems({ NATS_URL: "nats://x:1", WEBHOOK_SECRET_FILE: "/nope" }, () => {
      throw Object.assign(new Error("no such file"), { code: "ENOENT" });
    });
    assert.equal(found[0], "WEBHOOK_SECRET_FILE names a file that cannot be read (ENOENT)");
  });
});
