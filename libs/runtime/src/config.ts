import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject } from "ajv";
import addFormatsModule from "ajv-formats";
import { ConfigError } from "./errors.ts";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** One setting: its JSON Schema plus how it is read. Property names are environment variable names. */
export interface SettingSchema {
  type?: "string" | "integer" | "number" | "boolean" | "array";
  description: string;
  /** Read from `<NAME>_FILE` when that is set (mounted secrets); the value is registered for redaction. */
  secret?: boolean;
  default?: unknown;
  [keyword: string]: unknown;
}

export interface ConfigSchema {
  properties: Record<string, SettingSchema>;
  required?: readonly string[];
}

export interface LoadedConfig<T> {
  values: T;
  /** Every secret value that was loaded, for the logger's redaction. */
  secretValues: string[];
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  readFile?: (path: string) => string;
}

/** Settings every service has; a service's own schema is merged over them. */
export const commonSettings: ConfigSchema = {
  properties: {
    LOG_LEVEL: {
      type: "string",
      enum: ["error", "warn", "info", "debug"],
      default: "info",
      description: "log level",
    },
    HEALTH_HOST: { type: "string", default: "0.0.0.0", description: "address for /healthz, /readyz and /metrics" },
    HEALTH_PORT: {
      type: "integer",
      minimum: 0,
      maximum: 65535,
      default: 8081,
      description: "port for /healthz, /readyz and /metrics",
    },
    SHUTDOWN_DEADLINE_MS: {
      type: "integer",
      minimum: 0,
      default: 25000,
      description: "how long graceful shutdown may take before the process exits anyway",
    },
  },
};

export function mergeSchemas(...schemas: ConfigSchema[]): ConfigSchema {
  return {
    properties: Object.assign({}, ...schemas.map((s) => s.properties)),
    required: schemas.flatMap((s) => s.required ?? []),
  };
}

/**
 * Reads the settings named by the schema from the environment (and `<NAME>_FILE` for secrets),
 * converts and checks them with ajv, and throws a ConfigError naming every bad variable.
 */
export function loadConfig<T>(schema: ConfigSchema, options: LoadConfigOptions = {}): LoadedConfig<T> {
  const env = options.env ?? process.env;
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const raw: Record<string, unknown> = {};
  const secretValues: string[] = [];
  const problems: string[] = [];

  for (const [name, setting] of Object.entries(schema.properties)) {
    let value: string | undefined = env[name];
    const fileVariable = `${name}_FILE`;
    if (value === undefined && setting.secret && env[fileVariable]) {
      try {
        value = readFile(env[fileVariable]).trim();
      } catch (error) {
        problems.push(`${fileVariable} names a file that cannot be read (${(error as NodeJS.ErrnoException).code})`);
        continue;
      }
    }
    if (value === undefined || value === "") continue;
    if (setting.secret) secretValues.push(...(setting.type === "array" ? splitList(value) : [value]));
    raw[name] = setting.type === "array" ? splitList(value) : value;
  }

  const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile({
    type: "object",
    properties: stripOwnKeywords(schema.properties),
    required: [...(schema.required ?? [])],
  });
  if (!validate(raw)) problems.push(...(validate.errors ?? []).map((error) => describe(error, schema)));
  if (problems.length > 0) throw new ConfigError(problems);
  return { values: raw as T, secretValues };
}

function splitList(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function stripOwnKeywords(properties: Record<string, SettingSchema>): Record<string, object> {
  return Object.fromEntries(
    Object.entries(properties).map(([name, { secret: _secret, description: _description, ...rest }]) => [name, rest]),
  );
}

function describe(error: ErrorObject, schema: ConfigSchema): string {
  if (error.keyword === "required") {
    const name = (error.params as { missingProperty: string }).missingProperty;
    const setting = schema.properties[name];
    const fileHint = setting?.secret ? ` (or ${name}_FILE)` : "";
    return `${name}${fileHint} is required: ${setting?.description ?? "no description"}`;
  }
  const name = error.instancePath.replace(/^\//, "").split("/")[0] ?? "?";
  // Never echo a value back: it may be a secret.
  return `${name} ${error.message ?? "is invalid"}`;
}
