// Composition root of the admission webhook: config, the HTTPS server, readiness and shutdown.

import { runService } from "@octorun/runtime";
import { AdmissionWebhookServer } from "./server.ts";
import { type WebhookConfig, webhookSettings } from "./settings.ts";

export {
  type ClientConfig,
  conversionClientConfig,
  mutatingWebhookConfiguration,
  validatingWebhookConfiguration,
  type WebhookTarget,
} from "./registration.ts";
export {
  AdmissionWebhookServer,
  type AdmissionWebhookServerOptions,
  CONVERSION_WEBHOOK_PATH,
  ENDPOINTS,
} from "./server.ts";
export type { ValidationPolicy } from "./validation.ts";

if (import.meta.main) {
  await runService<WebhookConfig>({
    name: "admission-webhook",
    settings: webhookSettings,
    async start({ config, logger, registry, health, shutdown }) {
      const server = new AdmissionWebhookServer({
        certFile: config.TLS_CERT_FILE,
        keyFile: config.TLS_KEY_FILE,
        host: config.WEBHOOK_HOST,
        port: config.WEBHOOK_PORT,
        maxRequestBytes: config.MAX_REQUEST_BYTES,
        certificatePollIntervalMs: config.TLS_RELOAD_INTERVAL_MS,
        policy: {
          enterpriseHosts: config.GITHUB_ENTERPRISE_HOSTS,
          controllerUsernames: config.CONTROLLER_USERNAMES,
          controllerGroups: config.CONTROLLER_GROUPS,
        },
        registry,
        logger,
      });
      await server.start();
      health.addReadinessCheck("webhook listening", () => server.port > 0);
      shutdown.add("webhook server", () => server.stop());
    },
  });
}
