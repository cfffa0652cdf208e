import type { ConfigSchema } from "@octorun/runtime";
import type { BusConnectionOptions } from "./connection.ts";
import { serviceInbox } from "./permissions.ts";
import type { JobStreamLimits } from "./stream.ts";

/** NATS settings every service that talks to the bus merges into its own configuration schema. */
export const busSettings: ConfigSchema = {
  properties: {
    NATS_URL: {
      type: "array",
      items: { type: "string", pattern: "^(nats|tls|wss?)://" },
      minItems: 1,
      description: "comma-separated NATS server URLs, e.g. nats://nats:4222",
    },
    NATS_USER: { type: "string", description: "this service's own NATS user" },
    NATS_PASSWORD: { type: "string", secret: true, description: "the NATS user's password" },
    NATS_TOKEN: { type: "string", secret: true, description: "a NATS token (instead of user and password)" },
    NATS_CREDS_FILE: { type: "string", description: "a NATS .creds file (JWT and NKey seed) for this service" },
    NATS_TLS_CA_FILE: { type: "string", description: "CA bundle that signed the NATS server certificate" },
    NATS_TLS_CERT_FILE: { type: "string", description: "client certificate for NATS mutual TLS" },
    NATS_TLS_KEY_FILE: { type: "string", description: "private key of the client certificate" },
    NATS_NAME: { type: "string", description: "connection name shown by the NATS server (default: the service name)" },
  },
  required: ["NATS_URL"],
};

/** Limits of the job stream; only services that declare the stream read them. */
export const jobStreamSettings: ConfigSchema = {
  properties: {
    JOB_STREAM_MANAGE: {
      type: "boolean",
      default: true,
      description:
        "create or update the job stream at start-up (false: only require that it exists; its NATS user then needs no stream rights)",
    },
    JOB_STREAM_MAX_AGE_SECONDS: {
      type: "integer",
      minimum: 0,
      default: 7 * 24 * 3600,
      description: "how long job events are kept (0: no limit)",
    },
    JOB_STREAM_MAX_BYTES: { type: "integer", minimum: -1, default: -1, description: "stream size limit (-1: none)" },
    JOB_STREAM_MAX_MESSAGES: { type: "integer", minimum: -1, default: -1, description: "message limit (-1: none)" },
    JOB_STREAM_DUPLICATE_WINDOW_SECONDS: {
      type: "integer",
      minimum: 600,
      default: 3600,
      description: "how long a delivery id is remembered to drop a redelivered webhook (at least 600)",
    },
    JOB_STREAM_REPLICAS: { type: "integer", minimum: 1, maximum: 5, default: 1, description: "stream replicas" },
  },
};

export interface BusConfig {
  NATS_URL: string[];
  NATS_USER?: string;
  NATS_PASSWORD?: string;
  NATS_TOKEN?: string;
  NATS_CREDS_FILE?: string;
  NATS_TLS_CA_FILE?: string;
  NATS_TLS_CERT_FILE?: string;
  NATS_TLS_KEY_FILE?: string;
  NATS_NAME?: string;
}

export interface JobStreamConfig {
  JOB_STREAM_MANAGE: boolean;
  JOB_STREAM_MAX_AGE_SECONDS: number;
  JOB_STREAM_MAX_BYTES: number;
  JOB_STREAM_MAX_MESSAGES: number;
  JOB_STREAM_DUPLICATE_WINDOW_SECONDS: number;
  JOB_STREAM_REPLICAS: number;
}

/**
 * Connection options from the checked configuration. Replies come to the service's own inbox
 * (`serviceInbox(serviceName)`), whatever NATS_NAME says: its NATS user is allowed that one only.
 */
export function busConnectionOptions(config: BusConfig, serviceName: string): BusConnectionOptions {
  return {
    servers: config.NATS_URL,
    name: config.NATS_NAME ?? serviceName,
    inboxPrefix: serviceInbox(serviceName),
    ...(config.NATS_USER !== undefined ? { user: config.NATS_USER } : {}),
    ...(config.NATS_PASSWORD !== undefined ? { password: config.NATS_PASSWORD } : {}),
    ...(config.NATS_TOKEN !== undefined ? { token: config.NATS_TOKEN } : {}),
    ...(config.NATS_CREDS_FILE !== undefined ? { credsFile: config.NATS_CREDS_FILE } : {}),
    ...(config.NATS_TLS_CA_FILE || config.NATS_TLS_CERT_FILE
      ? {
          tls: {
            ...(config.NATS_TLS_CA_FILE ? { caFile: config.NATS_TLS_CA_FILE } : {}),
            ...(config.NATS_TLS_CERT_FILE ? { certFile: config.NATS_TLS_CERT_FILE } : {}),
            ...(config.NATS_TLS_KEY_FILE ? { keyFile: config.NATS_TLS_KEY_FILE } : {}),
          },
        }
      : {}),
  };
}

/** Stream limits from the checked configuration. */
export function jobStreamLimits(config: JobStreamConfig): JobStreamLimits {
  return {
    maxAgeMs: config.JOB_STREAM_MAX_AGE_SECONDS * 1000,
    maxBytes: config.JOB_STREAM_MAX_BYTES,
    maxMessages: config.JOB_STREAM_MAX_MESSAGES,
    duplicateWindowMs: config.JOB_STREAM_DUPLICATE_WINDOW_SECONDS * 1000,
    replicas: config.JOB_STREAM_REPLICAS,
  };
}
