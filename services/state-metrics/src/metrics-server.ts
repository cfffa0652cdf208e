import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { closeHttpServer, type Logger, listen } from "@octorun/runtime";
import type { Registry } from "prom-client";
import { EXPOSITION_CONTENT_TYPE } from "./exposition.ts";

/** Something that yields exposition text: a state store. */
export interface ExpositionSource {
  chunks(): Iterable<Uint8Array>;
}

export interface MetricsServerOptions {
  /** Pre-rendered state families, written first, in order. */
  sources: readonly ExpositionSource[];
  /** Job metrics and the process's own metrics. */
  registry: Registry;
  logger: Logger;
  host: string;
  port: number;
}

/**
 * The `/metrics` endpoint Prometheus scrapes: the state families straight from their stores
 * (no per-scrape rendering), then the registry's metrics. Plain HTTP/1.1 without compression:
 * gzip of a large scrape costs more CPU than the bytes it saves on a cluster network.
 */
export class MetricsServer {
  readonly #options: MetricsServerOptions;
  #server: Server | undefined;
  port = 0;

  constructor(options: MetricsServerOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        this.#options.logger.error("metrics scrape failed", { error: (error as Error).message });
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        res.end();
      });
    });
    this.port = await listen(this.#server, this.#options.port, this.#options.host);
    this.#options.logger.info("metrics server listening", { port: this.port });
  }

  async stop(): Promise<void> {
    if (this.#server) await closeHttpServer(this.#server, 2_000);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${path}; metrics are at /metrics\n`);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("use GET\n");
      return;
    }
    // Collect the registry first: its collectors are async, the stores are not.
    const own = await this.#options.registry.metrics();
    res.writeHead(200, { "content-type": EXPOSITION_CONTENT_TYPE });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    for (const source of this.#options.sources) {
      for (const chunk of source.chunks()) {
        // The store reuses the chunk: wait until the socket has taken it (this also keeps the
        // scrape from queueing in memory when the scraper reads slowly).
        await new Promise<void>((resolve, reject) => res.write(chunk, (error) => (error ? reject(error) : resolve())));
        if (res.destroyed) return;
      }
    }
    res.end(own);
  }
}
