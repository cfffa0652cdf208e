import { type BusConfig, busSettings } from "@octorun/bus";
import { type ConfigSchema, mergeSchemas } from "@octorun/runtime";

export interface StateMetricsConfig extends BusConfig {
  METRICS_HOST: string;
  METRICS_PORT: number;
  WATCH_NAMESPACES?: string[];
  METRIC_LABELS_ALLOWLIST: string[];
  JOB_LABELS_ALLOWLIST: string[];
  JOB_CONSUMER_NAME: string;
  RELIST_INTERVAL_SECONDS: number;
  JOB_REPLAY_HOURS: number;
  CUSTOM_METRICS_HOST: string;
  CUSTOM_METRICS_PORT: number;
  TLS_CERT_FILE?: string;
  TLS_KEY_FILE?: string;
}

export const stateMetricsSettings: ConfigSchema = mergeSchemas(busSettings, {
  properties: {
    METRICS_HOST: {
      type: "string",
      default: "0.0.0.0",
      description: "address of the /metrics endpoint Prometheus scrapes",
    },
    METRICS_PORT: {
      type: "integer",
      minimum: 0,
      maximum: 65535,
      default: 8080,
      description: "port of the /metrics endpoint with the Runner, RunnerSet and job series",
    },
    WATCH_NAMESPACES: {
      type: "array",
      items: { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength: 63 },
      description:
        "export the Runners and RunnerSets of these namespaces only, comma-separated (default: every namespace)",
    },
    METRIC_LABELS_ALLOWLIST: {
      type: "array",
      items: { type: "string", minLength: 1 },
      default: ["*"],
      description:
        "metadata labels exported as label_* on octorun_runner_labels and octorun_runnerset_labels, comma-separated; * for all",
    },
    JOB_LABELS_ALLOWLIST: {
      type: "array",
      items: { type: "string", minLength: 1, not: { const: "*" } },
      default: ["runnerset", "runner"],
      description:
        "GitHub runs-on label names (key of key=value, or a plain label) exported as label_* on octorun_jobs_queued, comma-separated; * is not allowed (unbounded)",
    },
    JOB_CONSUMER_NAME: {
      type: "string",
      pattern: "^[A-Za-z0-9_-]{1,64}$",
      default: "octorun-state-metrics",
      description: "name of this service's durable consumer on the job stream",
    },
    JOB_REPLAY_HOURS: {
      type: "number",
      minimum: 0,
      maximum: 168,
      default: 24,
      description:
        "at start-up, rebuild the jobs still waiting for a runner from this many hours of the job stream (0: do not; GitHub cancels jobs that wait 24 hours)",
    },
    CUSTOM_METRICS_HOST: {
      type: "string",
      default: "0.0.0.0",
      description: "address of the custom.metrics.k8s.io API (HTTPS) the kube-apiserver's aggregation layer calls",
    },
    CUSTOM_METRICS_PORT: {
      type: "integer",
      minimum: 0,
      maximum: 65535,
      default: 6443,
      description: "port of the custom.metrics.k8s.io API; it is served when TLS_CERT_FILE and TLS_KEY_FILE are set",
    },
    TLS_CERT_FILE: {
      type: "string",
      minLength: 1,
      description: "serving certificate (PEM) of the custom.metrics.k8s.io API; read again every minute",
    },
    TLS_KEY_FILE: {
      type: "string",
      minLength: 1,
      description: "private key (PEM) of TLS_CERT_FILE",
    },
    RELIST_INTERVAL_SECONDS: {
      type: "integer",
      minimum: 0,
      default: 600,
      description: "how often the caches list again to heal missed watch events (0: never)",
    },
  },
});
