import { type BusConfig, busSettings, type JobStreamConfig, jobStreamSettings } from "@octorun/bus";
import { type ConfigSchema, mergeSchemas } from "@octorun/runtime";

export const ingressSettings: ConfigSchema = mergeSchemas(busSettings, jobStreamSettings, {
  properties: {
    WEBHOOK_SECRET: {
      type: "string",
      secret: true,
      description: "the secret set on the GitHub webhook (or App); signatures are checked against it",
    },
    WEBHOOK_PREVIOUS_SECRETS: {
      type: "array",
      items: { type: "string" },
      secret: true,
      description: "comma-separated secrets still accepted while a new WEBHOOK_SECRET is rolled out",
    },
    WEBHOOK_PATH: {
      type: "string",
      pattern: "^/",
      default: "/api/github/webhooks",
      description: "URL path that receives webhooks",
    },
    HTTP_HOST: { type: "string", default: "0.0.0.0", description: "address for webhooks" },
    HTTP_PORT: { type: "integer", minimum: 0, maximum: 65535, default: 8080, description: "port for webhooks" },
    MAX_BODY_BYTES: {
      type: "integer",
      minimum: 1024,
      maximum: 26214400,
      default: 1048576,
      description: "largest accepted body (a workflow_job payload is about 10 KB; GitHub caps payloads at 25 MB)",
    },
    PUBLISH_TIMEOUT_MS: {
      type: "integer",
      minimum: 100,
      maximum: 9000,
      default: 5000,
      description: "how long to wait for JetStream to acknowledge a store before answering 503 (GitHub waits 10 s)",
    },
    RETRY_AFTER_SECONDS: { type: "integer", minimum: 1, default: 10, description: "Retry-After of a 503 answer" },
  },
  required: ["WEBHOOK_SECRET"],
});

export interface IngressConfig extends BusConfig, JobStreamConfig {
  WEBHOOK_SECRET: string;
  WEBHOOK_PREVIOUS_SECRETS?: string[];
  WEBHOOK_PATH: string;
  HTTP_HOST: string;
  HTTP_PORT: number;
  MAX_BODY_BYTES: number;
  PUBLISH_TIMEOUT_MS: number;
  RETRY_AFTER_SECONDS: number;
}
