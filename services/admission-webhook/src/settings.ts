import { enterpriseHostsSetting } from "@octorun/api";
import type { ConfigSchema } from "@octorun/runtime";

export interface WebhookConfig {
  WEBHOOK_HOST: string;
  WEBHOOK_PORT: number;
  TLS_CERT_FILE: string;
  TLS_KEY_FILE: string;
  TLS_RELOAD_INTERVAL_MS: number;
  MAX_REQUEST_BYTES: number;
  GITHUB_ENTERPRISE_HOSTS: string[];
  CONTROLLER_USERNAMES: string[];
  CONTROLLER_GROUPS: string[];
}

export const webhookSettings: ConfigSchema = {
  properties: {
    WEBHOOK_HOST: { type: "string", default: "0.0.0.0", description: "address the HTTPS webhook listens on" },
    WEBHOOK_PORT: {
      type: "integer",
      minimum: 0,
      maximum: 65535,
      default: 9443,
      description: "port the HTTPS webhook listens on",
    },
    TLS_CERT_FILE: { type: "string", minLength: 1, description: "serving certificate (PEM), reloaded when it changes" },
    TLS_KEY_FILE: {
      type: "string",
      minLength: 1,
      description: "serving certificate's private key (PEM), reloaded when it changes",
    },
    TLS_RELOAD_INTERVAL_MS: {
      type: "integer",
      minimum: 100,
      default: 10000,
      description: "how often the certificate files are checked for changes besides file-system events",
    },
    MAX_REQUEST_BYTES: {
      type: "integer",
      minimum: 1024,
      default: 8388608,
      description: "largest review request body accepted",
    },
    ...enterpriseHostsSetting,
    CONTROLLER_USERNAMES: {
      type: "array",
      items: { type: "string", minLength: 1 },
      default: ["system:serviceaccount:octorun-system:octorun-controller"],
      description: "comma-separated users allowed to set a Runner's spec.id and spec.os (the controller's identity)",
    },
    CONTROLLER_GROUPS: {
      type: "array",
      items: { type: "string", minLength: 1 },
      default: [],
      description: "comma-separated groups whose members may set a Runner's spec.id and spec.os",
    },
  },
  required: ["TLS_CERT_FILE", "TLS_KEY_FILE"],
};
