import type { Registry } from "prom-client";
import { type ConfigSchema, commonSettings, loadConfig, mergeSchemas } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { HealthServer } from "./health-server.ts";
import { createLogger, type Logger } from "./logger.ts";
import { createMetricsRegistry } from "./metrics.ts";
import { Redactor } from "./redaction.ts";
import { GracefulShutdown } from "./shutdown.ts";

export interface CommonConfig {
  LOG_LEVEL: string;
  HEALTH_HOST: string;
  HEALTH_PORT: number;
  SHUTDOWN_DEADLINE_MS: number;
}

export interface ServiceContext<T> {
  name: string;
  config: T & CommonConfig;
  logger: Logger;
  redactor: Redactor;
  registry: Registry;
  health: HealthServer;
  shutdown: GracefulShutdown;
}

export interface RunServiceOptions<T> {
  name: string;
  settings: ConfigSchema;
  /** Builds and starts the service's parts; registers readiness checks and closers on the context. */
  start: (context: ServiceContext<T>) => Promise<void>;
  env?: NodeJS.ProcessEnv;
  exit?: (code: number) => void;
}

/**
 * What every composition root does the same way: read and check the configuration (a bad setting
 * stops the process naming it), build the logger, registry and health server, start the service,
 * and shut down gracefully on SIGTERM/SIGINT.
 */
export async function runService<T>(options: RunServiceOptions<T>): Promise<ServiceContext<T> | undefined> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let loaded: ReturnType<typeof loadConfig<T & CommonConfig>>;
  try {
    loaded = loadConfig<T & CommonConfig>(mergeSchemas(commonSettings, options.settings), { env: options.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(
      `${JSON.stringify({ level: "error", service: options.name, message: error.message, problems: error.problems })}\n`,
    );
    exit(1);
    return undefined;
  }
  const config = loaded.values;
  const redactor = new Redactor();
  for (const value of loaded.secretValues) redactor.add(value);
  const logger = createLogger({ service: options.name, level: config.LOG_LEVEL, redactor });
  const registry = createMetricsRegistry();
  const health = new HealthServer({ registry, logger, host: config.HEALTH_HOST, port: config.HEALTH_PORT });
  const shutdown = new GracefulShutdown({ logger, deadlineMs: config.SHUTDOWN_DEADLINE_MS, exit });
  shutdown.add("health server", () => health.stop());
  const context: ServiceContext<T> = { name: options.name, config, logger, redactor, registry, health, shutdown };
  try {
    await options.start(context);
    await health.start();
  } catch (error) {
    logger.error("start-up failed", { error });
    await shutdown.shutdown("start-up failed", true);
    return undefined;
  }
  // Registered last so it runs first: /readyz fails while the rest drains.
  shutdown.add("readiness", () => health.markShuttingDown());
  shutdown.listen();
  logger.info("started", { healthPort: health.port });
  return context;
}
