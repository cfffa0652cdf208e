// GitHub's REST description (the committed subset of @octokit/openapi, see
// scripts/extract-github-openapi.ts): routes keyed by operation id, and ajv validators for request
// bodies, query parameters and responses. The simulator checks every request it accepts and
// every response it sends with these.
import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

type Json = Record<string, unknown>;
interface Document {
  file: string;
  openapi: string;
  paths: Record<string, Record<string, Json>>;
  components: Record<string, Record<string, Json>>;
}
export interface OpenApiSubsetFile {
  package: string;
  version: string;
  documents: Record<string, Document>;
}

export interface Route {
  operationId: string;
  method: string;
  /** The OpenAPI path template, e.g. `/orgs/{org}/actions/runners/{runner_id}`. */
  template: string;
  document: string;
  pattern: RegExp;
  params: string[];
}

export interface Validation {
  valid: boolean;
  errors: string[];
}

const subsetUrl = new URL("./openapi-subset.json", import.meta.url);

export class OpenApiCatalog {
  readonly source: { package: string; version: string };
  readonly routes: Route[] = [];
  private readonly subset: OpenApiSubsetFile;
  private readonly ajv: Ajv;
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(subset: OpenApiSubsetFile = JSON.parse(readFileSync(subsetUrl, "utf8")) as OpenApiSubsetFile) {
    this.subset = subset;
    this.source = { package: subset.package, version: subset.version };
    this.ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(this.ajv);
    for (const [name, doc] of Object.entries(subset.documents)) {
      this.ajv.addSchema({ $id: `gh-${name}`, components: openApiToJsonSchema(doc.components) });
      for (const [template, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) {
          const params: string[] = [];
          const source = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{([^}]+)\}/g, (_m, p: string) => {
            params.push(p);
            return "([^/]+)";
          });
          this.routes.push({
            operationId: op.operationId as string,
            method: method.toUpperCase(),
            template,
            document: name,
            pattern: new RegExp(`^${source}$`),
            params,
          });
        }
      }
    }
    // Literal segments win over parameters (`/runners/generate-jitconfig` before `/runners/{runner_id}`).
    this.routes.sort(
      (a, b) => b.template.replace(/\{[^}]+\}/g, "").length - a.template.replace(/\{[^}]+\}/g, "").length,
    );
  }

  /** The route for a method and path (relative to the API base), with its path parameters. */
  match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      route.params.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1] ?? "");
      });
      return { route, params };
    }
    return undefined;
  }

  /** True when some route has this path with another method (for 404 versus 405-ish answers). */
  operation(operationId: string): { route: Route; op: Json } {
    const route = this.routes.find((r) => r.operationId === operationId);
    if (!route) throw new Error(`operation ${operationId} is not in the OpenAPI subset`);
    const op = this.doc(route).paths[route.template]?.[route.method.toLowerCase()] as Json;
    return { route, op };
  }

  /** GitHub's published example for a component (`components.examples[name].value`), deep-copied. */
  example(document: string, name: string): Json {
    const example = this.subset.documents[document]?.components.examples?.[name] as { value?: Json } | undefined;
    if (!example?.value) throw new Error(`no example ${name} in ${document}`);
    return structuredClone(example.value);
  }

  validateRequestBody(operationId: string, body: unknown): Validation {
    const { route, op } = this.operation(operationId);
    const requestBody = this.deref(route.document, op.requestBody) as Json | undefined;
    if (!requestBody) {
      return body === undefined ? ok : { valid: false, errors: ["/ this operation takes no request body"] };
    }
    if (body === undefined) {
      return requestBody.required ? { valid: false, errors: ["/ the request body is required"] } : ok;
    }
    const schema = (requestBody.content as Record<string, { schema: unknown }>)["application/json"]?.schema;
    return this.run(`${operationId} request`, route.document, schema, body);
  }

  /** Checks query parameters that the operation declares (coerced from strings), and rejects unknown ones. */
  validateQuery(operationId: string, query: URLSearchParams): Validation {
    const { route, op } = this.operation(operationId);
    const declared = new Map<string, unknown>();
    for (const raw of (op.parameters as unknown[] | undefined) ?? []) {
      const p = this.deref(route.document, raw) as { name: string; in: string; schema: unknown };
      if (p.in === "query") declared.set(p.name, p.schema);
    }
    const errors: string[] = [];
    for (const [name, value] of query) {
      const schema = declared.get(name);
      if (schema === undefined) {
        errors.push(`?${name} is not a parameter of ${operationId}`);
        continue;
      }
      const type = (schema as { type?: string }).type;
      const coerced =
        type === "integer" || type === "number" ? Number(value) : type === "boolean" ? value === "true" : value;
      const result = this.run(`${operationId} ?${name}`, route.document, schema, coerced);
      errors.push(...result.errors.map((e) => `?${name}${e.slice(1)}`));
    }
    return errors.length === 0 ? ok : { valid: false, errors };
  }

  /**
   * Checks a response against the operation's description for that status. An error status the
   * operation does not list (GitHub sends 401/403/429/5xx from anywhere) must be a `basic-error`;
   * an undocumented success status is itself a violation.
   */
  validateResponse(operationId: string, status: number, body: unknown): Validation {
    const { route, op } = this.operation(operationId);
    const responses = op.responses as Record<string, unknown>;
    const documented = this.deref(route.document, responses[String(status)]) as Json | undefined;
    if (!documented) {
      if (status >= 400)
        return this.run("basic-error", route.document, { $ref: "#/components/schemas/basic-error" }, body);
      return { valid: false, errors: [`/ status ${status} is not a documented response of ${operationId}`] };
    }
    const content = documented.content as Record<string, { schema: unknown }> | undefined;
    const schema = content?.["application/json"]?.schema;
    if (schema === undefined) {
      return body === undefined ? ok : { valid: false, errors: [`/ status ${status} of ${operationId} has no body`] };
    }
    if (body === undefined) return { valid: false, errors: [`/ status ${status} of ${operationId} needs a JSON body`] };
    return this.run(`${operationId} ${status}`, route.document, schema, body);
  }

  private doc(route: Route): Document {
    const doc = this.subset.documents[route.document];
    if (!doc) throw new Error(`no document ${route.document}`);
    return doc;
  }

  private deref(document: string, node: unknown): unknown {
    let current = node;
    for (let i = 0; i < 10 && current && typeof current === "object" && "$ref" in current; i++) {
      const ref = (current as { $ref: string }).$ref;
      const [, , kind, name] = ref.split("/");
      current = this.subset.documents[document]?.components[kind ?? ""]?.[name ?? ""];
    }
    return current;
  }

  private run(key: string, document: string, schema: unknown, value: unknown): Validation {
    const cacheKey = `${document} ${key}`;
    let validate = this.cache.get(cacheKey);
    if (!validate) {
      const fixed = JSON.parse(
        JSON.stringify(openApiToJsonSchema(schema)).replace(/"#\/components\//g, `"gh-${document}#/components/`),
      );
      validate = this.ajv.compile(fixed);
      this.cache.set(cacheKey, validate);
    }
    if (validate(value)) return ok;
    return { valid: false, errors: (validate.errors ?? []).map(describe) };
  }
}

const ok: Validation = { valid: true, errors: [] };

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const extra = error.keyword === "additionalProperties" ? ` (${String(params.additionalProperty)})` : "";
  return `${error.instancePath || "/"} ${error.message ?? "is invalid"}${extra}`;
}

/**
 * OpenAPI 3.0's `nullable: true` is not JSON Schema: ajv accepts it only beside a `type`. Turn it
 * into `type: [T, "null"]` (adding `null` to an `enum`), or `anyOf: [schema, {type: "null"}]`
 * where the schema has no `type` (e.g. a nullable `allOf`).
 */
export function openApiToJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(openApiToJsonSchema);
  if (typeof node !== "object" || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    // Examples are data, not schemas.
    out[key] = key === "example" || key === "examples" ? value : openApiToJsonSchema(value);
  }
  if (out.nullable !== true) return out;
  delete out.nullable;
  if (typeof out.type === "string") {
    out.type = [out.type, "null"];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  return { anyOf: [out, { type: "null" }] };
}
