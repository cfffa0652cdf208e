// The subset of OpenAPI v3 / JSON Schema that a structural CRD schema may use, plus `$ref` to a
// Kubernetes definition (resolved by inlining before the schema leaves this package).

export interface Schema {
  $ref?: string;
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  anyOf?: Schema[];
  nullable?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-map-type"?: "atomic" | "granular";
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-validations"?: ValidationRule[];
}

/** A CEL rule the apiserver checks on the node that carries it (`self`; `oldSelf` on update). */
export interface ValidationRule {
  rule: string;
  message: string;
  /** Where the error points, relative to the node (e.g. `.group`); the node itself when absent. */
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
}

/** Names given to object schemas, for the TypeScript types generated from them. */
const typeNames = new WeakMap<Schema, string>();

/** Marks a schema as the definition of the named TypeScript type. */
export function named<S extends Schema>(name: string, schema: S): S {
  typeNames.set(schema, name);
  return schema;
}

export function typeNameOf(schema: Schema): string | undefined {
  return typeNames.get(schema);
}

/** TypeScript types written by hand (in src/) for schemas that leave them open, e.g. `metadata`. */
const handWrittenTypes = new WeakMap<Schema, { name: string; from: string }>();

/** Marks a schema as typed by the hand-written TypeScript type `name`, exported from the module `from`. */
export function handWritten<S extends Schema>(name: string, from: string, schema: S): S {
  handWrittenTypes.set(schema, { name, from });
  return schema;
}

export function handWrittenTypeOf(schema: Schema): { name: string; from: string } | undefined {
  return handWrittenTypes.get(schema);
}

export function object(
  description: string,
  properties: Record<string, Schema>,
  extra: Omit<Schema, "type" | "properties" | "description"> = {},
): Schema {
  return { type: "object", description, properties, ...extra };
}

export function string(description: string, extra: Omit<Schema, "type" | "description"> = {}): Schema {
  return { type: "string", description, ...extra };
}

export function int32(description: string, extra: Omit<Schema, "type" | "format" | "description"> = {}): Schema {
  return { type: "integer", format: "int32", description, ...extra };
}

export function int64(description: string, extra: Omit<Schema, "type" | "format" | "description"> = {}): Schema {
  return { type: "integer", format: "int64", description, ...extra };
}

export function dateTime(description: string): Schema {
  return { type: "string", format: "date-time", description };
}

export function array(description: string, items: Schema, extra: Omit<Schema, "type" | "items"> = {}): Schema {
  return { type: "array", description, items, ...extra };
}

export function stringMap(description: string): Schema {
  return { type: "object", description, additionalProperties: { type: "string" } };
}

/** A Kubernetes type by its OpenAPI definition name, e.g. `io.k8s.api.core.v1.Affinity`. */
export function kubernetes(definition: string, description: string): Schema {
  return { $ref: definition, description };
}
