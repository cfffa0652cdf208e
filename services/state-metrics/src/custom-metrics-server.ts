// The HTTPS shell of the custom metrics API: TLS with the front-proxy CA for client certificates,
// then authenticate (request headers), parse, authorize (SubjectAccessReview) and answer. Every
// error is a metav1.Status; nothing a client sends can crash it.

import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { TLSSocket } from "node:tls";
import type { KubernetesObject } from "@kubernetes/client-node";
import { ConfigMaps, type KubeClient } from "@octorun/kube";
import { closeHttpServer, type Logger, listen } from "@octorun/runtime";
import { Counter, type Registry } from "prom-client";
import { type AccessDecision, AccessReviewer } from "./access-review.ts";
import {
  type AccessAttributes,
  accessAttributes,
  answerMetricsRequest,
  isAnswer,
  type MetricsSource,
  parseMetricsRequest,
  status,
} from "./custom-metrics-api.ts";
import {
  AUTHENTICATION_CONFIGMAP,
  AuthenticationError,
  authenticateRequest,
  type RequestHeaderConfig,
  requestHeaderConfigOf,
  type UserInfo,
} from "./request-header-auth.ts";

export interface CustomMetricsServerOptions {
  kube: KubeClient;
  source: MetricsSource;
  registry: Registry;
  logger: Logger;
  host: string;
  port: number;
  tlsCertFile: string;
  tlsKeyFile: string;
  /** How often the front-proxy settings and the serving certificate are read again. */
  refreshMs?: number;
  /** Answers to SubjectAccessReviews are kept this long. */
  accessCacheMs?: number;
}

export class CustomMetricsServer {
  readonly #options: CustomMetricsServerOptions;
  readonly #reviewer: AccessReviewer;
  readonly #requests: Counter<"code">;
  #server: Server | undefined;
  #auth: RequestHeaderConfig | undefined;
  #tlsKey = "";
  #timer: NodeJS.Timeout | undefined;
  port = 0;

  constructor(options: CustomMetricsServerOptions) {
    this.#options = options;
    this.#reviewer = new AccessReviewer({
      kube: options.kube,
      ...(options.accessCacheMs !== undefined ? { cacheMs: options.accessCacheMs } : {}),
    });
    this.#requests = new Counter({
      name: "octorun_custom_metrics_requests_total",
      help: "Requests to the custom.metrics.k8s.io API this service serves, by HTTP status code.",
      labelNames: ["code"],
      registers: [options.registry],
    });
  }

  /** Reads the front-proxy settings (required: without them no request could be trusted) and listens. */
  async start(): Promise<void> {
    await this.#refresh();
    if (!this.#auth) {
      throw new Error(
        `${AUTHENTICATION_CONFIGMAP.namespace}/${AUTHENTICATION_CONFIGMAP.name} has no requestheader-client-ca-file: the kube-apiserver runs without its aggregation layer (--requestheader-client-ca-file)`,
      );
    }
    this.#server = createServer({ ...this.#tlsOptions(), requestCert: true, rejectUnauthorized: false }, (req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        this.#options.logger.error("custom metrics request failed", { path: req.url, error: (error as Error).message });
        this.#send(res, status(500, "InternalError", "internal error"));
      });
    });
    this.port = await listen(
      this.#server as unknown as import("node:http").Server,
      this.#options.port,
      this.#options.host,
    );
    this.#timer = setInterval(() => {
      this.#refresh().catch((error: unknown) =>
        this.#options.logger.warn("cannot refresh the front-proxy settings; keeping the last ones", {
          error: (error as Error).message,
        }),
      );
    }, this.#options.refreshMs ?? 60_000);
    this.#timer.unref();
    this.#options.logger.info("custom metrics API listening", { port: this.port });
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    if (this.#server) await closeHttpServer(this.#server as unknown as import("node:http").Server, 2_000);
  }

  async #refresh(): Promise<void> {
    const { namespace, name } = AUTHENTICATION_CONFIGMAP;
    const configMap = await this.#options.kube.get<KubernetesObject & { data?: Record<string, string> }>(
      ConfigMaps,
      namespace,
      name,
    );
    const auth = requestHeaderConfigOf(configMap.data);
    const key = readFileSync(this.#options.tlsKeyFile, "utf8");
    const changed = JSON.stringify(auth) !== JSON.stringify(this.#auth) || key !== this.#tlsKey;
    this.#auth = auth;
    this.#tlsKey = key;
    if (changed && this.#server) this.#server.setSecureContext(this.#tlsOptions());
  }

  #tlsOptions() {
    return {
      cert: readFileSync(this.#options.tlsCertFile, "utf8"),
      key: this.#tlsKey,
      ...(this.#auth ? { ca: this.#auth.clientCa } : {}),
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let user: UserInfo;
    try {
      user = authenticateRequest(this.#auth!, verifiedPeer(req.socket as TLSSocket), req.headers);
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      this.#send(res, status(401, "Unauthorized", `Unauthorized: ${error.message}`));
      return;
    }
    const request = parseMetricsRequest(req.method ?? "GET", req.url ?? "/");
    if (isAnswer(request)) {
      this.#send(res, request);
      return;
    }
    const attributes = accessAttributes(request);
    const decision = await this.#reviewer.review(user, attributes);
    if (!decision.allowed) {
      this.#send(res, status(403, "Forbidden", forbiddenMessage(user, attributes, decision)));
      return;
    }
    const answer = answerMetricsRequest(request, this.#options.source, new Date());
    this.#send(res, answer, req.method === "HEAD");
  }

  #send(res: ServerResponse, answer: { status: number; body: unknown }, headOnly = false): void {
    this.#requests.inc({ code: String(answer.status) });
    if (res.headersSent) {
      res.end();
      return;
    }
    const body = JSON.stringify(answer.body);
    res.writeHead(answer.status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(headOnly ? undefined : body);
  }
}

/** The common name of a client certificate that the front-proxy CA signed; undefined otherwise. */
function verifiedPeer(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

/** As the apiserver words it. */
function forbiddenMessage(user: UserInfo, attributes: AccessAttributes, decision: AccessDecision): string {
  const reason = decision.reason ? `: ${decision.reason}` : "";
  if ("nonResource" in attributes) {
    return `forbidden: User "${user.username}" cannot get path "${attributes.nonResource.path}"${reason}`;
  }
  const a = attributes.resource;
  const object = a.name ? ` "${a.name}"` : "";
  return `${a.resource}${object} is forbidden: User "${user.username}" cannot ${a.verb} resource "${a.resource}/${a.subresource}" in API group "${a.group}" in the namespace "${a.namespace}"${reason}`;
}
