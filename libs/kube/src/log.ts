/** The logging methods this library uses; a winston Logger from @octorun/runtime fits. */
export interface KubeLogger {
  debug(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

const ignore = () => undefined;
export const silentLogger: KubeLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
