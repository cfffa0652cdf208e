// Composition root of state-metrics: config, the Kubernetes client, the NATS connection, the
// informers and stores, the job consumer and the /metrics server; ready once the caches are filled.

import { BusConnection, busConnectionOptions } from "@octorun/bus";
import { KubeClient, loadKubeConfig } from "@octorun/kube";
import { runService } from "@octorun/runtime";
import { parseAllowlist } from "./label-names.ts";
import { type StateMetricsConfig, stateMetricsSettings } from "./settings.ts";
import { StateMetrics } from "./state-metrics.ts";

export { stateMetricsNatsPermissions } from "./nats-permissions.ts";
export { type StateMetricsConfig, stateMetricsSettings } from "./settings.ts";
export { StateMetrics, type StateMetricsOptions } from "./state-metrics.ts";

if (import.meta.main) {
  await runService<StateMetricsConfig>({
    name: "state-metrics",
    settings: stateMetricsSettings,
    async start({ config, logger, registry, health, shutdown }) {
      const kube = new KubeClient(loadKubeConfig(), { fieldManager: "octorun-state-metrics" });
      const bus = new BusConnection({ ...busConnectionOptions(config, "octorun-state-metrics"), logger });
      bus.start();
      shutdown.add("nats", () => bus.close());
      const service = new StateMetrics({
        kube,
        bus,
        registry,
        logger,
        metricsHost: config.METRICS_HOST,
        metricsPort: config.METRICS_PORT,
        ...(config.WATCH_NAMESPACES ? { namespaces: config.WATCH_NAMESPACES } : {}),
        metadataLabelsAllowlist: parseAllowlist(config.METRIC_LABELS_ALLOWLIST),
        jobLabelsAllowlist: config.JOB_LABELS_ALLOWLIST,
        consumerName: config.JOB_CONSUMER_NAME,
        relistMs: config.RELIST_INTERVAL_SECONDS * 1000,
        replayWindowMs: config.JOB_REPLAY_HOURS * 3600_000,
        ...(config.TLS_CERT_FILE && config.TLS_KEY_FILE
          ? {
              customMetrics: {
                host: config.CUSTOM_METRICS_HOST,
                port: config.CUSTOM_METRICS_PORT,
                tlsCertFile: config.TLS_CERT_FILE,
                tlsKeyFile: config.TLS_KEY_FILE,
              },
            }
          : {}),
      });
      if (Boolean(config.TLS_CERT_FILE) !== Boolean(config.TLS_KEY_FILE)) {
        throw new Error(
          "TLS_CERT_FILE and TLS_KEY_FILE go together: set both to serve custom.metrics.k8s.io, or neither",
        );
      }
      if (!config.TLS_CERT_FILE) {
        logger.info("custom.metrics.k8s.io is not served: TLS_CERT_FILE and TLS_KEY_FILE are not both set");
      }
      health.addReadinessCheck("caches", () => service.ready());
      shutdown.add("state metrics", () => service.stop());
      // Not awaited: /healthz answers while the caches fill; /readyz says when they are.
      service.start().catch((error: unknown) => {
        logger.error("state-metrics failed to start", { error: (error as Error).message });
        void shutdown.shutdown("start-up failed");
      });
    },
  });
}
