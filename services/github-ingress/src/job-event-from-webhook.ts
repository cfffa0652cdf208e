import { checkJobEvent, JOB_EVENT_VERSION, type JobAction, type JobEvent, jobActionFromGitHub } from "@octorun/bus";

/** A `workflow_job` payload lacks something a job event needs; `field` names it as GitHub spells it. */
export class UnprocessablePayloadError extends Error {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`${field} ${problem}`);
    this.name = "UnprocessablePayloadError";
    this.field = field;
  }
}

type Json = Record<string, unknown>;

/**
 * A verified `workflow_job` payload → a job event, or undefined for an action octorun does not
 * handle. Throws UnprocessablePayloadError naming the first field that is missing or of the wrong type.
 */
export function jobEventFromWebhook(deliveryId: string, payload: unknown): JobEvent | undefined {
  const root = object(payload, "(payload)");
  const githubAction = string(root, "action", "");
  const action: JobAction | undefined = jobActionFromGitHub(githubAction);
  if (!action) return undefined;
  const job = object(root["workflow_job"], "workflow_job");
  const repository = object(root["repository"], "repository");
  const owner = object(repository["owner"], "repository.owner");
  const installation =
    root["installation"] === undefined || root["installation"] === null
      ? undefined
      : object(root["installation"], "installation");
  const labels = job["labels"];
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== "string"))
    throw new UnprocessablePayloadError("workflow_job.labels", "must be an array of strings");

  const event: JobEvent = {
    version: JOB_EVENT_VERSION,
    deliveryId,
    action,
    job: {
      id: integer(job, "id", "workflow_job."),
      runId: integer(job, "run_id", "workflow_job."),
      runAttempt: integer(job, "run_attempt", "workflow_job."),
      name: string(job, "name", "workflow_job."),
      workflowName: optional(job, "workflow_name", "workflow_job.", "string"),
      labels: labels as string[],
      conclusion: optional(job, "conclusion", "workflow_job.", "string"),
      createdAt: string(job, "created_at", "workflow_job."),
      startedAt: optional(job, "started_at", "workflow_job.", "string"),
      completedAt: optional(job, "completed_at", "workflow_job.", "string"),
      htmlUrl: string(job, "html_url", "workflow_job."),
    },
    runner: {
      id: optional(job, "runner_id", "workflow_job.", "integer"),
      name: optional(job, "runner_name", "workflow_job.", "string"),
      groupId: optional(job, "runner_group_id", "workflow_job.", "integer"),
      groupName: optional(job, "runner_group_name", "workflow_job.", "string"),
    },
    repository: {
      fullName: string(repository, "full_name", "repository."),
      url: string(repository, "html_url", "repository."),
    },
    owner: {
      login: string(owner, "login", "repository.owner."),
      type: string(owner, "type", "repository.owner."),
      url: string(owner, "html_url", "repository.owner."),
    },
    installationId: installation ? integer(installation, "id", "installation.") : null,
  };
  // Values of the right type can still break the event's rules (e.g. a malformed timestamp).
  const checked = checkJobEvent(event);
  if (!checked.valid)
    throw new UnprocessablePayloadError(
      webhookField(checked.problems[0] ?? ""),
      `is invalid: ${checked.problems.join("; ")}`,
    );
  return event;
}

function object(value: unknown, field: string): Json {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new UnprocessablePayloadError(field, value === undefined ? "is required" : "must be an object");
  return value as Json;
}

function string(parent: Json, key: string, prefix: string): string {
  const value = parent[key];
  if (typeof value !== "string")
    throw new UnprocessablePayloadError(`${prefix}${key}`, value === undefined ? "is required" : "must be a string");
  return value;
}

function integer(parent: Json, key: string, prefix: string): number {
  const value = parent[key];
  if (!Number.isSafeInteger(value))
    throw new UnprocessablePayloadError(`${prefix}${key}`, value === undefined ? "is required" : "must be an integer");
  return value as number;
}

/** A nullable field: absent or null → null (GitHub leaves runner fields null until a runner takes the job). */
function optional<K extends "string" | "integer">(
  parent: Json,
  key: string,
  prefix: string,
  kind: K,
): (K extends "string" ? string : number) | null {
  const value = parent[key];
  if (value === undefined || value === null) return null;
  const ok = kind === "string" ? typeof value === "string" : Number.isSafeInteger(value);
  if (!ok)
    throw new UnprocessablePayloadError(
      `${prefix}${key}`,
      `must be ${kind === "string" ? "a string" : "an integer"} or null`,
    );
  return value as K extends "string" ? string : number;
}

const eventToWebhook: Record<string, string> = {
  "job.id": "workflow_job.id",
  "job.runId": "workflow_job.run_id",
  "job.runAttempt": "workflow_job.run_attempt",
  "job.createdAt": "workflow_job.created_at",
  "job.startedAt": "workflow_job.started_at",
  "job.completedAt": "workflow_job.completed_at",
  "repository.fullName": "repository.full_name",
  "owner.login": "repository.owner.login",
  deliveryId: "X-GitHub-Delivery",
};

function webhookField(problem: string): string {
  const field = problem.split(" ")[0] ?? "";
  return eventToWebhook[field] ?? field;
}
