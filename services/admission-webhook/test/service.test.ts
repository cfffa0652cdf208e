// The admission-webhook process itself (src/index.ts), as it runs in a Pod: configuration, bad
// requests sent straight to it, certificate rotation, health and metrics, graceful shutdown.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { copyFileSync, mkdtempSync, renameSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { TLSSocket } from "node:tls";
import { createPki, freePort, type Pki, waitFor } from "@octorun/testkit";

const ENTRY = join(import.meta.dirname, "..", "src", "index.ts");
const RUNNER_MUTATE = "/mutate-octorun-github-io-v1alpha2-runner";
const RUNNERSET_VALIDATE = "/validate-octorun-github-io-v1alpha2-runnerset";

let dir: string;
let first: Pki;
let second: Pki;
let child: ChildProcess;
let output = "";
let port: number;
let healthPort: number;

interface Answer {
  status: number;
  body: string;
  json: Record<string, unknown>;
  fingerprint: string;
}

function call(
  path: string,
  body: string | Buffer,
  options: { method?: string; contentType?: string; ca?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "POST",
        ca: options.ca ?? first.ca.cert,
        agent: false, // a new TLS handshake each time: shows which certificate is served now
        headers: {
          "content-type": options.contentType ?? "application/json",
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        const fingerprint = new X509Certificate((res.socket as TLSSocket).getPeerCertificate(true).raw).fingerprint256;
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, body: text, json, fingerprint });
        });
      },
    );
    req.on("error", reject);
    req.end(options.method === "GET" ? undefined : body);
  });
}

function health(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: "127.0.0.1", port: healthPort, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    })
      .on("error", reject)
      .end();
  });
}

const review = (kind: string, object: unknown, version = "v1alpha2") =>
  JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "0b1f",
      kind: { group: "octorun.github.io", version, kind },
      operation: "CREATE",
      userInfo: { username: "alice" },
      name: "r1",
      namespace: "ns",
      object,
    },
  });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "octorun-webhook-service-"));
  first = createPki(join(dir, "first"));
  second = createPki(join(dir, "second"));
  copyFileSync(first.webhook.certFile, join(dir, "tls.crt"));
  copyFileSync(first.webhook.keyFile, join(dir, "tls.key"));
  port = await freePort();
  healthPort = await freePort();
  child = spawn(process.execPath, [ENTRY], {
    env: {
      PATH: process.env["PATH"],
      TLS_CERT_FILE: join(dir, "tls.crt"),
      TLS_KEY_FILE: join(dir, "tls.key"),
      TLS_RELOAD_INTERVAL_MS: "500",
      WEBHOOK_HOST: "127.0.0.1",
      WEBHOOK_PORT: String(port),
      HEALTH_HOST: "127.0.0.1",
      HEALTH_PORT: String(healthPort),
      MAX_REQUEST_BYTES: "65536",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(
    "the webhook to be ready",
    async () => (await health("/readyz").catch(() => ({ status: 0 }))).status === 200,
    { timeoutMs: 20_000, intervalMs: 100 },
  );
});

after(() => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
});

