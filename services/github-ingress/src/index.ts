// github-ingress: receives GitHub webhooks, stores each workflow_job delivery as a job event in
// JetStream before answering. Stateless, no Kubernetes credentials; run as many replicas as needed.
import {
  BusConnection,
  busConnectionOptions,
  ensureJobStream,
  JOB_STREAM,
  jobStreamExists,
  jobStreamLimits,
} from "@octorun/bus";
import { runService } from "@octorun/runtime";
import { IngressMetrics } from "./metrics.ts";
import { IngressServer } from "./server.ts";
import { type IngressConfig, ingressSettings } from "./settings.ts";

// Started only as the entry point, so that a test can import it to see what it loads.
if (import.meta.main) {
  await runService<IngressConfig>({
    name: "github-ingress",
    settings: ingressSettings,
    async start({ config, logger, registry, health, shutdown, name }) {
      let streamReady = false;
      const bus = new BusConnection({
        // Named as its NATS user's inbox is (jobPublisherPermissions).
        ...busConnectionOptions(config, `octorun-${name}`),
        logger,
        // After every (re)connect: declare the stream (or, when another party owns it, require it).
        onConnect: async (connection) => {
          // No account check ($JS.API.INFO): where the controller declares the stream (deploy/), this
          // service's NATS user may publish job events and read the stream's info, nothing more.
          const jsm = await connection.jetstreamManager({ checkAPI: false });
          if (config.JOB_STREAM_MANAGE) {
            const outcome = await ensureJobStream(jsm, jobStreamLimits(config));
            logger.info("job stream declared", { stream: JOB_STREAM, outcome });
            streamReady = true;
          } else {
            streamReady = await jobStreamExists(jsm);
            if (!streamReady) logger.warn("the job stream does not exist yet; waiting for it", { stream: JOB_STREAM });
          }
        },
      });
      shutdown.add("nats", () => bus.close());
      bus.start();

      const server = new IngressServer({
        path: config.WEBHOOK_PATH,
        secrets: [config.WEBHOOK_SECRET, ...(config.WEBHOOK_PREVIOUS_SECRETS ?? [])],
        maxBodyBytes: config.MAX_BODY_BYTES,
        publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
        retryAfterSeconds: config.RETRY_AFTER_SECONDS,
        bus,
        logger,
        metrics: new IngressMetrics(registry),
      });
      const port = await server.start(config.HTTP_HOST, config.HTTP_PORT);
      // Runs before the NATS connection closes: in-flight deliveries are stored and answered first.
      shutdown.add("webhook server", () => server.stop(Math.max(1_000, config.SHUTDOWN_DEADLINE_MS - 3_000)));
      logger.info("receiving webhooks", { port, path: config.WEBHOOK_PATH });

      health.addReadinessCheck("nats", () => bus.connected() || "not connected to NATS");
      health.addReadinessCheck("job stream", async () => {
        if (!bus.connected()) return "not connected to NATS";
        if (config.JOB_STREAM_MANAGE && !streamReady) return `the stream ${JOB_STREAM} is not declared yet`;
        const jsm = await bus.jetstreamManager({ checkAPI: false });
        if (await jobStreamExists(jsm)) return true;
        // Declared by another party (the controller in deploy/): not ready until it is there.
        if (!config.JOB_STREAM_MANAGE) return `the stream ${JOB_STREAM} does not exist`;
        // Deleted while running (by hand, or a NATS store lost): declare it again rather than stay unready.
        logger.warn("the job stream disappeared; declaring it again", { stream: JOB_STREAM });
        await ensureJobStream(jsm, jobStreamLimits(config));
        return true;
      });
    },
  });
}
