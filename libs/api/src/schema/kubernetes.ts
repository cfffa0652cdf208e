// The Kubernetes types embedded in the octorun API (affinity, tolerations, volumes, ...), from a
// committed snapshot of a real kube-apiserver's OpenAPI v3 document (kubernetes-openapi.json,
// written by scripts/snapshot-kubernetes-schemas.ts), and the resolver that inlines them.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Schema } from "./json-schema.ts";

export interface KubernetesSnapshot {
  /** Where the definitions came from (apiserver version and documents). */
  source: string;
  /** Structural, CRD-ready definitions; references between them are `{ $ref: "<definition name>" }`. */
  definitions: Record<string, Schema>;
}

export const SNAPSHOT_PATH = join(import.meta.dirname, "kubernetes-openapi.json");

let snapshot: KubernetesSnapshot | undefined;

export function kubernetesSnapshot(): KubernetesSnapshot {
  snapshot ??= JSON.parse(readFileSync(SNAPSHOT_PATH, "utf8")) as KubernetesSnapshot;
  return snapshot;
}

export function kubernetesDefinition(name: string): Schema {
  const definition = kubernetesSnapshot().definitions[name];
  if (!definition) throw new Error(`the Kubernetes definition ${name} is not in ${SNAPSHOT_PATH}`);
  return definition;
}

/**
 * The schema with every `$ref` replaced by a deep copy of the definition (CRD schemas cannot
 * refer). The description at the place of use wins over the definition's own.
 */
export function inlineReferences(schema: Schema, seen: readonly string[] = []): Schema {
  let base: Schema = schema;
  if (schema.$ref !== undefined) {
    if (seen.includes(schema.$ref))
      throw new Error(`recursive Kubernetes definition: ${[...seen, schema.$ref].join(" → ")}`);
    const { $ref, ...siteFields } = schema;
    const inlined = inlineReferences(kubernetesDefinition($ref), [...seen, $ref]);
    return { ...inlined, ...siteFields };
  }
  const out: Schema = { ...base };
  if (base.properties) {
    out.properties = Object.fromEntries(
      Object.entries(base.properties).map(([key, value]) => [key, inlineReferences(value, seen)]),
    );
  }
  if (base.items) out.items = inlineReferences(base.items, seen);
  if (base.additionalProperties && typeof base.additionalProperties === "object") {
    out.additionalProperties = inlineReferences(base.additionalProperties, seen);
  }
  if (base.anyOf) out.anyOf = base.anyOf.map((entry) => inlineReferences(entry, seen));
  base = out;
  return base;
}