describe("the admission-webhook process", () => {
  test("a review over HTTPS is answered with the patch", async () => {
    const answer = await call(
      RUNNER_MUTATE,
      review("Runner", { metadata: { name: "r1" }, spec: { url: "https://github.com/o/r" } }),
    );
    assert.equal(answer.status, 200);
    const response = answer.json["response"] as { uid: string; allowed: boolean; patch: string };
    assert.equal(response.uid, "0b1f");
    assert.equal(response.allowed, true);
    assert.deepEqual(JSON.parse(Buffer.from(response.patch, "base64").toString())[0], {
      op: "add",
      path: "/metadata/labels",
      value: { "octorun.github.io/runner": "r1" },
    });
  });

  const bad: Array<[string, () => Promise<Answer>, number, RegExp]> = [
    [
      "a wrong content type",
      () => call(RUNNER_MUTATE, review("Runner", {}), { contentType: "text/plain" }),
      415,
      /content type must be application\/json, got "text\/plain"/,
    ],
    ["a body that is not JSON", () => call(RUNNER_MUTATE, "{nope"), 400, /the body is not valid JSON/],
    [
      "an oversized body",
      () => call(RUNNER_MUTATE, Buffer.alloc(70_000, 32)),
      413,
      /larger than the limit of 65536 bytes/,
    ],
    [
      "something other than an AdmissionReview",
      () => call(RUNNER_MUTATE, JSON.stringify({ kind: "Pod", apiVersion: "v1" })),
      400,
      /expected an AdmissionReview admission\.k8s\.io\/v1, got kind "Pod"/,
    ],
    [
      "a review without a request",
      () => call(RUNNER_MUTATE, JSON.stringify({ kind: "AdmissionReview", apiVersion: "admission.k8s.io/v1" })),
      400,
      /has no request/,
    ],
    [
      "an unknown kind",
      () => call(RUNNER_MUTATE, review("Pod", {})),
      400,
      /reviews Runner\.octorun\.github\.io, not Pod/,
    ],
    [
      "an unknown version",
      () => call(RUNNER_MUTATE, review("Runner", {}, "v9")),
      400,
      /unsupported version "v9" of Runner/,
    ],
    ["a GET", () => call(RUNNER_MUTATE, "", { method: "GET" }), 405, /use POST/],
    ["an unknown path", () => call("/mutate-pods", review("Runner", {})), 404, /no endpoint \/mutate-pods/],
    [
      "a ConversionReview without objects",
      () =>
        call(
          "/convert",
          JSON.stringify({
            apiVersion: "apiextensions.k8s.io/v1",
            kind: "ConversionReview",
            request: { uid: "x", desiredAPIVersion: "octorun.github.io/v1alpha1" },
          }),
        ),
      400,
      /request\.objects is not a list/,
    ],
  ];
  for (const [name, send, status, message] of bad) {
    test(`${name} → ${status} with a clear message`, async () => {
      const answer = await send();
      assert.equal(answer.status, status, answer.body);
      assert.match(String(answer.json["message"]), message);
    });
  }

  test("an exception inside a handler is a denial saying so, and the process carries on", async () => {
    const object = {
      metadata: { name: "rs" },
      spec: { selector: { matchExpressions: "not-a-list" }, template: { spec: { url: "https://github.com/o" } } },
    };
    const answer = await call(RUNNERSET_VALIDATE, review("RunnerSet", object));
    assert.equal(answer.status, 200);
    const response = answer.json["response"] as { allowed: boolean; status: { code: number; message: string } };
    assert.equal(response.allowed, false);
    assert.equal(response.status.code, 500);
    assert.match(response.status.message, /the octorun admission webhook failed to review the request: /);
    assert.equal(
      (await call(RUNNER_MUTATE, review("Runner", { metadata: { name: "r" }, spec: { url: "https://github.com/o" } })))
        .status,
      200,
    );
  });

  test("a rotated certificate is served without a restart", async () => {
    const before = await call(RUNNER_MUTATE, review("Runner", {}));
    assert.equal(before.fingerprint, new X509Certificate(first.webhook.cert).fingerprint256);
    // As cert-manager and the kubelet do it: new files appear at once (rename), key first.
    copyFileSync(second.webhook.keyFile, join(dir, "tls.key.new"));
    copyFileSync(second.webhook.certFile, join(dir, "tls.crt.new"));
    renameSync(join(dir, "tls.key.new"), join(dir, "tls.key"));
    renameSync(join(dir, "tls.crt.new"), join(dir, "tls.crt"));
    const expected = new X509Certificate(second.webhook.cert).fingerprint256;
    await waitFor(
      "the new certificate to be served",
      async () =>
        (await call(RUNNER_MUTATE, review("Runner", {}), { ca: second.ca.cert }).catch(() => undefined))
          ?.fingerprint === expected,
      {
        timeoutMs: 10_000,
        intervalMs: 100,
      },
    );
    await assert.rejects(
      call(RUNNER_MUTATE, review("Runner", {}), { ca: first.ca.cert }),
      /self.signed|unable to verify|certificate/i,
    );
  });

  test("/healthz, /readyz and /metrics answer, with review and TLS metrics", async () => {
    assert.equal((await health("/healthz")).status, 200);
    assert.equal((await health("/readyz")).status, 200);
    const metrics = (await health("/metrics")).body;
    assert.match(
      metrics,
      /octorun_admission_reviews_total\{kind="Runner",mode="mutate",operation="CREATE",result="allowed"\} [1-9]/,
    );
    assert.match(
      metrics,
      /octorun_admission_reviews_total\{kind="RunnerSet",mode="validate",operation="CREATE",result="error"\} 1/,
    );
    assert.match(
      metrics,
      /octorun_admission_bad_requests_total\{endpoint="\/mutate-octorun-github-io-v1alpha2-runner",code="415"\} 1/,
    );
    assert.match(metrics, /octorun_admission_tls_reloads_total\{result="success"\} [1-9]/);
    assert.match(metrics, /octorun_admission_tls_certificate_expiry_timestamp_seconds \d+/);
  });

  test("logs are JSON lines", () => {
    const lines = output.split("\n").filter((line) => line.trim() !== "");
    assert.ok(lines.length > 0);
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line);
    assert.match(output, /"message":"serving certificate reloaded"/);
  });

  test("SIGTERM shuts the process down gracefully (exit 0)", async () => {
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  });
});

describe("configuration", () => {
  test("a missing certificate setting stops the process with a message naming it", async () => {
    const proc = spawn(process.execPath, [ENTRY], {
      env: { PATH: process.env["PATH"], WEBHOOK_PORT: "0", HEALTH_PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let text = "";
    proc.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
    proc.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => proc.once("exit", resolve));
    assert.equal(code, 1);
    assert.match(text, /TLS_CERT_FILE is required/);
    assert.match(text, /TLS_KEY_FILE is required/);
  });

  test("unreadable certificate files stop the process with a message naming them", async () => {
    const proc = spawn(process.execPath, [ENTRY], {
      env: {
        PATH: process.env["PATH"],
        TLS_CERT_FILE: "/nonexistent/tls.crt",
        TLS_KEY_FILE: "/nonexistent/tls.key",
        WEBHOOK_PORT: "0",
        HEALTH_PORT: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let text = "";
    proc.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
    proc.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
    await new Promise<number | null>((resolve) => proc.once("exit", resolve));
    // (runService decides the exit code of a failed start; the process must end and say why.)
    assert.match(text, /cannot read the serving certificate or key/);
  });
});
