// The GitHub simulator: an HTTP server on loopback that answers GitHub's REST routes under a
// GHES-style `/api/v3` base, checked against GitHub's OpenAPI description in both directions,
// with App JWT and token auth, permissions, GitHub's rate limits, fault injection, a request log,
// and (optionally) runner emulation against a real apiserver plus signed workflow_job webhooks.
// See README.md beside this file.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import {
  HttpError,
  OPERATIONS,
  type OperationSpec,
  type Principal,
  requiredPermission,
  type SimResponse,
  scopeExists,
} from "./handlers.ts";
import { JobDispatcher, type QueueJobOptions, type WebhookDelivery, type WebhookTarget } from "./jobs.ts";
import { verifyAppJwt } from "./jwt.ts";
import { OpenApiCatalog } from "./openapi.ts";
import {
  type Budget,
  primaryLimitBody,
  RateLimits,
  rateLimitHeaders,
  remaining,
  secondaryLimitBody,
} from "./rate-limits.ts";
import { type EmulatedPod, RunnerEmulation, type RunnerEmulationOptions } from "./runner-emulation.ts";
import { type RunnerProcessStart, RunnerSessions } from "./runner-sessions.ts";
import {
  type JobConclusion,
  type ScopeRef,
  type SimInstallation,
  type SimJob,
  type SimRunner,
  SimState,
} from "./state.ts";
import { webhookDeliveryOperations } from "./webhook-deliveries.ts";

export interface GitHubSimulatorOptions {
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Primary rate limit per credential per hour (default 5000). */
  rateLimit?: number;
  /** Where workflow_job webhooks go (can be set later with setWebhook). */
  webhook?: WebhookTarget;
  /** Runner emulation against a cluster; see RunnerEmulationOptions. */
  runners?: RunnerEmulationOptions;
  /**
   * A unix socket path where runner processes reach GitHub's runner routes (runner-sessions.ts),
   * for runner Pods on a real node that mount its folder. Created world-connectable.
   */
  runnerSocket?: string;
  /** How long the webhook receiver has to answer before an attempt counts as `timed out` (default 10 s, as GitHub). */
  webhookTimeoutMs?: number;
  /** Called for every schema violation (besides recording it); default logs to stderr. */
  onViolation?: (violation: Violation) => void;
}

/** A fault for one operation (or `*`): replaces GitHub's answer for the next `times` matching requests. */
export interface Fault {
  /** An operation id (e.g. `actions/generate-runner-jitconfig-for-org`) or `*`. */
  operation: string;
  /** How many requests it applies to (default 1; Infinity for all). */
  times?: number;
  /** Added latency before answering (ms). */
  delayMs?: number;
  /** `status`: answer with `status` (and `body`, `headers`); the rate-limit kinds answer as GitHub does. */
  kind?: "status" | "primary-rate-limit" | "secondary-rate-limit";
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Run the real handler first (its state change happens) and only then answer with the fault, like a 5xx after GitHub created the runner. */
  afterHandler?: boolean;
  /** Rate-limit kinds: 403 (default) or 429. */
  rateLimitStatus?: 403 | 429;
  /** primary-rate-limit: seconds until `x-ratelimit-reset` (default 60). */
  resetAfterSeconds?: number;
  /** secondary-rate-limit: `retry-after` seconds (omitted when undefined) and how long the penalty lasts (default retry-after or 60). */
  retryAfterSeconds?: number;
  windowSeconds?: number;
}

export interface RequestLogEntry {
  at: number;
  method: string;
  path: string;
  operationId: string | undefined;
  status: number;
  /** `installation:<id>`, `pat:<login>`, `app:<id>`, or undefined when unauthenticated. */
  credential: string | undefined;
  durationMs: number;
  rateLimited?: "primary" | "secondary";
  faulted?: boolean;
}

export interface Violation {
  kind: "request" | "response";
  operationId: string;
  status?: number;
  errors: string[];
  method: string;
  path: string;
}

interface ActiveFault extends Fault {
  id: number;
  remaining: number;
}

const API_PREFIX = "/api/v3";
const GENERIC_DOCS = "https://docs.github.com/rest";

