// The admission handlers: AdmissionRequest → AdmissionResponse, pure. The HTTP shell routes each
// endpoint here with the kind it serves.

import { API_GROUP, type ApiVersionName, V1ALPHA1, V1ALPHA2 } from "@octorun/api";
import type { AdmissionRequest, AdmissionResponse } from "./admission-review.ts";
import { applyRunnerDefaults, applyRunnerSetDefaults } from "./defaults.ts";
import { BadRequestError } from "./errors.ts";
import { invalidStatus } from "./field-errors.ts";
import { jsonPatch } from "./json-patch.ts";
import { type ValidationPolicy, validateRunner, validateRunnerSet } from "./validation.ts";

export type ReviewedKind = "Runner" | "RunnerSet";
export type ReviewMode = "mutate" | "validate";

/** Checks that the request is for the endpoint's kind, in a version octorun serves. */
export function checkRequestKind(request: AdmissionRequest, kind: ReviewedKind): ApiVersionName {
  const { group, version, kind: requestKind } = request.kind;
  if (group !== API_GROUP || requestKind !== kind) {
    throw new BadRequestError(400, `this endpoint reviews ${kind}.${API_GROUP}, not ${requestKind}.${group || "core"}`);
  }
  if (version !== V1ALPHA1 && version !== V1ALPHA2) {
    throw new BadRequestError(
      400,
      `unsupported version ${JSON.stringify(version)} of ${kind}; served: ${V1ALPHA2}, ${V1ALPHA1}`,
    );
  }
  return version;
}

export function mutate(request: AdmissionRequest, kind: ReviewedKind, version: ApiVersionName): AdmissionResponse {
  const operation = request.operation;
  const original = request.object;
  if ((operation !== "CREATE" && operation !== "UPDATE") || !original) return { uid: request.uid, allowed: true };
  // A review's object is plain JSON: a JSON round trip copies it faster than structuredClone.
  const copy = JSON.parse(JSON.stringify(original)) as Record<string, unknown>;
  if (kind === "Runner") applyRunnerDefaults(copy, { version, operation });
  else applyRunnerSetDefaults(copy, { version, operation });
  const patch = jsonPatch(original, copy);
  if (patch.length === 0) return { uid: request.uid, allowed: true };
  return {
    uid: request.uid,
    allowed: true,
    patchType: "JSONPatch",
    patch: Buffer.from(JSON.stringify(patch)).toString("base64"),
  };
}

export function validate(request: AdmissionRequest, kind: ReviewedKind, policy: ValidationPolicy): AdmissionResponse {
  if (request.operation !== "CREATE" && request.operation !== "UPDATE") return { uid: request.uid, allowed: true };
  const errors = kind === "Runner" ? validateRunner(request, policy) : validateRunnerSet(request, policy);
  if (errors.length === 0) return { uid: request.uid, allowed: true };
  const name =
    request.name ||
    ((request.object?.["metadata"] as Record<string, unknown> | undefined)?.["name"] as string | undefined);
  return { uid: request.uid, allowed: false, status: invalidStatus(kind, name, errors) };
}

/** The response for a handler that threw: a denial that says so, never a crash. */
export function internalErrorResponse(uid: string, error: unknown): AdmissionResponse {
  const message = error instanceof Error ? error.message : String(error);
  return {
    uid,
    allowed: false,
    status: {
      status: "Failure",
      code: 500,
      reason: "InternalError",
      message: `the octorun admission webhook failed to review the request: ${message}`,
    },
  };
}
