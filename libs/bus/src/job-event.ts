import { Ajv, type ErrorObject } from "ajv";
import addFormatsModule from "ajv-formats";
import { type JobAction, jobActions } from "./subjects.ts";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** The schema version this code writes and reads; a reader refuses other versions. */
export const JOB_EVENT_VERSION = 1;

/** Known `workflow_job.conclusion` values; GitHub may add more, so any string is accepted. */
export type JobConclusion =
  | "success"
  | "failure"
  | "cancelled"
  | "skipped"
  | "neutral"
  | "timed_out"
  | "action_required"
  | (string & {});

/**
 * One GitHub `workflow_job` delivery as a typed event: the body of every message on the job
 * stream. Field names are octorun's; the comments name the webhook field each comes from.
 */
export interface JobEvent {
  version: typeof JOB_EVENT_VERSION;
  /** `X-GitHub-Delivery`; also the JetStream message id, so a redelivered webhook is stored once. */
  deliveryId: string;
  action: JobAction;
  job: {
    /** `workflow_job.id` */
    id: number;
    runId: number;
    runAttempt: number;
    /** The job's name and its workflow's (`workflow_name`, null when GitHub does not send it). */
    name: string;
    workflowName: string | null;
    /** The `runs-on` labels; may be empty (GitHub sends such `completed` events). */
    labels: string[];
    conclusion: JobConclusion | null;
    createdAt: string;
    startedAt: string | null;
    completedAt: string | null;
    htmlUrl: string;
  };
  /** The runner that took the job; every field null while queued or waiting. */
  runner: {
    id: number | null;
    name: string | null;
    groupId: number | null;
    groupName: string | null;
  };
  repository: {
    /** `owner/name` */
    fullName: string;
    url: string;
  };
  owner: {
    login: string;
    /** `User` or `Organization` (or what GitHub sends). */
    type: string;
    url: string;
  };
  /** `installation.id`: present on GitHub App deliveries only. */
  installationId: number | null;
}

const nullableString = { type: ["string", "null"] };
const nullableInteger = { type: ["integer", "null"] };
const dateTime = { type: "string", format: "date-time" };
const nullableDateTime = { anyOf: [{ type: "null" }, dateTime] };

/** JSON Schema (draft-07, checked by ajv) of JobEvent, version 1. */
export const jobEventSchema = {
  $id: "https://octorun.github.io/schemas/job-event.v1.json",
  title: "octorun job event, version 1",
  type: "object",
  additionalProperties: false,
  required: ["version", "deliveryId", "action", "job", "runner", "repository", "owner", "installationId"],
  properties: {
    version: { const: JOB_EVENT_VERSION },
    deliveryId: { type: "string", minLength: 1, maxLength: 200 },
    action: { enum: [...jobActions] },
    job: {
      type: "object",
      additionalProperties: false,
      required: [
        "id",
        "runId",
        "runAttempt",
        "name",
        "workflowName",
        "labels",
        "conclusion",
        "createdAt",
        "startedAt",
        "completedAt",
        "htmlUrl",
      ],
      properties: {
        id: { type: "integer", minimum: 1 },
        runId: { type: "integer", minimum: 1 },
        runAttempt: { type: "integer", minimum: 1 },
        name: { type: "string" },
        workflowName: nullableString,
        labels: { type: "array", items: { type: "string" } },
        conclusion: nullableString,
        createdAt: dateTime,
        startedAt: nullableDateTime,
        completedAt: nullableDateTime,
        htmlUrl: { type: "string" },
      },
    },
    runner: {
      type: "object",
      additionalProperties: false,
      required: ["id", "name", "groupId", "groupName"],
      properties: { id: nullableInteger, name: nullableString, groupId: nullableInteger, groupName: nullableString },
    },
    repository: {
      type: "object",
      additionalProperties: false,
      required: ["fullName", "url"],
      properties: { fullName: { type: "string", pattern: "^[^/]+/[^/]+$" }, url: { type: "string", minLength: 1 } },
    },
    owner: {
      type: "object",
      additionalProperties: false,
      required: ["login", "type", "url"],
      properties: { login: { type: "string", minLength: 1 }, type: { type: "string" }, url: { type: "string" } },
    },
    installationId: nullableInteger,
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats(ajv);
const validate = ajv.compile(jobEventSchema);

/** A value is not a valid job event; `problems` name each field. */
export class InvalidJobEventError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[], options?: { cause?: unknown }) {
    super(`invalid job event: ${problems.join("; ")}`, options);
    this.name = "InvalidJobEventError";
    this.problems = problems;
  }
}

/** Checks a value against the job event schema; `problems` is empty when it is valid. */
export function checkJobEvent(value: unknown): { valid: true; event: JobEvent } | { valid: false; problems: string[] } {
  if (validate(value)) return { valid: true, event: value as JobEvent };
  return { valid: false, problems: (validate.errors ?? []).map(describe) };
}

/** The value as a JobEvent, or an InvalidJobEventError naming what is wrong. */
export function assertJobEvent(value: unknown): JobEvent {
  const result = checkJobEvent(value);
  if (!result.valid) throw new InvalidJobEventError(result.problems);
  return result.event;
}

/** Message bytes → a checked JobEvent (InvalidJobEventError for bad JSON or a bad event). */
export function decodeJobEvent(data: Uint8Array): JobEvent {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8"));
  } catch (error) {
    throw new InvalidJobEventError(["the message is not JSON"], { cause: error });
  }
  return assertJobEvent(value);
}

/** A checked JobEvent → message bytes. */
export function encodeJobEvent(event: JobEvent): Uint8Array {
  return Buffer.from(JSON.stringify(assertJobEvent(event)));
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const path = error.instancePath.replace(/^\//, "").replaceAll("/", ".");
  if (error.keyword === "required") {
    const field = String(params["missingProperty"]);
    return `${path ? `${path}.` : ""}${field} is required`;
  }
  if (error.keyword === "additionalProperties") {
    return `${path ? `${path}.` : ""}${String(params["additionalProperty"])} is not a job event field`;
  }
  return `${path || "(event)"} ${error.message ?? "is invalid"}`;
}
