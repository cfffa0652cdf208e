import type { JobEvent } from "@octorun/bus";
import { jobEventFromWebhook, UnprocessablePayloadError } from "./job-event-from-webhook.ts";
import { checkSignature } from "./signature.ts";

/** What the shell knows about a request before reading its body. */
export interface DeliveryHeaders {
  contentType: string | undefined;
  event: string | undefined;
  deliveryId: string | undefined;
  signature: string | undefined;
}

/** The result label of every answer (a bounded set, for metrics and logs). */
export type DeliveryResult =
  | "stored"
  | "duplicate"
  | "ping"
  | "ignored"
  | "unauthorized"
  | "bad_request"
  | "unsupported_media_type"
  | "too_large"
  | "unprocessable"
  | "unavailable";

export type Rejection = {
  kind: "reject";
  status: 400 | 401 | 413 | 415 | 422;
  result: DeliveryResult;
  message: string;
  signatureFailure?: "missing" | "malformed" | "mismatch";
  /** The signature was valid (the refusal concerns the verified body). */
  verified?: true;
};

export type Decision =
  | Rejection
  | { kind: "answer"; status: 200 | 202; result: "ping" | "ignored"; message: string; action?: string }
  | { kind: "publish"; event: JobEvent };

const deliveryIdPattern = /^[\x21-\x7e]{1,200}$/;

/** Checks made on the headers alone, before the body is read (cheap refusals first). */
export function checkHeaders(headers: DeliveryHeaders): Rejection | undefined {
  const mediaType = headers.contentType?.split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/json")
    return {
      kind: "reject",
      status: 415,
      result: "unsupported_media_type",
      message: `unsupported content type ${JSON.stringify(headers.contentType ?? "")}: configure the webhook's content type as application/json`,
    };
  if (!headers.event)
    return { kind: "reject", status: 400, result: "bad_request", message: "the X-GitHub-Event header is missing" };
  if (!headers.deliveryId)
    return { kind: "reject", status: 400, result: "bad_request", message: "the X-GitHub-Delivery header is missing" };
  if (!deliveryIdPattern.test(headers.deliveryId))
    return {
      kind: "reject",
      status: 400,
      result: "bad_request",
      message: "the X-GitHub-Delivery header must be 1 to 200 visible ASCII characters",
    };
  return undefined;
}

/**
 * Signed delivery → what to do with it. The signature is checked on the raw bytes first; only a
 * verified body is parsed. `workflow_job` becomes a job event to publish; `ping` is answered;
 * every other event is acknowledged and ignored.
 */
export function decideDelivery(headers: DeliveryHeaders, body: Uint8Array, secrets: readonly string[]): Decision {
  const rejected = checkHeaders(headers);
  if (rejected) return rejected;
  const signature = checkSignature(secrets, body, headers.signature);
  if (!signature.valid)
    return {
      kind: "reject",
      status: 401,
      result: "unauthorized",
      signatureFailure: signature.reason,
      message:
        signature.reason === "missing"
          ? "the X-Hub-Signature-256 header is missing: set a secret on the webhook"
          : "the X-Hub-Signature-256 signature does not match the body and the configured secret",
    };
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch (error) {
    return {
      kind: "reject",
      status: 400,
      result: "bad_request",
      verified: true,
      message: `the body is not valid JSON: ${(error as Error).message}`,
    };
  }
  if (headers.event === "ping") return { kind: "answer", status: 200, result: "ping", message: "pong" };
  if (headers.event !== "workflow_job")
    return { kind: "answer", status: 202, result: "ignored", message: `event ${headers.event} is not used by octorun` };
  try {
    const event = jobEventFromWebhook(headers.deliveryId!, payload);
    if (!event) {
      const action = (payload as { action?: unknown }).action;
      return {
        kind: "answer",
        status: 202,
        result: "ignored",
        message: `workflow_job action ${JSON.stringify(action)} is not used by octorun`,
      };
    }
    return { kind: "publish", event };
  } catch (error) {
    if (!(error instanceof UnprocessablePayloadError)) throw error;
    return {
      kind: "reject",
      status: 422,
      result: "unprocessable",
      verified: true,
      message: `workflow_job payload: ${error.message}`,
    };
  }
}
