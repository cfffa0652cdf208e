import winston from "winston";
import { Redactor } from "./redaction.ts";

export type Logger = winston.Logger;

export interface LoggerOptions {
  service: string;
  level?: string;
  redactor?: Redactor;
  /** Where lines go; standard output by default. Tests pass a stream to read them back. */
  stream?: NodeJS.WritableStream;
}

/** A JSON logger: one object per line with time, level, service, message and fields, secrets removed. */
export function createLogger(options: LoggerOptions): Logger {
  const redactor = options.redactor ?? new Redactor();
  const redact = winston.format((info) => redactor.redact(info))();
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  // winston formats every line before its transports drop the ones below their level: drop them
  // first, so that a debug line costs nothing at info (a busy controller makes many).
  const enabled = winston.format((info) => (logger.isLevelEnabled(info.level) ? info : false))();
  const logger: Logger = winston.createLogger({
    level: options.level ?? "info",
    defaultMeta: { service: options.service },
    format: winston.format.combine(
      enabled,
      winston.format.errors({ stack: true }),
      redact,
      winston.format.timestamp(),
      winston.format.json(),
    ),
    transports: [transport],
  });
  return logger;
}
