// The HTTPS shell: routes, content type and size checks, JSON parsing, metrics, and turning
// exceptions into clear answers. Reviews themselves are pure functions (admission.ts,
// conversion-review.ts).

import { createServer, type Server } from "node:https";
import { CONVERSION_WEBHOOK_PATH } from "@octorun/api";
import { closeHttpServer, type Logger, listen } from "@octorun/runtime";
import express, { type Request, type Response } from "express";
import type { Registry } from "prom-client";
import {
  checkRequestKind,
  internalErrorResponse,
  mutate,
  type ReviewedKind,
  type ReviewMode,
  validate,
} from "./admission.ts";
import { type AdmissionRequest, admissionRequestOf, admissionReview } from "./admission-review.ts";
import { convertReview } from "./conversion-review.ts";
import { BadRequestError } from "./errors.ts";
import { createWebhookMetrics, type WebhookMetrics } from "./metrics.ts";
import { CertificateReloader } from "./tls-reloader.ts";
import type { ValidationPolicy } from "./validation.ts";

/** The endpoints, with the original octorun's paths. */
export const ENDPOINTS: ReadonlyArray<{ path: string; kind: ReviewedKind; mode: ReviewMode }> = [
  { path: "/mutate-octorun-github-io-v1alpha2-runner", kind: "Runner", mode: "mutate" },
  { path: "/validate-octorun-github-io-v1alpha2-runner", kind: "Runner", mode: "validate" },
  { path: "/mutate-octorun-github-io-v1alpha2-runnerset", kind: "RunnerSet", mode: "mutate" },
  { path: "/validate-octorun-github-io-v1alpha2-runnerset", kind: "RunnerSet", mode: "validate" },
];
export { CONVERSION_WEBHOOK_PATH };

export interface AdmissionWebhookServerOptions {
  certFile: string;
  keyFile: string;
  host: string;
  port: number;
  policy: ValidationPolicy;
  registry: Registry;
  logger: Logger;
  maxRequestBytes?: number;
  certificatePollIntervalMs?: number;
}

export class AdmissionWebhookServer {
  readonly #options: AdmissionWebhookServerOptions;
  readonly #metrics: WebhookMetrics;
  readonly #reloader: CertificateReloader;
  #server: Server | undefined;
  #port = 0;
  readonly #durations = new Map<string, { observe(value: number): void }>();

