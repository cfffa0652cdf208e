import { createServer, type Server } from "node:http";
import express, { type Express } from "express";
import type { Registry } from "prom-client";
import { closeHttpServer, listen } from "./http-server.ts";
import type { Logger } from "./logger.ts";

/** A readiness check: true (or a resolved true) when ready; a string or false says why not. */
export type ReadinessCheck = () => boolean | string | Promise<boolean | string>;

export interface HealthServerOptions {
  registry: Registry;
  logger: Logger;
  host?: string;
  port?: number;
}

/** `/healthz` (the process serves), `/readyz` (every registered check passes) and `/metrics`. */
export class HealthServer {
  readonly app: Express;
  readonly #checks = new Map<string, ReadinessCheck>();
  readonly #options: HealthServerOptions;
  #server: Server | undefined;
  #shuttingDown = false;
  port = 0;

  constructor(options: HealthServerOptions) {
    this.#options = options;
    this.app = express();
    this.app.disable("x-powered-by");
    this.app.get("/healthz", (_req, res) => {
      res.type("text/plain").send("ok");
    });
    this.app.get("/readyz", async (_req, res) => {
      const results = await this.checkReadiness();
      res.status(results.ready ? 200 : 503).json(results);
    });
    this.app.get("/metrics", async (_req, res) => {
      res.type(options.registry.contentType).send(await options.registry.metrics());
    });
  }

  /** Registers a named readiness check; `/readyz` is ready only when all pass. */
  addReadinessCheck(name: string, check: ReadinessCheck): void {
    this.#checks.set(name, check);
  }

  async checkReadiness(): Promise<{ ready: boolean; checks: Record<string, string> }> {
    const checks: Record<string, string> = {};
    let ready = !this.#shuttingDown;
    if (this.#shuttingDown) checks["shutdown"] = "shutting down";
    for (const [name, check] of this.#checks) {
      let outcome: boolean | string;
      try {
        outcome = await check();
      } catch (error) {
        outcome = (error as Error).message;
      }
      checks[name] = outcome === true ? "ok" : outcome === false ? "not ready" : outcome;
      if (outcome !== true) ready = false;
    }
    return { ready, checks };
  }

  /** Called first on shutdown so load balancers stop sending traffic while work drains. */
  markShuttingDown(): void {
    this.#shuttingDown = true;
  }

  async start(): Promise<void> {
    this.#server = createServer(this.app);
    this.port = await listen(this.#server, this.#options.port ?? 8081, this.#options.host ?? "0.0.0.0");
    this.#options.logger.info("health server listening", { port: this.port });
  }

  async stop(): Promise<void> {
    if (this.#server) await closeHttpServer(this.#server, 2_000);
  }
}
