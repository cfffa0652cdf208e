import type { Logger } from "./logger.ts";

export interface GracefulShutdownOptions {
  logger: Logger;
  /** Everything must be closed by then; the process exits with 1 if not. */
  deadlineMs?: number;
  exit?: (code: number) => void;
}

type Closer = { name: string; close: () => Promise<void> | void };

/**
 * Runs registered closers in reverse order of registration on SIGTERM or SIGINT (stop accepting
 * first, then drain work, then close connections), and exits 0 — or 1 when a closer fails or the
 * deadline passes.
 */
export class GracefulShutdown {
  readonly #closers: Closer[] = [];
  readonly #options: GracefulShutdownOptions;
  #running: Promise<void> | undefined;

  constructor(options: GracefulShutdownOptions) {
    this.#options = options;
  }

  /** Registers a closer; the last registered runs first. */
  add(name: string, close: () => Promise<void> | void): void {
    this.#closers.push({ name, close });
  }

  listen(signals: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"]): void {
    for (const signal of signals) process.once(signal, () => void this.shutdown(signal));
  }

  /** Closes everything; `failed` makes the exit code 1 even when every closer succeeds (a failed start). */
  shutdown(reason: string, failed = false): Promise<void> {
    this.#running ??= this.#run(reason, failed);
    return this.#running;
  }

  async #run(reason: string, startedFailed: boolean): Promise<void> {
    const { logger, deadlineMs = 25_000, exit = (code: number) => process.exit(code) } = this.#options;
    logger.info("shutting down", { reason, deadlineMs });
    const deadline = setTimeout(() => {
      logger.error("shutdown deadline passed; exiting with work unfinished", { deadlineMs });
      exit(1);
    }, deadlineMs);
    deadline.unref();
    let failed = startedFailed;
    for (const closer of [...this.#closers].reverse()) {
      try {
        await closer.close();
      } catch (error) {
        failed = true;
        logger.error("closing failed", { part: closer.name, error });
      }
    }
    clearTimeout(deadline);
    logger.info("shut down", { reason });
    exit(failed ? 1 : 0);
  }
}
