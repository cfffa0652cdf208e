// The controller's composition root: configuration, GitHub client, NATS connection, Kubernetes
// client and the controller, started through @octorun/runtime's runService.
import { hostname } from "node:os";
import { BusConnection, busConnectionOptions, ensureJobStream, JOB_STREAM, jobStreamLimits } from "@octorun/bus";
import { createGitHubClient, type GitHubAuthConfig } from "@octorun/github";
import { loadKubeConfig } from "@octorun/kube";
import { runService } from "@octorun/runtime";
import { Controller } from "./controller.ts";
import { type ControllerConfig, controllerSettings, githubAuth } from "./settings.ts";
import { webhookRedeliveryFromConfig } from "./webhook-redelivery.ts";

export { Controller, type ControllerOptions } from "./controller.ts";
export { controllerNatsPermissions } from "./nats-permissions.ts";
export { deliveriesToRedeliver, WebhookRedelivery, webhookRedeliveryFromConfig } from "./webhook-redelivery.ts";

const SERVICE = "controller";

if (import.meta.main) {
  await runService<ControllerConfig>({
    name: SERVICE,
    settings: controllerSettings,
    async start({ config, logger, registry, health, shutdown, redactor }) {
      const auth = githubAuth(config);
      // The controller's own credential and those of Runners' Secrets share every setting but the auth.
      const githubFor = (auth: GitHubAuthConfig, credentialName: string) =>
        createGitHubClient({
          auth,
          credentialName,
          enterpriseHosts: config.GITHUB_ENTERPRISE_HOSTS,
          registry,
          logger,
          writesAtOnce: config.GITHUB_WRITES_AT_ONCE,
          ...(config.GITHUB_ENDPOINT_POINTS_PER_MINUTE !== undefined
            ? { endpointPointsPerMinute: config.GITHUB_ENDPOINT_POINTS_PER_MINUTE }
            : {}),
          ...(config.GITHUB_API_URL ? { apiBaseUrl: config.GITHUB_API_URL } : {}),
        });
      const github = githubFor(auth, "controller");
      const bus = new BusConnection({
        ...busConnectionOptions(config, `octorun-${SERVICE}`),
        logger,
        // Where github-ingress may only publish (deploy/), the controller declares the job stream.
        ...(config.JOB_STREAM_MANAGE
          ? {
              onConnect: async (connection: BusConnection) => {
                const outcome = await ensureJobStream(await connection.jetstreamManager(), jobStreamLimits(config));
                logger.info("job stream declared", { stream: JOB_STREAM, outcome });
              },
            }
          : {}),
      });
      shutdown.add("nats", () => bus.close());
      const identity = config.POD_NAME ?? hostname();
      const controller = new Controller({
        kubeConfig: loadKubeConfig(),
        github,
        githubForCredential: githubFor,
        bus,
        identity,
        namespaces: config.WATCH_NAMESPACES,
        leaderElection: config.LEADER_ELECT
          ? {
              namespace: config.POD_NAMESPACE,
              name: config.LEADER_ELECTION_LEASE,
              leaseDurationMs: config.LEASE_DURATION_MS,
              renewDeadlineMs: config.RENEW_DEADLINE_MS,
              retryPeriodMs: config.RETRY_PERIOD_MS,
            }
          : undefined,
        runnerPlan: { mode: config.RUNNER_REGISTRATION, completedGraceMs: config.COMPLETED_GRACE_SECONDS * 1000 },
        runnerWorkers: config.RUNNER_WORKERS,
        runnerSetWorkers: config.RUNNERSET_WORKERS,
        jobEventConcurrency: config.JOB_EVENT_CONCURRENCY,
        consumerName: config.JOB_CONSUMER_NAME,
        registry,
        logger,
        redact: (text) => redactor.redact(text),
        onLostLeadership: () => void shutdown.shutdown("lost leadership"),
      });
      shutdown.add("controller", () => controller.stop());
      health.addReadinessCheck("controller", () => controller.readiness());
      await controller.start();
      // GitHub does not retry a failed webhook delivery: the leader asks it to, from the App's delivery log.
      const redelivery = webhookRedeliveryFromConfig(config, auth, {
        github,
        logger,
        registry,
        active: () => controller.isLeader(),
      });
      if (redelivery) {
        redelivery.start();
        shutdown.add("webhook redelivery", () => redelivery.stop());
      }
      logger.info("controller started", {
        identity,
        leaderElection: config.LEADER_ELECT,
        mode: config.RUNNER_REGISTRATION,
      });
    },
  });
}
