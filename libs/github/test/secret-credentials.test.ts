import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import { authFromSecretData, GitHubCredentialSecretError } from "../src/index.ts";

const pem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" });
const b64 = (text: string) => Buffer.from(text).toString("base64");
const data = (values: Record<string, string>) =>
  Object.fromEntries(Object.entries(values).map(([key, value]) => [key, b64(value)]));

describe("a GitHub credential from a Secret (actions-runner-controller's keys)", () => {
  test("a token", () => {
    assert.deepEqual(authFromSecretData(data({ github_token: "ghp_abc\n" })), { type: "token", token: "ghp_abc" });
  });
  test("an App with its installation", () => {
    assert.deepEqual(
      authFromSecretData(
        data({ github_app_id: "12", github_app_private_key: String(pem), github_app_installation_id: "7" }),
      ),
      { type: "app", appId: 12, privateKey: String(pem).trim(), installationId: 7 },
    );
  });
  test("an App by client id, installation discovered", () => {
    const auth = authFromSecretData(data({ github_app_id: "Iv1.abc123", github_app_private_key: String(pem) }));
    assert.equal(auth.type === "app" && auth.appId, "Iv1.abc123");
    assert.equal(auth.type === "app" && auth.installationId, undefined);
  });

  const refused: [string, Record<string, string> | undefined, string, RegExp][] = [
    ["no data", undefined, "", /neither github_token nor github_app_id/],
    ["an empty token", { github_token: " " }, "", /neither/],
    ["an App without its key", { github_app_id: "12" }, "github_app_private_key", /is missing/],
    ["a key without its App", { github_app_private_key: "x" }, "github_app_id", /is missing/],
    [
      "a key that is no PEM",
      { github_app_id: "12", github_app_private_key: "-----BEGIN nonsense" },
      "github_app_private_key",
      /not a PEM private key/,
    ],
    [
      "an App id that is none",
      { github_app_id: "twelve", github_app_private_key: "x" },
      "github_app_id",
      /neither an App id/,
    ],
    [
      "a bad installation id",
      { github_app_id: "12", github_app_private_key: "PEM", github_app_installation_id: "-1" },
      "github_app_private_key",
      /not a PEM/,
    ],
    ["both a token and an App", { github_token: "t", github_app_id: "12" }, "github_token", /both/],
  ];
  for (const [name, values, key, message] of refused) {
    test(`${name}: refused naming ${key || "the Secret"}, without its value`, () => {
      assert.throws(
        () => authFromSecretData(values ? data(values) : undefined),
        (error: unknown) => {
          assert.ok(error instanceof GitHubCredentialSecretError);
          assert.equal(error.key, key);
          assert.match(error.message, message);
          assert.ok(!error.message.includes("-----BEGIN"), "no value in the message");
          return true;
        },
      );
    });
  }
  test("a bad installation id with a good key names the installation id", () => {
    assert.throws(
      () =>
        authFromSecretData(
          data({ github_app_id: "12", github_app_private_key: String(pem), github_app_installation_id: "x" }),
        ),
      (error: unknown) => error instanceof GitHubCredentialSecretError && error.key === "github_app_installation_id",
    );
  });
});
