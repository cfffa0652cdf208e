// ajv validators compiled from the same resolved schemas the CRDs carry, so that code outside the
// apiserver (the webhook's tests, the controller's inputs) checks objects as the apiserver would.

import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import type { ApiVersionName } from "./constants.ts";
import { resolvedSchema } from "./crd.ts";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export interface SchemaViolation {
  /** Field path in the apiserver's style, e.g. `spec.template.spec.url`. */
  field: string;
  message: string;
}

type Kind = "Runner" | "RunnerSet";

let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

function instance(): Ajv {
  if (ajv) return ajv;
  ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictTuples: false });
  addFormats(ajv);
  ajv.addVocabulary([
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-map-type",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-validations",
  ]);
  ajv.addFormat("int32", {
    type: "number",
    validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat("float", { type: "number", validate: () => true });
  ajv.addFormat("double", { type: "number", validate: () => true });
  ajv.addFormat("byte", /^[A-Za-z0-9+/]*={0,2}$/);
  return ajv;
}

function validatorFor(kind: Kind, version: ApiVersionName): ValidateFunction {
  const key = `${kind}/${version}`;
  let validate = compiled.get(key);
  if (!validate) {
    validate = instance().compile(resolvedSchema(kind, version));
    compiled.set(key, validate);
  }
  return validate;
}

/** Schema violations of `object` as a `kind` in `version` (empty when valid). */
export function schemaViolations(kind: Kind, version: ApiVersionName, object: unknown): SchemaViolation[] {
  const validate = validatorFor(kind, version);
  if (validate(object)) return [];
  return (validate.errors ?? []).map(toViolation);
}

function toViolation(error: ErrorObject): SchemaViolation {
  const segments = error.instancePath
    .split("/")
    .slice(1)
    .map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"));
  let field = "";
  for (const segment of segments) field += /^\d+$/.test(segment) ? `[${segment}]` : field ? `.${segment}` : segment;
  if (error.keyword === "required") {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    field = field ? `${field}.${missing}` : missing;
    return { field, message: "Required value" };
  }
  return { field: field || "<root>", message: error.message ?? error.keyword };
}