export class GitHubSimulator {
  readonly state = new SimState();
  readonly catalog: OpenApiCatalog;
  readonly violations: Violation[] = [];
  private readonly log: RequestLogEntry[] = [];
  private readonly faults: ActiveFault[] = [];
  private readonly limits: RateLimits;
  private readonly options: GitHubSimulatorOptions;
  private readonly dispatcher: JobDispatcher;
  private readonly operations: Record<string, OperationSpec>;
  private emulation: RunnerEmulation | undefined;
  private readonly sessions: RunnerSessions;
  private server: Server | undefined;
  private socketServer: Server | undefined;
  private baseUrl = "";
  private faultIds = 0;

  constructor(options: GitHubSimulatorOptions = {}) {
    this.options = options;
    this.catalog = new OpenApiCatalog();
    this.limits = new RateLimits(options.rateLimit ?? 5000);
    this.dispatcher = new JobDispatcher({
      state: this.state,
      webUrl: () => this.url,
      apiUrl: () => this.apiUrl,
      webhook: options.webhook,
      timeoutMs: options.webhookTimeoutMs,
    });
    this.operations = { ...OPERATIONS, ...webhookDeliveryOperations(this.dispatcher) };
    this.sessions = new RunnerSessions({ state: this.state, dispatcher: this.dispatcher, webUrl: () => this.url });
  }

  /** `http://127.0.0.1:<port>`: a Runner URL such as `${url}/my-org` points here. */
  get url(): string {
    if (!this.baseUrl) throw new Error("the GitHub simulator is not started");
    return this.baseUrl;
  }
  /** The REST base URL (`${url}/api/v3`), as for GitHub Enterprise Server. */
  get apiUrl(): string {
    return `${this.url}${API_PREFIX}`;
  }

  async start(): Promise<this> {
    const server = this.httpServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port ?? 0, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const socketPath = this.options.runnerSocket;
    if (socketPath) {
      mkdirSync(dirname(socketPath), { recursive: true });
      rmSync(socketPath, { force: true });
      const socketServer = this.httpServer();
      await new Promise<void>((resolve, reject) => {
        socketServer.once("error", reject);
        socketServer.listen(socketPath, () => resolve());
      });
      // The runner container runs as its own uid: it must be able to reach and connect to it.
      chmodSync(dirname(socketPath), 0o777);
      chmodSync(socketPath, 0o777);
      this.socketServer = socketServer;
    }
    if (this.options.runners) {
      this.emulation = new RunnerEmulation(this.state, this.dispatcher, this.options.runners);
      this.dispatcher.setEmulation(this.emulation);
      await this.emulation.start();
    }
    return this;
  }

  async stop(): Promise<void> {
    await this.emulation?.stop();
    this.dispatcher.stop();
    this.sessions.stop();
    const servers = [this.server, this.socketServer].filter((server) => server !== undefined);
    this.server = undefined;
    this.socketServer = undefined;
    await Promise.all(
      servers.map((server) => {
        server.closeAllConnections();
        return new Promise<void>((resolve) => server.close(() => resolve()));
      }),
    );
  }

