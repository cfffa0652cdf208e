// Turns the definitions of a kube-apiserver's OpenAPI v3 document into structural, CRD-ready
// schemas: what controller-gen does for embedded Kubernetes types, from the real server's document.

import type { Schema } from "./json-schema.ts";
import type { KubernetesSnapshot } from "./kubernetes.ts";

/** The Kubernetes types the octorun API embeds. */
export const EMBEDDED_KUBERNETES_TYPES = [
  "io.k8s.api.core.v1.Affinity",
  "io.k8s.api.core.v1.LocalObjectReference",
  "io.k8s.api.core.v1.ResourceRequirements",
  "io.k8s.api.core.v1.SecurityContext",
  "io.k8s.api.core.v1.Toleration",
  "io.k8s.api.core.v1.Volume",
  "io.k8s.api.core.v1.VolumeMount",
  "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
] as const;

const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const TIME = "io.k8s.apimachinery.pkg.apis.meta.v1.Time";

// controller-gen's pattern for resource.Quantity.
const QUANTITY_PATTERN =
  "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";

// Formats a CRD schema understands; others (e.g. "int-or-string") are dropped.
const KNOWN_FORMATS = new Set(["int32", "int64", "float", "double", "byte", "date", "date-time", "password"]);

// Kept keys. Dropped on purpose: `default` (the Pod the controller creates is defaulted by the
// apiserver itself; OpenAPI defaults such as `{}` on objects with required fields are invalid
// CRD defaults) and `enum` (the OpenAPI enums omit values the apiserver accepts, e.g. a
// Toleration's empty effect); the Pod is validated natively when it is created.
const KEPT_KEYS = new Set([
  "type",
  "format",
  "description",
  "properties",
  "additionalProperties",
  "items",
  "required",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
]);

type OpenApiDocument = { components?: { schemas?: Record<string, Record<string, unknown>> } };

export class SnapshotError extends Error {
  override name = "SnapshotError";
}

/** The embedded types and everything they refer to, as structural schemas. */
export function snapshotFromOpenApi(documents: OpenApiDocument[], source: string): KubernetesSnapshot {
  const all: Record<string, Record<string, unknown>> = {};
  for (const document of documents) Object.assign(all, document.components?.schemas ?? {});
  const definitions: Record<string, Schema> = {};
  const queue: string[] = [...EMBEDDED_KUBERNETES_TYPES];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (definitions[name]) continue;
    const raw = all[name];
    if (!raw) throw new SnapshotError(`the apiserver's OpenAPI document has no definition ${name}`);
    definitions[name] = convert(raw, name, (ref) => queue.push(ref));
  }
  const sorted = Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => a.localeCompare(b)));
  return { source, definitions: sorted };
}

function convert(raw: Record<string, unknown>, path: string, refer: (name: string) => void): Schema {
  // `allOf: [{$ref}]` is how OpenAPI v3 attaches a description or default to a reference.
  const allOf = raw["allOf"] as Record<string, unknown>[] | undefined;
  if (allOf) {
    if (allOf.length !== 1) throw new SnapshotError(`${path}: allOf with ${allOf.length} entries`);
    const { allOf: _ignored, ...rest } = raw;
    return convert({ ...(allOf[0] as Record<string, unknown>), ...rest }, path, refer);
  }
  const description = typeof raw["description"] === "string" ? { description: raw["description"] } : {};
  const ref = raw["$ref"];
  if (typeof ref === "string") {
    const name = ref.replace(/^#\/components\/schemas\//, "");
    switch (name) {
      case QUANTITY:
        return {
          ...description,
          anyOf: [{ type: "integer" }, { type: "string" }],
          pattern: QUANTITY_PATTERN,
          "x-kubernetes-int-or-string": true,
        };
      case INT_OR_STRING:
        return { ...description, anyOf: [{ type: "integer" }, { type: "string" }], "x-kubernetes-int-or-string": true };
      case TIME:
        return { ...description, type: "string", format: "date-time" };
      case OBJECT_META:
        // Embedded metadata (e.g. an ephemeral volume's claim template) allows labels and annotations only.
        return {
          ...description,
          type: "object",
          properties: {
            labels: { type: "object", additionalProperties: { type: "string" } },
            annotations: { type: "object", additionalProperties: { type: "string" } },
          },
        };
      default:
        refer(name);
        return { ...description, $ref: name };
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!KEPT_KEYS.has(key)) continue;
    if (key === "format" && !KNOWN_FORMATS.has(String(value))) continue;
    if (key === "properties") {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, Record<string, unknown>>).map(([name, property]) => [
          name,
          convert(property, `${path}.${name}`, refer),
        ]),
      );
    } else if (key === "items") {
      out[key] = convert(value as Record<string, unknown>, `${path}[]`, refer);
    } else if (key === "additionalProperties") {
      out[key] = typeof value === "object" ? convert(value as Record<string, unknown>, `${path}{}`, refer) : value;
    } else {
      out[key] = value;
    }
  }
  if (out["type"] === undefined) {
    throw new SnapshotError(`${path}: no type (a structural schema needs one); add a rule for it`);
  }
  return out as Schema;
}
