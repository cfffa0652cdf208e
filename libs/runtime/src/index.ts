export {
  type ConfigSchema,
  commonSettings,
  type LoadedConfig,
  loadConfig,
  mergeSchemas,
  type SettingSchema,
} from "./config.ts";
export { ConfigError } from "./errors.ts";
export { HealthServer, type ReadinessCheck } from "./health-server.ts";
export { closeHttpServer, listen } from "./http-server.ts";
export { createLogger, type Logger } from "./logger.ts";
export { createMetricsRegistry } from "./metrics.ts";
export { Redactor } from "./redaction.ts";
export { type CommonConfig, runService, type ServiceContext } from "./service.ts";
export { GracefulShutdown } from "./shutdown.ts";