  private httpServer(): Server {
    return createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: `GitHub simulator failed: ${(error as Error).message}` }));
      });
    });
  }

  // ---- the world ----------------------------------------------------------------------------

  /** A GitHub App with a fresh RSA key: give `privateKey` to the client under test. */
  createApp(options: { slug?: string } = {}): { appId: number; privateKey: string } {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const appId = this.state.nextId("app", 1001);
    this.state.apps.set(appId, { id: appId, slug: options.slug ?? `octorun-test-${appId}`, publicKey });
    return { appId, privateKey: privateKey.export({ type: "pkcs1", format: "pem" }).toString() };
  }

  /** Installs an App on an organization or user account; returns the installation id. */
  addInstallation(options: {
    appId: number;
    account: string;
    accountType?: "Organization" | "User";
    permissions?: Record<string, "read" | "write">;
  }): number {
    const accountType = options.accountType ?? (this.state.organization(options.account) ? "Organization" : "User");
    const installation: SimInstallation = {
      id: this.state.nextId("installation", 40_001),
      appId: options.appId,
      account: options.account,
      accountType,
      permissions: options.permissions ?? {
        administration: "write",
        organization_self_hosted_runners: "write",
        actions: "read",
        metadata: "read",
      },
    };
    this.state.installations.set(installation.id, installation);
    return installation.id;
  }

  /** A classic personal access token with these scopes (e.g. `manage_runners:enterprise`). */
  addPersonalAccessToken(options: { login?: string; scopes: string[] }): string {
    const token = `ghp_${randomBytes(27).toString("base64url").replace(/[-_]/g, "x").slice(0, 36)}`;
    this.state.pats.set(token, { token, login: options.login ?? "octocat", scopes: options.scopes });
    return token;
  }

  addOrganization(login: string, options: { enterprise?: string } = {}) {
    if (options.enterprise) this.state.addEnterprise(options.enterprise);
    return this.state.addOrganization(login, options.enterprise);
  }
  addRepository(fullName: string) {
    return this.state.addRepository(fullName);
  }
  addEnterprise(slug: string) {
    return this.state.addEnterprise(slug);
  }
  addRunnerGroup(scope: ScopeRef, name: string) {
    return this.state.addRunnerGroup(scope, name);
  }

  /**
   * Registers a runner directly (as if configured earlier), e.g. to fill lists for pagination.
   * Names are unique in a scope on GitHub: an idle runner of the same name is replaced, as
   * `config.sh --replace` does.
   */
  addRunner(
    scope: ScopeRef,
    options: { name: string; labels?: string[]; status?: "online" | "offline"; busy?: boolean; groupId?: number },
  ): SimRunner {
    for (const old of this.state.runnersOf(scope)) {
      if (old.name.toLowerCase() === options.name.toLowerCase() && !old.busy) this.state.runners.delete(old.id);
    }
    const runner: SimRunner = {
      id: this.state.nextId("runner", 20),
      name: options.name,
      scope,
      os: "linux",
      status: options.status ?? "offline",
      busy: options.busy ?? false,
      labels: (options.labels ?? ["self-hosted"]).map((name) => ({
        id: this.state.nextId("label", 1),
        name,
        type: name === "self-hosted" ? "read-only" : "custom",
      })),
      runnerGroupId: options.groupId ?? 1,
      ephemeral: false,
      workFolder: "_work",
      encodedJitConfig: undefined,
      pod: undefined,
      jobId: undefined,
    };
    this.state.runners.set(runner.id, runner);
    if (runner.status === "online") this.dispatcher.schedule();
    return runner;
  }

  runners(): SimRunner[] {
    return [...this.state.runners.values()].sort((a, b) => a.id - b.id);
  }
  runner(id: number): SimRunner | undefined {
    return this.state.runners.get(id);
  }
  /** What the runner emulation made of each runner Pod it saw (`namespace/name` → runner id or problem). */
  runnerPods(): EmulatedPod[] {
    return [...(this.emulation?.pods.values() ?? [])];
  }

  /** Runner processes (the runner image on a real node) that came online through the runner socket. */
  runnerProcesses(): readonly RunnerProcessStart[] {
    return this.sessions.started;
  }

  /** Marks a runner online or offline directly (without runner emulation). */
  setRunnerStatus(id: number, status: "online" | "offline"): void {
    const runner = this.state.runners.get(id);
    if (!runner) throw new Error(`no runner ${id}`);
    runner.status = status;
    if (status === "online") this.dispatcher.schedule();
  }

  // ---- faults and rate limits ---------------------------------------------------------------

  injectFault(fault: Fault): number {
    const id = ++this.faultIds;
    this.faults.push({ ...fault, id, remaining: fault.times ?? 1 });
    return id;
  }
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Changes a credential's primary budget (`installation:<id>`, `pat:<login>`, `app:<id>`). */
  setRateLimit(credential: string, change: { limit?: number; remaining?: number; resetInSeconds?: number }): Budget {
    return this.limits.set(credential, Date.now(), change);
  }
  rateLimit(credential: string): Budget {
    return this.limits.budget(credential, Date.now());
  }

  // ---- inspection ---------------------------------------------------------------------------

  requests(filter: { operationId?: string; credential?: string } = {}): RequestLogEntry[] {
    return this.log.filter(
      (e) =>
        (filter.operationId === undefined || e.operationId === filter.operationId) &&
        (filter.credential === undefined || e.credential === filter.credential),
    );
  }
  clearRequests(): void {
    this.log.length = 0;
  }
  /** Returns the violations seen so far and forgets them. */
  takeViolations(): Violation[] {
    return this.violations.splice(0);
  }
  /** Throws if any request or response broke GitHub's description. */
  assertNoViolations(): void {
    if (this.violations.length > 0) {
      throw new Error(
        `GitHub simulator saw ${this.violations.length} OpenAPI violation(s):\n${JSON.stringify(this.violations, null, 2)}`,
      );
    }
  }

  // ---- jobs and webhooks --------------------------------------------------------------------

  setWebhook(target: WebhookTarget | undefined): void {
    this.dispatcher.setWebhook(target);
  }
  /**
   * Compiles the schema checks of workflow_job payloads now (about a second of CPU) instead of at
   * the first delivery of each action, so a measurement does not pay for it.
   */
  prepareJobWebhooks(): void {
    this.dispatcher.prepare();
  }
  /** Queues a job with `runs-on` labels; an online idle runner whose labels match takes it. */
  queueJob(options: QueueJobOptions): Promise<SimJob> {
    return this.dispatcher.queue(options);
  }
  completeJob(jobId: number, conclusion: JobConclusion = "success"): Promise<SimJob> {
    return this.dispatcher.complete(jobId, conclusion);
  }
  jobs(): SimJob[] {
    return [...this.state.jobs.values()];
  }
  job(id: number): SimJob | undefined {
    return this.state.jobs.get(id);
  }
  /** Every webhook delivery attempt (first ones and redeliveries), oldest first. */
  deliveries(): WebhookDelivery[] {
    return this.dispatcher.deliveries;
  }
  /** Sends an earlier delivery attempt again (same body and `X-GitHub-Delivery`), as the REST redelivery does. */
  redeliver(id: number): Promise<WebhookDelivery> {
    return this.dispatcher.redeliver(id);
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? "/", "http://simulator");
    const method = (req.method ?? "GET").toUpperCase();
    const raw = await readBody(req);
    if (url.pathname.startsWith("/_simulator/")) return this.control(method, url, raw, res);
    if (url.pathname.startsWith("/_runner/")) return this.runnerRoute(method, url, raw, res);
    const requestId = `${randomBytes(4).toString("hex").toUpperCase()}:${randomBytes(4).toString("hex").toUpperCase()}`;
    const entry: RequestLogEntry = {
      at: started,
      method,
      path: url.pathname + url.search,
      operationId: undefined,
      status: 0,
      credential: undefined,
      durationMs: 0,
    };
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const payload = body === undefined ? "" : JSON.stringify(body);
      res.writeHead(status, {
        ...(payload ? { "content-type": "application/json; charset=utf-8" } : {}),
        "x-github-request-id": requestId,
        "x-github-media-type": "github.v3; format=json",
        "x-github-api-version-selected": "2022-11-28",
        ...headers,
      });
      res.end(payload);
      entry.status = status;
      entry.durationMs = Date.now() - started;
      this.log.push(entry);
    };
    if (!url.pathname.startsWith(`${API_PREFIX}/`)) {
      return send(404, { message: "Not Found", documentation_url: GENERIC_DOCS, status: "404" });
    }
    const path = url.pathname.slice(API_PREFIX.length);
    const matched = this.catalog.match(method, path);
    const spec = matched ? this.operations[matched.route.operationId] : undefined;
    if (!matched || !spec) return send(404, { message: "Not Found", documentation_url: GENERIC_DOCS, status: "404" });
    const operationId = matched.route.operationId;
    entry.operationId = operationId;

    // Every answer from here on is checked against the operation's responses.
    const answer = (response: SimResponse) => {
      const check = this.catalog.validateResponse(operationId, response.status, response.body);
      if (!check.valid) {
        this.violation({
          kind: "response",
          operationId,
          status: response.status,
          errors: check.errors,
          method,
          path: entry.path,
        });
        return send(500, {
          message: `GitHub simulator: its ${response.status} response to ${operationId} violates GitHub's OpenAPI description: ${check.errors.join("; ")}`,
          documentation_url: GENERIC_DOCS,
        });
      }
      return send(response.status, response.body, response.headers);
    };
    const fail = (error: HttpError, headers: Record<string, string> = {}) =>
      answer({
        status: error.status,
        body: { message: error.message, documentation_url: error.documentationUrl, status: String(error.status) },
        headers: { ...headers, ...error.headers },
      });

    // Authentication.
    const principal = this.authenticate(req.headers.authorization, started);
    if (principal instanceof HttpError) return fail(principal);
    const credential =
      principal.kind === "app"
        ? `app:${principal.appId}`
        : principal.kind === "installation"
          ? `installation:${principal.installation.id}`
          : `pat:${principal.pat.login}`;
    entry.credential = credential;
    if (spec.auth === "jwt" && principal.kind !== "app") {
      return fail(new HttpError(401, "A JSON web token could not be decoded", { documentationUrl: GENERIC_DOCS }));
    }
    if (spec.auth === "token" && principal.kind === "app") {
      return fail(new HttpError(403, "Resource not accessible by integration", { documentationUrl: GENERIC_DOCS }));
    }

    // Rate limits: `GET /rate_limit` is free of the primary limit.
    const budget = this.limits.budget(credential, started);
    if (budget.secondaryUntil > started) {
      entry.rateLimited = "secondary";
      return this.secondary(answer, budget, requestId);
    }
    if (operationId !== "rate-limit/get") {
      if (remaining(budget) === 0) {
        entry.rateLimited = "primary";
        return answer({
          status: 403,
          body: primaryLimitBody(who(principal), requestId),
          headers: rateLimitHeaders(budget),
        });
      }
      budget.used += 1;
    }
    const limitHeaders = rateLimitHeaders(budget);

    // Faults.
    const fault = this.takeFault(operationId);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault) entry.faulted = true;
    if (fault?.kind === "primary-rate-limit") {
      this.limits.set(credential, started, { remaining: 0, resetInSeconds: fault.resetAfterSeconds ?? 60 });
      entry.rateLimited = "primary";
      const status = fault.rateLimitStatus ?? 403;
      return answer({
        status,
        body: { ...primaryLimitBody(who(principal), requestId), status: String(status) },
        headers: rateLimitHeaders(budget),
      });
    }
    if (fault?.kind === "secondary-rate-limit") {
      this.limits.startSecondary(
        credential,
        started,
        fault.retryAfterSeconds,
        fault.rateLimitStatus ?? 403,
        fault.windowSeconds,
      );
      entry.rateLimited = "secondary";
      return this.secondary(answer, budget, requestId);
    }
    const faultResponse = (): SimResponse | undefined =>
      fault?.status === undefined
        ? undefined
        : {
            status: fault.status,
            body:
              fault.body ??
              (fault.status === 204
                ? undefined
                : {
                    message: fault.status >= 500 ? "Server Error" : "Simulated fault",
                    documentation_url: GENERIC_DOCS,
                  }),
            headers: { ...limitHeaders, ...fault.headers },
          };
    if (fault && !fault.afterHandler && fault.status !== undefined) return answer(faultResponse() as SimResponse);

    // Scope and permission.
    let acceptedHeaders: Record<string, string> = {};
    if (spec.scope) {
      const scope = spec.scope(matched.params);
      const needed = requiredPermission(scope, spec.access ?? "read");
      const permission = spec.permission ?? needed.permission;
      acceptedHeaders = permission ? { "x-accepted-github-permissions": permission } : {};
      if (principal.kind === "pat")
        acceptedHeaders = {
          "x-accepted-oauth-scopes": needed.oauthScope,
          "x-oauth-scopes": principal.pat.scopes.join(", "),
        };
      const denied = this.authorize(principal, scope, permission, needed.oauthScope);
      if (denied) return fail(denied, { ...limitHeaders, ...acceptedHeaders });
      if (!scopeExists(this.state, scope)) {
        return fail(new HttpError(404, "Not Found", { documentationUrl: GENERIC_DOCS }), {
          ...limitHeaders,
          ...acceptedHeaders,
        });
      }
    }

    // The request must match GitHub's description; a client that breaks it is a bug to report.
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        return fail(new HttpError(400, "Problems parsing JSON"), limitHeaders);
      }
    }
    const queryCheck = this.catalog.validateQuery(operationId, url.searchParams);
    const bodyCheck = this.catalog.validateRequestBody(operationId, body);
    if (!queryCheck.valid || !bodyCheck.valid) {
      const errors = [...queryCheck.errors, ...bodyCheck.errors];
      this.violation({ kind: "request", operationId, errors, method, path: entry.path });
      return fail(new HttpError(422, `Invalid request.\n\n${errors.join("\n")}`), {
        ...limitHeaders,
        ...acceptedHeaders,
      });
    }

    let response: SimResponse;
    try {
      response =
        operationId === "rate-limit/get"
          ? { status: 200, body: this.rateLimitOverview(budget) }
          : spec.handle({
              state: this.state,
              catalog: this.catalog,
              params: matched.params,
              query: url.searchParams,
              body,
              principal,
              apiUrl: this.apiUrl,
              webUrl: this.url,
              now: started,
              requestPath: path,
            });
    } catch (error) {
      if (error instanceof HttpError) return fail(error, { ...limitHeaders, ...acceptedHeaders });
      throw error;
    }
    if (operationId.includes("jitconfig") || operationId.includes("delete-self-hosted-runner"))
      this.dispatcher.schedule();
    if (fault?.afterHandler && fault.status !== undefined) return answer(faultResponse() as SimResponse);
    return answer({ ...response, headers: { ...limitHeaders, ...acceptedHeaders, ...response.headers } });
  }

  private secondary(answer: (r: SimResponse) => void, budget: Budget, requestId: string) {
    const headers: Record<string, string> = { ...rateLimitHeaders(budget) };
    if (budget.secondaryRetryAfter !== undefined) headers["retry-after"] = String(budget.secondaryRetryAfter);
    return answer({
      status: budget.secondaryStatus,
      body: secondaryLimitBody(requestId, budget.secondaryStatus),
      headers,
    });
  }

  private authenticate(header: string | undefined, now: number): Principal | HttpError {
    if (!header) return new HttpError(401, "Requires authentication", { documentationUrl: GENERIC_DOCS });
    const [scheme = "", value = ""] = header.split(" ", 2);
    const bad = new HttpError(401, "Bad credentials", { documentationUrl: GENERIC_DOCS });
    if (scheme.toLowerCase() === "bearer" && value.split(".").length === 3) {
      const check = verifyAppJwt(value, (id) => this.state.apps.get(id)?.publicKey, now);
      if (!check.ok) return new HttpError(401, check.message, { documentationUrl: GENERIC_DOCS });
      return { kind: "app", appId: check.appId };
    }
    if (scheme.toLowerCase() !== "token" && scheme.toLowerCase() !== "bearer") return bad;
    const installationToken = this.state.installationTokens.get(value);
    if (installationToken) {
      const installation = this.state.installations.get(installationToken.installationId);
      if (!installation || installationToken.expiresAt <= now) return bad;
      return { kind: "installation", installation, token: value };
    }
    const pat = this.state.pats.get(value);
    if (pat) return { kind: "pat", pat };
    return bad;
  }

  private authorize(
    principal: Principal,
    scope: ScopeRef,
    permission: string,
    oauthScope: string,
  ): HttpError | undefined {
    if (principal.kind === "pat") {
      if (principal.pat.scopes.includes(oauthScope)) return undefined;
      return new HttpError(403, "Resource not accessible by personal access token", { documentationUrl: GENERIC_DOCS });
    }
    if (principal.kind !== "installation") return new HttpError(403, "Resource not accessible by integration");
    const { installation } = principal;
    // Enterprise runner routes are not enabled for GitHub Apps (x-github.enabledForGitHubApps: false).
    if (scope.kind === "enterprise") return new HttpError(403, "Resource not accessible by integration");
    const owner = scope.kind === "repository" ? scope.owner : scope.org;
    if (owner.toLowerCase() !== installation.account.toLowerCase()) return new HttpError(404, "Not Found");
    const [name = "", access = "read"] = permission.split("=");
    const granted = installation.permissions[name];
    if (granted === "write" || (granted === "read" && access === "read")) return undefined;
    return new HttpError(403, "Resource not accessible by integration");
  }

  private takeFault(operationId: string): ActiveFault | undefined {
    const index = this.faults.findIndex((f) => f.remaining > 0 && (f.operation === operationId || f.operation === "*"));
    if (index < 0) return undefined;
    const fault = this.faults[index] as ActiveFault;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return fault;
  }

  private rateLimitOverview(budget: Budget) {
    const body = this.catalog.example("api.github.com", "rate-limit-overview") as {
      resources: Record<string, unknown>;
      rate: unknown;
    };
    const core = { limit: budget.limit, used: budget.used, remaining: remaining(budget), reset: budget.reset };
    return { ...body, resources: { ...body.resources, core }, rate: core };
  }

  private violation(violation: Violation): void {
    this.violations.push(violation);
    if (this.options.onViolation) this.options.onViolation(violation);
    else console.error(`GitHub simulator: OpenAPI violation: ${JSON.stringify(violation)}`);
  }

  // ---- control API over HTTP (for the sandbox and benchmarks) ---------------------------------

  /** The runner process's routes (runner-sessions.ts); a body that is not JSON gets a 400. */
  private async runnerRoute(method: string, url: URL, raw: Buffer, res: ServerResponse): Promise<void> {
    let body: unknown;
    try {
      body = raw.length > 0 ? JSON.parse(raw.toString("utf8")) : undefined;
    } catch {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: "the body is not JSON" }));
      return;
    }
    const answer = await this.sessions.handle(method, url, body);
    res.writeHead(answer.status, answer.body === undefined ? {} : { "content-type": "application/json" });
    res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
  }

  private async control(method: string, url: URL, raw: Buffer, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    try {
      // biome-ignore lint/suspicious/noExplicitAny: control API bodies are checked by the methods they feed
      const body: any = raw.length > 0 ? JSON.parse(raw.toString("utf8")) : {};
      const route = `${method} ${url.pathname.replace(/\/\d+/g, "/:id")}`;
      const id = Number(/\/(\d+)/.exec(url.pathname)?.[1]);
      switch (route) {
        case "GET /_simulator/runners":
          return reply(
            200,
            this.runners().map(({ encodedJitConfig: _secret, credential: _credential, ...r }) => r),
          );
        case "GET /_simulator/jobs":
          return reply(200, this.jobs());
        case "POST /_simulator/jobs":
          return reply(201, await this.queueJob(body));
        case "POST /_simulator/jobs/:id/complete":
          return reply(200, await this.completeJob(id, body.conclusion));
        case "GET /_simulator/requests":
          return reply(200, this.requests({ operationId: url.searchParams.get("operationId") ?? undefined }));
        case "DELETE /_simulator/requests":
          this.clearRequests();
          return reply(200, {});
        case "POST /_simulator/faults":
          return reply(201, { id: this.injectFault(body) });
        case "DELETE /_simulator/faults":
          this.clearFaults();
          return reply(200, {});
        case "GET /_simulator/deliveries":
          return reply(
            200,
            this.deliveries().map(({ body: _b, ...d }) => d),
          );
        case "POST /_simulator/deliveries/:id/attempts": {
          const { body: _b, ...attempt } = await this.redeliver(id);
          return reply(201, attempt);
        }
        case "GET /_simulator/violations":
          return reply(200, this.violations);
        case "PUT /_simulator/webhook":
          this.setWebhook(body.url ? body : undefined);
          return reply(200, {});
        default:
          return reply(404, { message: `no control route ${route}` });
      }
    } catch (error) {
      reply(400, { message: (error as Error).message });
    }
  }
}

function who(principal: Principal): string {
  switch (principal.kind) {
    case "installation":
      return `installation ID ${principal.installation.id}`;
    case "pat":
      return `user ID ${principal.pat.login}`;
    case "app":
      return `app ID ${principal.appId}`;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