  constructor(options: AdmissionWebhookServerOptions) {
    this.#options = options;
    this.#metrics = createWebhookMetrics(options.registry);
    this.#reloader = new CertificateReloader({
      certFile: options.certFile,
      keyFile: options.keyFile,
      logger: options.logger,
      pollIntervalMs: options.certificatePollIntervalMs,
      onChange: (material) => {
        this.#server?.setSecureContext({ cert: material.cert, key: material.key });
        this.#metrics.tlsReloads.inc({ result: "success" });
        this.#metrics.certificateExpiry.set(material.notAfter.getTime() / 1000);
      },
      onFailure: () => this.#metrics.tlsReloads.inc({ result: "failure" }),
    });
  }

  get port(): number {
    return this.#port;
  }

  async start(): Promise<number> {
    const material = this.#reloader.start();
    this.#metrics.certificateExpiry.set(material.notAfter.getTime() / 1000);
    const server = createServer({ cert: material.cert, key: material.key }, this.#app());
    // Longer than the apiserver's idle-connection timeout, so that it never reuses a connection we are closing.
    server.keepAliveTimeout = 120_000;
    server.headersTimeout = 125_000;
    server.on("secureConnection", () => this.#metrics.connections.inc());
    this.#server = server;
    this.#port = await listen(server as unknown as import("node:http").Server, this.#options.port, this.#options.host);
    this.#options.logger.info("admission webhook listening", { host: this.#options.host, port: this.#port });
    return this.#port;
  }

  async stop(): Promise<void> {
    this.#reloader.stop();
    if (this.#server) await closeHttpServer(this.#server as unknown as import("node:http").Server);
  }

  #app(): express.Express {
    const app = express();
    app.disable("x-powered-by");
    app.disable("etag");
    for (const endpoint of ENDPOINTS) {
      app.post(endpoint.path, (req, res) =>
        this.#handle(
          req,
          res,
          endpoint.path,
          (body) => this.#review(body, endpoint.kind, endpoint.mode),
          this.#durationOf(endpoint.kind, endpoint.mode),
        ),
      );
    }
    app.post(CONVERSION_WEBHOOK_PATH, (req, res) =>
      this.#handle(req, res, CONVERSION_WEBHOOK_PATH, (body) => this.#convert(body), this.#metrics.conversionDuration),
    );
    app.use((req, res) => {
      const known = [...ENDPOINTS.map((e) => e.path), CONVERSION_WEBHOOK_PATH];
      const message = known.includes(req.path)
        ? `${req.method} is not allowed; use POST`
        : `no endpoint ${req.path}; endpoints: ${known.join(", ")}`;
      sendError(res, known.includes(req.path) ? 405 : 404, message);
    });
    return app;
  }

  /** Reads, checks and parses the body, answers with `review(body)`, and records the whole request's duration. */
  #handle(
    req: Request,
    res: Response,
    endpoint: string,
    review: (body: unknown) => unknown,
    duration: { observe(value: number): void },
  ): void {
    const started = process.hrtime.bigint();
    const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    if (contentType !== "application/json") {
      this.#refuse(
        res,
        endpoint,
        new BadRequestError(
          415,
          `content type must be application/json, got ${JSON.stringify(req.headers["content-type"] ?? "")}`,
        ),
      );
      req.resume();
      return;
    }
    readBody(req, this.#options.maxRequestBytes ?? 8 * 1024 * 1024).then(
      (raw) => {
        try {
          let body: unknown;
          try {
            body = JSON.parse(raw.toString("utf8"));
          } catch (error) {
            throw new BadRequestError(400, `the body is not valid JSON: ${(error as Error).message}`);
          }
          const answer = JSON.stringify(review(body));
          res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) });
          res.end(answer);
          duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
        } catch (error) {
          if (error instanceof BadRequestError) this.#refuse(res, endpoint, error);
          else {
            this.#options.logger.error("webhook request failed", { endpoint, error });
            sendError(res, 500, `internal error: ${(error as Error).message}`);
          }
        }
      },
      (error: unknown) => {
        if (error instanceof BadRequestError) {
          res.setHeader("connection", "close");
          this.#refuse(res, endpoint, error);
        } else {
          this.#options.logger.warn("reading the webhook request failed", {
            endpoint,
            error: (error as Error).message,
          });
          res.destroy();
        }
      },
    );
  }

  #refuse(res: Response, endpoint: string, error: BadRequestError): void {
    this.#metrics.badRequests.inc({ endpoint, code: String(error.statusCode) });
    this.#options.logger.warn("refused a webhook request", { endpoint, code: error.statusCode, reason: error.message });
    sendError(res, error.statusCode, error.message);
  }

  #review(body: unknown, kind: ReviewedKind, mode: ReviewMode): unknown {
    const request: AdmissionRequest = admissionRequestOf(body);
    const version = checkRequestKind(request, kind);
    const key = `${request.namespace ?? ""}/${request.name ?? ""}`;
    let result: "allowed" | "denied" | "error";
    let response: ReturnType<typeof mutate>;
    try {
      response = mode === "mutate" ? mutate(request, kind, version) : validate(request, kind, this.#options.policy);
      result = response.allowed ? "allowed" : "denied";
      if (!response.allowed) {
        this.#options.logger.info("denied", {
          kind,
          key,
          operation: request.operation,
          user: request.userInfo.username,
          reason: response.status?.message,
        });
      }
    } catch (error) {
      // A bug in a handler denies that one request, with the reason; the process carries on.
      result = "error";
      response = internalErrorResponse(request.uid, error);
      this.#options.logger.error("review failed", { kind, mode, key, uid: request.uid, error });
    }
    this.#metrics.reviews.inc({ kind, mode, operation: request.operation, result });
    return admissionReview(response);
  }

  /** The histogram child per kind and mode, bound once (label hashing on every review is measurable). */
  #durationOf(kind: ReviewedKind, mode: ReviewMode): { observe(value: number): void } {
    const key = `${kind}/${mode}`;
    let child = this.#durations.get(key);
    if (!child) {
      child = this.#metrics.reviewDuration.labels({ kind, mode });
      this.#durations.set(key, child);
    }
    return child;
  }

  #convert(body: unknown): unknown {
    try {
      const result = convertReview(body);
      this.#metrics.conversions.inc({ result: result.failed ? "failure" : "success" });
      this.#metrics.convertedObjects.inc(result.objects);
      return result.review;
    } catch (error) {
      if (!(error instanceof BadRequestError)) this.#metrics.conversions.inc({ result: "error" });
      throw error;
    }
  }
}

function readBody(req: Request, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > limit) {
      req.resume();
      reject(
        new BadRequestError(413, `the request body of ${declared} bytes is larger than the limit of ${limit} bytes`),
      );
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new BadRequestError(413, `the request body is larger than the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on("error", (error) => {
      if (!failed) reject(error);
    });
  });
}

function sendError(res: Response, code: number, message: string): void {
  if (res.headersSent) return;
  const body = JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code, message });
  res.writeHead(code, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}
