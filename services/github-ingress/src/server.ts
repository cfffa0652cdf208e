import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  BusConfigurationError,
  type BusConnection,
  BusUnavailableError,
  type JobEvent,
  type PublishedJobEvent,
  publishJobEvent,
} from "@octorun/bus";
import { closeHttpServer, type Logger, listen } from "@octorun/runtime";
import { checkHeaders, type DeliveryHeaders, type DeliveryResult, decideDelivery, type Rejection } from "./delivery.ts";
import { deliveryLabels, type IngressMetrics } from "./metrics.ts";

export interface IngressServerOptions {
  /** The webhook's URL path. */
  path: string;
  /** The current secret first, then those being rotated out. */
  secrets: readonly string[];
  maxBodyBytes: number;
  /** How long to wait for JetStream's acknowledgement before answering 503 (GitHub gives up after 10 s). */
  publishTimeoutMs: number;
  retryAfterSeconds: number;
  bus: BusConnection;
  logger: Logger;
  metrics: IngressMetrics;
  /** Stores a job event; publishJobEvent on the bus by default. */
  publish?: (event: JobEvent) => Promise<PublishedJobEvent>;
}

class BodyTooLargeError extends Error {}

/**
 * The HTTP shell around decideDelivery: reads the raw body within the size limit, answers
 * refusals, publishes job events and answers 2xx only once JetStream has stored them.
 * Plain node:http rather than express: one route, and the benchmark holds this server to within
 * 25 % of a bare node:http floor, where express's per-request work is a visible share.
 */
export class IngressServer {
  readonly #options: IngressServerOptions;
  readonly #publish: (event: JobEvent) => Promise<PublishedJobEvent>;
  #server: Server | undefined;
  #draining = false;

  constructor(options: IngressServerOptions) {
    if (options.secrets.length === 0) throw new Error("the ingress needs at least one webhook secret");
    this.#options = options;
    this.#publish =
      options.publish ??
      ((event) => publishJobEvent(options.bus.jetstream(), event, { timeoutMs: options.publishTimeoutMs }));
  }

  /** Routes one request; a bug answers 500 (never a 2xx) and is logged with the delivery id. */
  readonly #route = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path !== this.#options.path) {
      send(res, 404, { message: `not found; webhooks are received on POST ${this.#options.path}` });
      return;
    }
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      send(res, 405, { message: "GitHub webhooks are delivered with POST" });
      return;
    }
    this.#handle(req, res).catch((error: Error) => {
      this.#options.logger.error("delivery failed unexpectedly", {
        deliveryId: single(req.headers["x-github-delivery"]),
        error: error.message,
        stack: error.stack,
      });
      if (!res.headersSent) send(res, 500, { message: "internal error; the event was not stored" });
    });
  };

  async start(host: string, port: number): Promise<number> {
    this.#server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, this.#route);
    this.#server.keepAliveTimeout = 65_000; // longer than common load balancer idle timeouts
    return listen(this.#server, port, host);
  }

  /** Stops accepting; requests in flight finish (and their events are stored) before it resolves. */
  async stop(deadlineMs = 20_000): Promise<void> {
    this.#draining = true;
    if (this.#server) await closeHttpServer(this.#server, deadlineMs);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers: DeliveryHeaders = {
      contentType: req.headers["content-type"],
      event: single(req.headers["x-github-event"]),
      deliveryId: single(req.headers["x-github-delivery"]),
      signature: single(req.headers["x-hub-signature-256"]),
    };
    if (this.#draining) res.setHeader("connection", "close");
    const early = checkHeaders(headers);
    if (early) return this.#reject(req, res, headers, early);
    const { maxBodyBytes } = this.#options;
    const tooLarge: Rejection = {
      kind: "reject",
      status: 413,
      result: "too_large",
      message: `the body is larger than ${maxBodyBytes} bytes`,
    };
    if (Number(req.headers["content-length"] ?? 0) > maxBodyBytes) {
      res.setHeader("connection", "close"); // the rest of the body is not read
      return this.#reject(req, res, headers, tooLarge);
    }
    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) return; // the client went away
      res.setHeader("connection", "close");
      return this.#reject(req, res, headers, tooLarge);
    }

    const decision = decideDelivery(headers, body, this.#options.secrets);
    if (decision.kind === "reject") return this.#reject(req, res, headers, decision);
    if (decision.kind === "answer") {
      this.#count(headers, decision.action, decision.result);
      if (this.#options.logger.isDebugEnabled())
        this.#options.logger.debug("delivery answered", {
          deliveryId: headers.deliveryId,
          event: headers.event,
          result: decision.result,
        });
      send(res, decision.status, { message: decision.message });
      return;
    }
    await this.#store(res, headers, decision.event);
  }

  async #store(res: ServerResponse, headers: DeliveryHeaders, event: JobEvent): Promise<void> {
    const { bus, logger, metrics, retryAfterSeconds } = this.#options;
    const githubAction = event.action === "assigned" ? "in_progress" : event.action;
    const started = performance.now();
    try {
      if (!bus.connected()) throw new BusUnavailableError("not connected to NATS");
      const stored = await this.#publish(event);
      const result: DeliveryResult = stored.duplicate ? "duplicate" : "stored";
      metrics.publishSeconds.observe({ result }, (performance.now() - started) / 1000);
      this.#count(headers, githubAction, result);
      if (logger.isDebugEnabled())
        logger.debug("job event stored", {
          deliveryId: event.deliveryId,
          subject: stored.subject,
          seq: stored.seq,
          duplicate: stored.duplicate,
          jobId: event.job.id,
        });
      send(res, 202, { message: stored.duplicate ? "already stored" : "stored", subject: stored.subject });
    } catch (error) {
      if (!(error instanceof BusUnavailableError || error instanceof BusConfigurationError)) throw error;
      metrics.publishSeconds.observe({ result: "failed" }, (performance.now() - started) / 1000);
      this.#count(headers, githubAction, "unavailable");
      logger.error("job event not stored; answering 503 so that the delivery can be redelivered", {
        deliveryId: event.deliveryId,
        jobId: event.job.id,
        error: error.message,
      });
      res.setHeader("retry-after", String(retryAfterSeconds));
      send(res, 503, { message: "the job stream is unavailable; the event was not stored, redeliver it later" });
    }
  }

  #reject(req: IncomingMessage, res: ServerResponse, headers: DeliveryHeaders, rejection: Rejection): void {
    this.#count(headers, undefined, rejection.result, rejection.verified === true);
    if (rejection.signatureFailure) this.#options.metrics.signatureFailures.inc({ reason: rejection.signatureFailure });
    this.#options.logger.warn("delivery refused", {
      deliveryId: headers.deliveryId,
      status: rejection.status,
      result: rejection.result,
      reason: rejection.message,
      remoteAddress: req.socket.remoteAddress,
    });
    send(res, rejection.status, { message: rejection.message });
  }

  /** Only a verified delivery names its event in the labels, so a stranger cannot grow the series. */
  #count(headers: DeliveryHeaders, action: string | undefined, result: DeliveryResult, verified = true): void {
    this.#options.metrics.deliveries.inc({ ...deliveryLabels(verified, headers.event, action), result });
  }
}

function send(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks, size)));
    req.on("error", reject);
    req.on("aborted", () => reject(new Error("aborted")));
  });
}
