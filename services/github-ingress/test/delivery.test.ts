import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { outdatedWebhookExamples, signWebhookBody, validateWebhookPayload, webhookExamples } from "@octorun/testkit";
import { type DeliveryHeaders, decideDelivery } from "../src/delivery.ts";
import { jobEventFromWebhook, UnprocessablePayloadError } from "../src/job-event-from-webhook.ts";
import { deliveryLabels } from "../src/metrics.ts";
import { checkSignature } from "../src/signature.ts";

// biome-ignore lint/suspicious/noExplicitAny: GitHub payloads and events are untyped JSON that the tests mutate freely.
type Json = any;

const secret = "current-secret";
const signed = (event: string, body: string | Buffer, key = secret): [DeliveryHeaders, Buffer] => {
  const bytes = Buffer.from(body);
  return [{ contentType: "application/json", event, deliveryId: "d-1", signature: signWebhookBody(key, bytes) }, bytes];
};

describe("signature", () => {
  test("GitHub's documented test vector verifies", () => {
    const body = Buffer.from("Hello, World!");
    const header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    assert.equal(signWebhookBody("It's a Secret to Everybody", body), header);
    assert.deepEqual(checkSignature(["It's a Secret to Everybody"], body, header), { valid: true });
  });

  const body = Buffer.from('{"zen":"x"}');
  const table: [string, string[], string | undefined, string][] = [
    ["no header", [secret], undefined, "missing"],
    ["empty header", [secret], "", "missing"],
    ["sha1 instead of sha256", [secret], "sha1=0123456789abcdef0123456789abcdef01234567", "malformed"],
    ["short digest", [secret], "sha256=abcd", "malformed"],
    ["another secret", [secret], signWebhookBody("other", body), "mismatch"],
    ["signed over other bytes", [secret], signWebhookBody(secret, "{}"), "mismatch"],
    ["previous secret during rotation", [secret, "old-secret"], signWebhookBody("old-secret", body), "valid"],
    ["upper-case hex", [secret], signWebhookBody(secret, body).toUpperCase().replace("SHA256", "sha256"), "valid"],
  ];
  for (const [name, secrets, header, expected] of table) {
    test(name, () => {
      const result = checkSignature(secrets, body, header);
      assert.equal(result.valid ? "valid" : result.reason, expected);
    });
  }
});

describe("GitHub's published examples", () => {
  for (const event of ["workflow_job", "ping"]) {
    test(`every current ${event} example passes GitHub's webhook schema; the outdated ones are documented`, () => {
      const all = webhookExamples(event, { includeOutdated: true });
      assert.ok(all.length >= 4);
      for (const example of all) {
        const result = validateWebhookPayload(event, example.payload);
        assert.equal(
          result.valid,
          example.outdated === undefined,
          `${event}[${example.index}]: ${result.errors.join("; ")}`,
        );
      }
      assert.deepEqual(
        all.filter((e) => e.outdated).map((e) => e.index),
        Object.keys(outdatedWebhookExamples[event] ?? {}).map(Number),
      );
    });
  }

  test("each workflow_job example becomes a job event with GitHub's values", () => {
    for (const example of webhookExamples("workflow_job")) {
      const payload = example.payload as Json;
      const event = jobEventFromWebhook("delivery-x", payload);
      assert.ok(event);
      assert.equal(event.action, payload.action === "in_progress" ? "assigned" : payload.action);
      assert.equal(event.job.id, payload.workflow_job.id);
      assert.equal(event.job.runId, payload.workflow_job.run_id);
      assert.equal(event.job.runAttempt, payload.workflow_job.run_attempt);
      assert.deepEqual(event.job.labels, payload.workflow_job.labels);
      assert.equal(event.runner.name, payload.workflow_job.runner_name);
      assert.equal(event.runner.groupId, payload.workflow_job.runner_group_id);
      assert.equal(event.job.conclusion, payload.workflow_job.conclusion);
      assert.equal(event.repository.fullName, payload.repository.full_name);
      assert.equal(event.owner.login, payload.repository.owner.login);
      assert.equal(event.owner.type, payload.repository.owner.type);
      assert.equal(event.installationId, payload.installation?.id ?? null);
    }
  });
});

describe("a workflow_job payload that lacks what a job event needs", () => {
  const base = () => webhookExamples("workflow_job").find((e) => e.action === "completed")!.payload as Json;
  const table: [string, (p: Json) => void, string][] = [
    ["no workflow_job", (p) => delete p.workflow_job, "workflow_job"],
    ["no job id", (p) => delete p.workflow_job.id, "workflow_job.id"],
    ["a string run id", (p) => (p.workflow_job.run_id = "1"), "workflow_job.run_id"],
    ["no run attempt (the 2021 payload shape)", (p) => delete p.workflow_job.run_attempt, "workflow_job.run_attempt"],
    ["labels not a list", (p) => (p.workflow_job.labels = "self-hosted"), "workflow_job.labels"],
    ["runner id not a number", (p) => (p.workflow_job.runner_id = "r"), "workflow_job.runner_id"],
    ["no repository", (p) => delete p.repository, "repository"],
    ["no owner login", (p) => delete p.repository.owner.login, "repository.owner.login"],
    ["a bad created_at", (p) => (p.workflow_job.created_at = "soon"), "workflow_job.created_at"],
    ["installation without id", (p) => (p.installation = {}), "installation.id"],
  ];
  for (const [name, mutate, field] of table) {
    test(`${name} → names ${field}`, () => {
      const payload = base();
      mutate(payload);
      assert.throws(
        () => jobEventFromWebhook("d", payload),
        (error: unknown) => error instanceof UnprocessablePayloadError && error.field === field,
      );
    });
  }

  test("null runner fields and empty labels are accepted (queued jobs, GitHub's empty-label completions)", () => {
    const payload = base();
    Object.assign(payload.workflow_job, { runner_id: null, runner_name: null, labels: [] });
    const event = jobEventFromWebhook("d", payload);
    assert.equal(event?.runner.id, null);
    assert.deepEqual(event?.job.labels, []);
  });
});

