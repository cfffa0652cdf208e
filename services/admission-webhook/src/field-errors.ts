// Field errors in the apiserver's own shape: a StatusCause per field, and the Status of a denial
// (reason Invalid, code 422, message `<Kind>.<group> "<name>" is invalid: <field>: <detail>`).

import { API_GROUP } from "@octorun/api";
import type { Status, StatusCause } from "./admission-review.ts";

export type FieldError = StatusCause;

export function invalid(field: string, value: unknown, detail: string): FieldError {
  return { type: "FieldValueInvalid", field, message: `Invalid value: ${JSON.stringify(value)}: ${detail}` };
}

export function forbidden(field: string, detail: string): FieldError {
  return { type: "FieldValueForbidden", field, message: `Forbidden: ${detail}` };
}

export function required(field: string, detail: string): FieldError {
  return { type: "FieldValueRequired", field, message: `Required value: ${detail}` };
}

export function notSupported(field: string, value: unknown, supported: readonly string[]): FieldError {
  const list = supported.map((entry) => JSON.stringify(entry)).join(", ");
  return {
    type: "FieldValueNotSupported",
    field,
    message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${list}`,
  };
}

/** The Status the apiserver itself would return for these errors. */
export function invalidStatus(kind: string, name: string | undefined, errors: FieldError[]): Status {
  const described = errors.map((error) => `${error.field}: ${error.message}`);
  const list = described.length === 1 ? described[0] : `[${described.join(", ")}]`;
  return {
    status: "Failure",
    code: 422,
    reason: "Invalid",
    message: `${kind}.${API_GROUP} ${JSON.stringify(name ?? "")} is invalid: ${list}`,
    details: { name: name ?? "", group: API_GROUP, kind, causes: errors },
  };
}
