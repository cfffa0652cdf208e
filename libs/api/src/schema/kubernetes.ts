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

export interface InlineOptions {
  /**
   * Keep the descriptions inside inlined Kubernetes definitions (default true). The served-only
   * version drops them: with them both CRDs exceed the 256 KiB that client-side
   * `kubectl apply` can store in its last-applied annotation.
   */
  kubernetesDescriptions?: boolean;
}

/**
 * The schema with every `$ref` replaced by a deep copy of the definition (CRD schemas cannot
 * refer). What the place of use says beside the `$ref` is laid over the definition, down into its
 * properties and items: its description wins, and it can add limits, enums and CEL rules to the
 * embedded type.
 */
export function inlineReferences(schema: Schema, options: InlineOptions = {}, seen: readonly string[] = []): Schema {
  if (schema.$ref !== undefined) {
    if (seen.includes(schema.$ref))
      throw new Error(`recursive Kubernetes definition: ${[...seen, schema.$ref].join(" → ")}`);
    const { $ref, ...siteFields } = schema;
    let inlined = inlineReferences(kubernetesDefinition($ref), options, [...seen, $ref]);
    if (options.kubernetesDescriptions === false) inlined = withoutDescriptions(inlined);
    return overlay(inlined, siteFields);
  }
  const out: Schema = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([key, value]) => [key, inlineReferences(value, options, seen)]),
    );
  }
  if (schema.items) out.items = inlineReferences(schema.items, options, seen);
  if (schema.additionalProperties && typeof schema.additionalProperties === "object") {
    out.additionalProperties = inlineReferences(schema.additionalProperties, options, seen);
  }
  if (schema.anyOf) out.anyOf = schema.anyOf.map((entry) => inlineReferences(entry, options, seen));
  return out;
}

function overlay(base: Schema, over: Schema): Schema {
  const out: Schema = { ...base, ...over };
  if (base.properties && over.properties) {
    out.properties = { ...base.properties };
    for (const [key, value] of Object.entries(over.properties)) {
      const underneath = base.properties[key];
      if (!underneath) throw new Error(`overlay names ${key}, which the Kubernetes definition does not have`);
      out.properties[key] = overlay(underneath, value);
    }
  }
  if (base.items && over.items) out.items = overlay(base.items, over.items);
  if (typeof base.additionalProperties === "object" && typeof over.additionalProperties === "object") {
    out.additionalProperties = overlay(base.additionalProperties, over.additionalProperties);
  }
  return out;
}

function withoutDescriptions(schema: Schema): Schema {
  const { description: _dropped, ...out } = schema;
  if (schema.properties) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([key, value]) => [key, withoutDescriptions(value)]),
    );
  }
  if (schema.items) out.items = withoutDescriptions(schema.items);
  if (schema.additionalProperties && typeof schema.additionalProperties === "object") {
    out.additionalProperties = withoutDescriptions(schema.additionalProperties);
  }
  if (schema.anyOf) out.anyOf = schema.anyOf.map(withoutDescriptions);
  return out;
}
