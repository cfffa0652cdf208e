// Renders TypeScript declarations from the schema source: one interface per named object schema,
// one per Kubernetes definition it references (from the committed OpenAPI snapshot).

import { handWrittenTypeOf, type Schema, typeNameOf } from "./json-schema.ts";
import { kubernetesDefinition } from "./kubernetes.ts";

interface Emitter {
  declarations: Map<string, string>;
  /** Schema objects already given a name, so that a shared schema is declared once. */
  owners: Map<string, Schema | string>;
  /** Hand-written types used, by module. */
  imports: Map<string, Set<string>>;
}

/** TypeScript source declaring the types of the given root schemas (and all they reference). */
export function renderTypes(roots: Schema[]): string {
  const emitter: Emitter = { declarations: new Map(), owners: new Map(), imports: new Map() };
  for (const root of roots) typeOf(emitter, root);
  const imports = [...emitter.imports.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([from, names]) => `import type { ${[...names].sort().join(", ")} } from "${from}";\n`);
  const names = [...emitter.declarations.keys()].sort();
  return [...imports, "", ...names.map((name) => emitter.declarations.get(name))].join("\n");
}

/** The name a Kubernetes definition gets: its last segment (`io.k8s.api.core.v1.Affinity` → `Affinity`). */
export function kubernetesTypeName(definition: string): string {
  const name = definition.slice(definition.lastIndexOf(".") + 1);
  return name === "ObjectMeta" ? "EmbeddedObjectMeta" : name;
}

function typeOf(emitter: Emitter, schema: Schema): string {
  const handWritten = handWrittenTypeOf(schema);
  if (handWritten !== undefined) {
    const names = emitter.imports.get(handWritten.from) ?? new Set<string>();
    names.add(handWritten.name);
    emitter.imports.set(handWritten.from, names);
    return handWritten.name;
  }
  if (schema.$ref !== undefined) return referenceType(emitter, schema.$ref);
  const name = typeNameOf(schema);
  if (name !== undefined) {
    declare(emitter, name, schema, () => interfaceBody(emitter, schema));
    return name;
  }
  return inlineType(emitter, schema);
}

function referenceType(emitter: Emitter, definition: string): string {
  const name = kubernetesTypeName(definition);
  const previous = emitter.owners.get(name);
  if (previous !== undefined && previous !== definition) {
    throw new Error(`two definitions would both be the TypeScript type ${name}: ${String(previous)}, ${definition}`);
  }
  if (previous === undefined) {
    emitter.owners.set(name, definition);
    emitter.declarations.set(name, ""); // reserve before recursing (definitions may refer to each other)
    const schema = kubernetesDefinition(definition);
    emitter.declarations.set(name, render(name, schema, interfaceOrAlias(emitter, schema)));
  }
  return name;
}

function declare(emitter: Emitter, name: string, schema: Schema, body: () => string): void {
  const previous = emitter.owners.get(name);
  if (previous !== undefined) {
    // The same name from two versions' builders must describe the same shape.
    if (previous !== schema && JSON.stringify(previous) !== JSON.stringify(schema)) {
      throw new Error(`the schema name ${name} is used for two different schemas`);
    }
    return;
  }
  emitter.owners.set(name, schema);
  emitter.declarations.set(name, "");
  emitter.declarations.set(name, render(name, schema, body()));
}

function render(name: string, schema: Schema, body: string): string {
  const doc = schema.description ? `${comment(schema.description, "")}\n` : "";
  return body.startsWith("{") ? `${doc}export interface ${name} ${body}\n` : `${doc}export type ${name} = ${body};\n`;
}

function interfaceOrAlias(emitter: Emitter, schema: Schema): string {
  return schema.type === "object" && schema.properties ? interfaceBody(emitter, schema) : inlineType(emitter, schema);
}

function interfaceBody(emitter: Emitter, schema: Schema): string {
  const required = new Set(schema.required ?? []);
  const lines = Object.entries(schema.properties ?? {}).map(([key, property]) => {
    const doc = property.description ? `${comment(property.description, "  ")}\n` : "";
    const optional = required.has(key) ? "" : "?";
    return `${doc}  ${safeKey(key)}${optional}: ${typeOf(emitter, property)};`;
  });
  return `{\n${lines.join("\n")}\n}`;
}

function inlineType(emitter: Emitter, schema: Schema): string {
  if (schema["x-kubernetes-int-or-string"]) return "number | string";
  if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(" | ");
  switch (schema.type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "array":
      return `Array<${schema.items ? typeOf(emitter, schema.items) : "unknown"}>`;
    case "object": {
      if (schema.properties) {
        const body = interfaceBody(emitter, schema);
        return body.replace(/\n/g, "\n  ").replace(/\n {2}}$/, "\n}");
      }
      const values = schema.additionalProperties;
      if (values && typeof values === "object") return `Record<string, ${typeOf(emitter, values)}>`;
      return "Record<string, unknown>";
    }
    default:
      return "unknown";
  }
}

function safeKey(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key);
}

function comment(text: string, indent: string): string {
  const clean = text.replace(/\*\//g, "* /").trim();
  const lines = clean.split("\n");
  if (lines.length === 1) return `${indent}/** ${lines[0]} */`;
  return `${indent}/**\n${lines.map((line) => `${indent} * ${line}`.trimEnd()).join("\n")}\n${indent} */`;
}
