// AdmissionReview admission.k8s.io/v1: the request as the apiserver sends it, and the response.

import { BadRequestError } from "./errors.ts";

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
}

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  userInfo: UserInfo;
  object?: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
  dryRun?: boolean;
}

export interface StatusCause {
  type:
    | "FieldValueInvalid"
    | "FieldValueRequired"
    | "FieldValueForbidden"
    | "FieldValueNotSupported"
    | "FieldValueDuplicate";
  message: string;
  field: string;
}

/** metav1.Status as a denial carries it. */
export interface Status {
  status?: "Failure";
  code: number;
  reason?: string;
  message: string;
  details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[] };
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: Status;
  patchType?: "JSONPatch";
  /** base64 of the JSON Patch. */
  patch?: string;
  warnings?: string[];
}

export const ADMISSION_API_VERSION = "admission.k8s.io/v1";

/** The request of an AdmissionReview body, or a BadRequestError saying what is wrong with it. */
export function admissionRequestOf(body: unknown): AdmissionRequest {
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw new BadRequestError(400, "the body is not a JSON object");
  const review = body as Record<string, unknown>;
  if (review["kind"] !== "AdmissionReview" || review["apiVersion"] !== ADMISSION_API_VERSION) {
    throw new BadRequestError(
      400,
      `expected an AdmissionReview ${ADMISSION_API_VERSION}, got kind ${JSON.stringify(review["kind"])} apiVersion ${JSON.stringify(review["apiVersion"])}`,
    );
  }
  const request = review["request"] as Record<string, unknown> | undefined;
  if (!request || typeof request !== "object") throw new BadRequestError(400, "the AdmissionReview has no request");
  if (typeof request["uid"] !== "string" || request["uid"] === "")
    throw new BadRequestError(400, "request.uid is missing");
  const kind = request["kind"] as GroupVersionKind | undefined;
  if (!kind || typeof kind.kind !== "string" || typeof kind.version !== "string")
    throw new BadRequestError(400, "request.kind is missing");
  if (typeof request["operation"] !== "string") throw new BadRequestError(400, "request.operation is missing");
  return { ...(request as unknown as AdmissionRequest), userInfo: (request["userInfo"] as UserInfo | undefined) ?? {} };
}

export function admissionReview(response: AdmissionResponse): Record<string, unknown> {
  return { apiVersion: ADMISSION_API_VERSION, kind: "AdmissionReview", response };
}