describe("deciding a delivery", () => {
  const job = JSON.stringify(webhookExamples("workflow_job")[0]!.payload);
  const table: [string, () => [DeliveryHeaders, Buffer], string][] = [
    ["workflow_job → publish", () => signed("workflow_job", job), "publish"],
    ["ping → 200", () => signed("ping", JSON.stringify(webhookExamples("ping")[0]!.payload)), "200 ping"],
    ["another event → 202 ignored", () => signed("push", "{}"), "202 ignored"],
    [
      "an unhandled workflow_job action → 202 ignored",
      () => signed("workflow_job", '{"action":"requested"}'),
      "202 ignored",
    ],
    [
      "no signature → 401",
      () => {
        const [h, b] = signed("workflow_job", job);
        return [{ ...h, signature: undefined }, b];
      },
      "401 unauthorized",
    ],
    ["wrong secret → 401", () => signed("workflow_job", job, "wrong"), "401 unauthorized"],
    [
      "no event header → 400",
      () => {
        const [h, b] = signed("workflow_job", job);
        return [{ ...h, event: undefined }, b];
      },
      "400 bad_request",
    ],
    [
      "no delivery header → 400",
      () => {
        const [h, b] = signed("workflow_job", job);
        return [{ ...h, deliveryId: undefined }, b];
      },
      "400 bad_request",
    ],
    [
      "form-encoded → 415",
      () => {
        const [h, b] = signed("workflow_job", job);
        return [{ ...h, contentType: "application/x-www-form-urlencoded" }, b];
      },
      "415 unsupported_media_type",
    ],
    [
      "JSON with a charset → publish",
      () => {
        const [h, b] = signed("workflow_job", job);
        return [{ ...h, contentType: "application/json; charset=utf-8" }, b];
      },
      "publish",
    ],
    ["signed but not JSON → 400", () => signed("workflow_job", "{nope"), "400 bad_request"],
    ["signed but lacking fields → 422", () => signed("workflow_job", '{"action":"queued"}'), "422 unprocessable"],
    [
      "an unsigned invalid body is refused for its signature, never parsed",
      () => {
        const [h] = signed("workflow_job", job);
        return [h, Buffer.from("{nope")];
      },
      "401 unauthorized",
    ],
  ];
  for (const [name, build, expected] of table) {
    test(name, () => {
      const [headers, body] = build();
      const decision = decideDelivery(headers, body, [secret]);
      const got = decision.kind === "publish" ? "publish" : `${decision.status} ${decision.result}`;
      assert.equal(got, expected, decision.kind === "publish" ? "" : decision.message);
    });
  }

  test("the 422 answer names the missing field and 415 says to configure JSON", () => {
    const payload = webhookExamples("workflow_job")[0]!.payload as Json;
    delete payload.workflow_job.labels;
    const [h, b] = signed("workflow_job", JSON.stringify(payload));
    const decision = decideDelivery(h, b, [secret]);
    assert.equal(
      decision.kind === "reject" && decision.message,
      "workflow_job payload: workflow_job.labels must be an array of strings",
    );
    const unsupported = decideDelivery({ ...h, contentType: "text/plain" }, b, [secret]);
    assert.match(
      unsupported.kind === "reject" ? unsupported.message : "",
      /configure the webhook's content type as application\/json/,
    );
  });
});

describe("metric labels", () => {
  test("unverified deliveries cannot choose label values", () => {
    assert.deepEqual(deliveryLabels(false, "workflow_job", "queued"), { event: "unverified", action: "" });
    assert.deepEqual(deliveryLabels(true, "workflow_job", "in_progress"), {
      event: "workflow_job",
      action: "in_progress",
    });
    assert.deepEqual(deliveryLabels(true, "Weird Event!", "x"), { event: "other", action: "" });
    assert.deepEqual(deliveryLabels(true, "workflow_job", "made_up"), { event: "workflow_job", action: "" });
  });
});

describe("no Kubernetes credentials", () => {
  test("neither the ingress nor any workspace library it uses depends on a Kubernetes client", () => {
    const root = new URL("../../../", import.meta.url);
    const seen = new Set<string>();
    const visit = (dir: string) => {
      if (seen.has(dir)) return;
      seen.add(dir);
      const manifest = JSON.parse(readFileSync(new URL(`${dir}/package.json`, root), "utf8")) as {
        dependencies?: Record<string, string>;
      };
      const dependencies = Object.keys(manifest.dependencies ?? {});
      assert.ok(!dependencies.some((d) => d.startsWith("@kubernetes/")), `${dir} depends on a Kubernetes client`);
      for (const d of dependencies) if (d.startsWith("@octorun/")) visit(`libs/${d.slice("@octorun/".length)}`);
    };
    visit("services/github-ingress");
    assert.ok(seen.has("libs/bus") && seen.has("libs/runtime"));
  });
});
