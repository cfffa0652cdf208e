// GitHub webhooks for tests: signing a body the way GitHub does, GitHub's published example
// payloads (@octokit/webhooks-examples) and GitHub's webhook JSON Schemas
// (@octokit/webhooks-schemas 7.6.1, draft-07) to check any payload a test or a fake sends.
// Facts (signature rule, test vector, which examples are outdated) come from
// GitHub's webhook docs (workflow_job payload, validating deliveries), checked against the installed packages.
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const require = createRequire(import.meta.url);

/** `"sha256=" + hex(HMAC-SHA256(secret, raw body))`: the value of `X-Hub-Signature-256`. */
export function signWebhookBody(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export interface WebhookDelivery {
  /** `X-GitHub-Event`, e.g. `workflow_job` or `ping`. */
  event: string;
  /** The payload: an object is serialized with JSON.stringify; a string or bytes are sent as they are. */
  payload: unknown;
  /** Signs with this secret; no `X-Hub-Signature-256` header when omitted. */
  secret?: string;
  /** `X-GitHub-Delivery`; a fresh GUID when omitted. */
  deliveryId?: string;
  hookId?: number;
  /** `X-GitHub-Hook-Installation-Target-Type`: repository, organization, integration or business. */
  targetType?: string;
  targetId?: number;
}

export interface SignedWebhook {
  deliveryId: string;
  /** The exact bytes that were signed; send these, never a re-serialization. */
  body: Buffer;
  headers: Record<string, string>;
}

/** Builds a delivery as GitHub sends it: the raw body and the headers (GitHub's names, JSON content type). */
export function signedWebhook(delivery: WebhookDelivery): SignedWebhook {
  const { payload } = delivery;
  const body =
    typeof payload === "string" || payload instanceof Uint8Array
      ? Buffer.from(payload)
      : Buffer.from(JSON.stringify(payload));
  const deliveryId = delivery.deliveryId ?? randomUUID();
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/octorun-testkit",
    "x-github-event": delivery.event,
    "x-github-delivery": deliveryId,
    "x-github-hook-id": String(delivery.hookId ?? 1),
    "x-github-hook-installation-target-type": delivery.targetType ?? "repository",
    "x-github-hook-installation-target-id": String(delivery.targetId ?? 1),
  };
  if (delivery.secret !== undefined) headers["x-hub-signature-256"] = signWebhookBody(delivery.secret, body);
  return { deliveryId, body, headers };
}

/** One of GitHub's published example payloads. */
export interface WebhookExample {
  event: string;
  /** Position in the package's list for this event (stable for a pinned version). */
  index: number;
  action: string | undefined;
  payload: Record<string, unknown>;
  /** Why this example no longer matches GitHub's current schema (set only with `includeOutdated`). */
  outdated?: string;
}

/**
 * Examples in @octokit/webhooks-examples 7.6.1 that predate fields GitHub now always sends, so they
 * fail @octokit/webhooks-schemas 7.6.1. Skipped by default; a test that wants them asks explicitly.
 */
export const outdatedWebhookExamples: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  workflow_job: {
    0: "the 2021 in_progress payload: workflow_job lacks run_attempt, workflow_name, head_branch and created_at; repository lacks is_template, topics, visibility, custom_properties",
  },
  ping: {
    0: "hook lacks deliveries_url; repository lacks is_template, web_commit_signoff_required, topics, visibility, custom_properties",
  },
};

interface ExampleEntry {
  name: string;
  examples: Record<string, unknown>[];
}

let examplesCache: ExampleEntry[] | undefined;
function loadExamples(): ExampleEntry[] {
  examplesCache ??= JSON.parse(
    readFileSync(require.resolve("@octokit/webhooks-examples/api.github.com/index.json"), "utf8"),
  ) as ExampleEntry[];
  return examplesCache;
}

/**
 * GitHub's published example payloads for an event (github.com), each a fresh deep copy so a test
 * may mutate it. Outdated examples (see outdatedWebhookExamples) are left out unless asked for.
 */
export function webhookExamples(event: string, options: { includeOutdated?: boolean } = {}): WebhookExample[] {
  const entry = loadExamples().find((e) => e.name === event);
  if (!entry) throw new Error(`@octokit/webhooks-examples has no examples for the event "${event}"`);
  const outdated = outdatedWebhookExamples[event] ?? {};
  return entry.examples.flatMap((payload, index) => {
    const reason = outdated[index];
    if (reason !== undefined && !options.includeOutdated) return [];
    const copy = structuredClone(payload);
    const action = typeof copy["action"] === "string" ? copy["action"] : undefined;
    return [{ event, index, action, payload: copy, ...(reason !== undefined ? { outdated: reason } : {}) }];
  });
}

export interface WebhookValidation {
  valid: boolean;
  /** `<JSON pointer> <message>` per problem, empty when valid. */
  errors: string[];
}

let schemaCache: { ajv: Ajv; definitions: Record<string, unknown> } | undefined;
const validators = new Map<string, ValidateFunction>();

function schemas(): { ajv: Ajv; definitions: Record<string, unknown> } {
  if (!schemaCache) {
    const schema = JSON.parse(readFileSync(require.resolve("@octokit/webhooks-schemas/schema.json"), "utf8")) as {
      definitions: Record<string, unknown>;
    };
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    // The schema carries a keyword of its own for its TypeScript generator; it does not constrain values.
    ajv.addKeyword("tsAdditionalProperties");
    schemaCache = { ajv, definitions: schema.definitions };
  }
  return schemaCache;
}

function validatorFor(definition: string): ValidateFunction {
  let validate = validators.get(definition);
  if (!validate) {
    const { ajv, definitions } = schemas();
    // Compiled per definition (about 0.25 s each) rather than the whole oneOf over every event.
    validate = ajv.compile({ $ref: `#/definitions/${definition}`, definitions });
    validators.set(definition, validate);
  }
  return validate;
}

/**
 * Checks a payload against GitHub's schema for the event. With an `action` in the payload (or an
 * event written `workflow_job.queued`), the schema of that action is used, which gives errors that
 * name the field instead of a failed `oneOf`.
 */
export function validateWebhookPayload(event: string, payload: unknown): WebhookValidation {
  const [name, explicitAction] = event.split(".", 2) as [string, string | undefined];
  const action =
    explicitAction ??
    (payload && typeof payload === "object" && typeof (payload as { action?: unknown }).action === "string"
      ? (payload as { action: string }).action
      : undefined);
  const { definitions } = schemas();
  const candidates = [action ? `${name}$${action}` : undefined, `${name}_event`, `${name}$event`].filter(
    (d): d is string => d !== undefined && d in definitions,
  );
  const definition = candidates[0];
  if (!definition) throw new Error(`@octokit/webhooks-schemas has no schema for the event "${event}"`);
  const validate = validatorFor(definition);
  if (validate(payload)) return { valid: true, errors: [] };
  return { valid: false, errors: (validate.errors ?? []).map(describeError) };
}

function describeError(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const detail =
    error.keyword === "additionalProperties"
      ? ` (${String(params["additionalProperty"])})`
      : error.keyword === "enum"
        ? ` (${JSON.stringify(params["allowedValues"])})`
        : "";
  return `${error.instancePath || "/"} ${error.message ?? "is invalid"}${detail}`;
}
