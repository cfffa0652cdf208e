// The REST operations of the simulated GitHub, keyed by GitHub's operation ids. Each handler reads
// and changes SimState and returns the status and body GitHub would; responses are built from
// GitHub's published examples so that fields the simulator does not care about still have the
// right shape. Authentication, permissions, rate limits, faults and schema checks happen around
// them in simulator.ts.
import { randomBytes } from "node:crypto";
import type { OpenApiCatalog } from "./openapi.ts";
import { type ScopeRef, type SimInstallation, type SimPat, type SimRunner, type SimState, scopeKey } from "./state.ts";

export type Principal =
  | { kind: "app"; appId: number }
  | { kind: "installation"; installation: SimInstallation; token: string }
  | { kind: "pat"; pat: SimPat };

export interface HandlerContext {
  state: SimState;
  catalog: OpenApiCatalog;
  params: Record<string, string>;
  query: URLSearchParams;
  // biome-ignore lint/suspicious/noExplicitAny: request bodies were validated against GitHub's schema
  body: any;
  principal: Principal;
  /** `http://127.0.0.1:<port>/api/v3` */
  apiUrl: string;
  /** `http://127.0.0.1:<port>` */
  webUrl: string;
  now: number;
  requestPath: string;
}

export interface SimResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** An error answer; `body` defaults to GitHub's basic-error shape with `message`. */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly documentationUrl: string;
  constructor(
    status: number,
    message: string,
    options: { headers?: Record<string, string>; documentationUrl?: string } = {},
  ) {
    super(message);
    this.status = status;
    this.headers = options.headers ?? {};
    this.documentationUrl = options.documentationUrl ?? "https://docs.github.com/rest/actions/self-hosted-runners";
  }
}

export interface OperationSpec {
  /** `jwt`: GitHub App JWT only; `token`: installation token or PAT; `any`: either. */
  auth: "jwt" | "token" | "any";
  scope?: (params: Record<string, string>) => ScopeRef;
  access?: "read" | "write";
  /** App permission other than the scope's runner permission (e.g. `actions=read` for jobs). */
  permission?: string;
  handle: (ctx: HandlerContext) => SimResponse;
}

const repoScope = (p: Record<string, string>): ScopeRef => ({
  kind: "repository",
  owner: p.owner ?? "",
  repo: p.repo ?? "",
});
const orgScope = (p: Record<string, string>): ScopeRef => ({ kind: "organization", org: p.org ?? "" });
const enterpriseScope = (p: Record<string, string>): ScopeRef => ({
  kind: "enterprise",
  enterprise: p.enterprise ?? "",
});

const DOCS = "https://docs.github.com/rest/actions/self-hosted-runners";
const TOKEN_LIFETIME_MS = 3600_000;

function scopeDocument(scope: ScopeRef): string {
  return scope.kind === "enterprise" ? "ghec" : "api.github.com";
}

/** The path of a scope's runner collection, for `url` fields. */
function scopePath(scope: ScopeRef): string {
  switch (scope.kind) {
    case "repository":
      return `/repos/${scope.owner}/${scope.repo}`;
    case "organization":
      return `/orgs/${scope.org}`;
    case "enterprise":
      return `/enterprises/${scope.enterprise}`;
  }
}

function randomToken(prefix: string, length = 36): string {
  return prefix + randomBytes(length).toString("base64url").replace(/[-_]/g, "A").slice(0, length);
}

const READ_ONLY_LABELS = new Set(["self-hosted", "linux", "windows", "macos", "x64", "arm", "arm64"]);

export function runnerJson(runner: SimRunner): Record<string, unknown> {
  return {
    id: runner.id,
    name: runner.name,
    os: runner.os,
    status: runner.status,
    busy: runner.busy,
    ephemeral: runner.ephemeral,
    runner_group_id: runner.runnerGroupId,
    labels: runner.labels,
  };
}

function issueToken(ctx: HandlerContext, scope: ScopeRef): SimResponse {
  const token = randomToken("A", 29).toUpperCase();
  const expiresAt = ctx.now + TOKEN_LIFETIME_MS;
  ctx.state.registrationTokens.set(token, { scope, expiresAt });
  return { status: 201, body: { token, expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z") } };
}

function generateJitConfig(ctx: HandlerContext, scope: ScopeRef): SimResponse {
  const {
    name,
    runner_group_id: groupId,
    labels,
    work_folder: workFolder = "_work",
  } = ctx.body as {
    name: string;
    runner_group_id: number;
    labels: string[];
    work_folder?: string;
  };
  const group = ctx.state.groupsOf(scope).find((g) => g.id === groupId);
  if (!group) throw new HttpError(404, `Runner group ${groupId} not found`, { documentationUrl: DOCS });
  if (ctx.state.runnersOf(scope).some((r) => r.name.toLowerCase() === name.toLowerCase())) {
    throw new HttpError(409, `Already exists - A runner with the name ${name} already exists.`, {
      documentationUrl: DOCS,
    });
  }
  const id = ctx.state.nextId("runner", 20);
  const runner: SimRunner = {
    id,
    name,
    scope,
    os: "unknown",
    status: "offline",
    busy: false,
    labels: labels.map((label) => ({
      id: ctx.state.nextId("label", 1),
      name: label,
      type: READ_ONLY_LABELS.has(label.toLowerCase()) ? "read-only" : "custom",
    })),
    runnerGroupId: group.id,
    ephemeral: true,
    workFolder,
    encodedJitConfig: undefined,
    pod: undefined,
    jobId: undefined,
  };
  // The real value is a base64 JSON map of the runner's config files; the simulator keeps that
  // shape, so an emulated runner can read its id back from `.runner` as the real one does.
  const file = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");
  runner.encodedJitConfig = Buffer.from(
    JSON.stringify({
      ".runner": file({
        AgentId: id,
        AgentName: name,
        PoolId: group.id,
        PoolName: group.name,
        ServerUrl: `${ctx.webUrl}/_services/pipelines/${randomBytes(8).toString("hex")}`,
        GitHubUrl: `${ctx.webUrl}${scopePath(scope).replace(/^\/(repos|orgs)/, "")}`,
        WorkFolder: workFolder,
        Ephemeral: true,
      }),
      ".credentials": file({ Scheme: "OAuth", Data: { ClientId: randomBytes(16).toString("hex") } }),
      ".credentials_rsaparams": randomBytes(48).toString("base64"),
    }),
  ).toString("base64");
  ctx.state.runners.set(id, runner);
  return { status: 201, body: { runner: runnerJson(runner), encoded_jit_config: runner.encodedJitConfig } };
}

/** `per_page` (default 30, at most 100) and `page`, with GitHub's `Link` header. */
function paginate<T>(ctx: HandlerContext, items: T[]): { page: T[]; headers: Record<string, string> } {
  const perPage = Math.min(100, Math.max(1, Number(ctx.query.get("per_page") ?? 30)));
  const pageNo = Math.max(1, Number(ctx.query.get("page") ?? 1));
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const page = items.slice((pageNo - 1) * perPage, pageNo * perPage);
  const link = (n: number, rel: string) => {
    const query = new URLSearchParams(ctx.query);
    query.set("per_page", String(perPage));
    query.set("page", String(n));
    return `<${ctx.apiUrl}${ctx.requestPath}?${query}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (pageNo > 1) links.push(link(pageNo - 1, "prev"));
  if (pageNo < last) links.push(link(pageNo + 1, "next"), link(last, "last"));
  if (pageNo > 1) links.push(link(1, "first"));
  return { page, headers: links.length > 0 ? { link: links.join(", ") } : {} };
}

function listRunners(ctx: HandlerContext, scope: ScopeRef): SimResponse {
  const name = ctx.query.get("name");
  const all = ctx.state.runnersOf(scope).filter((r) => name === null || r.name === name);
  const { page, headers } = paginate(ctx, all);
  return { status: 200, headers, body: { total_count: all.length, runners: page.map(runnerJson) } };
}

function findRunner(ctx: HandlerContext, scope: ScopeRef): SimRunner {
  const id = Number(ctx.params.runner_id);
  const runner = ctx.state.runners.get(id);
  if (!runner || scopeKey(runner.scope) !== scopeKey(scope))
    throw new HttpError(404, "Not Found", { documentationUrl: DOCS });
  return runner;
}

function deleteRunner(ctx: HandlerContext, scope: ScopeRef): SimResponse {
  const runner = findRunner(ctx, scope);
  if (runner.busy) {
    throw new HttpError(422, `Bad request - Runner "${runner.name}" is still running a job"`, {
      documentationUrl: DOCS,
    });
  }
  ctx.state.runners.delete(runner.id);
  return { status: 204 };
}

function listGroups(ctx: HandlerContext, scope: ScopeRef): SimResponse {
  const groups = ctx.state.groupsOf(scope);
  const { page, headers } = paginate(ctx, groups);
  const base = `${ctx.apiUrl}${scopePath(scope)}/actions/runner_groups`;
  const runnerGroups = page.map((g) => ({
    id: g.id,
    name: g.name,
    visibility: "all",
    default: g.default,
    runners_url: `${base}/${g.id}/runners`,
    ...(scope.kind === "organization" ? { inherited: false } : {}),
    allows_public_repositories: false,
    restricted_to_workflows: false,
    selected_workflows: [],
    workflow_restrictions_read_only: false,
  }));
  return { status: 200, headers, body: { total_count: groups.length, runner_groups: runnerGroups } };
}

function account(ctx: HandlerContext, login: string, type: "Organization" | "User", id: number) {
  const api = ctx.apiUrl;
  const kind = type === "Organization" ? "orgs" : "users";
  return {
    login,
    id,
    node_id: Buffer.from(`${type}${id}`).toString("base64"),
    avatar_url: `${ctx.webUrl}/avatars/${login}`,
    gravatar_id: "",
    url: `${api}/${kind}/${login}`,
    html_url: `${ctx.webUrl}/${login}`,
    followers_url: `${api}/users/${login}/followers`,
    following_url: `${api}/users/${login}/following{/other_user}`,
    gists_url: `${api}/users/${login}/gists{/gist_id}`,
    starred_url: `${api}/users/${login}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/users/${login}/subscriptions`,
    organizations_url: `${api}/users/${login}/orgs`,
    repos_url: `${api}/${kind}/${login}/repos`,
    events_url: `${api}/${kind}/${login}/events`,
    received_events_url: `${api}/users/${login}/received_events`,
    type,
    site_admin: false,
  };
}

function installationJson(ctx: HandlerContext, installation: SimInstallation) {
  const body = ctx.catalog.example("api.github.com", "installation");
  const app = ctx.state.apps.get(installation.appId);
  const accountId = ctx.state.organization(installation.account)?.id ?? 1;
  return {
    ...body,
    id: installation.id,
    app_id: installation.appId,
    app_slug: app?.slug ?? "octorun",
    client_id: `Iv1.${installation.appId}`,
    account: account(ctx, installation.account, installation.accountType, accountId),
    target_id: accountId,
    target_type: installation.accountType,
    repository_selection: "all",
    access_tokens_url: `${ctx.apiUrl}/app/installations/${installation.id}/access_tokens`,
    repositories_url: `${ctx.apiUrl}/installation/repositories`,
    html_url: `${ctx.webUrl}/organizations/${installation.account}/settings/installations/${installation.id}`,
    permissions: installation.permissions,
    events: ["workflow_job"],
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
  };
}

function discoverInstallation(ctx: HandlerContext, owner: string): SimResponse {
  const principal = ctx.principal;
  if (principal.kind !== "app") throw new HttpError(401, "A JSON web token could not be decoded");
  const installation = [...ctx.state.installations.values()].find(
    (i) => i.appId === principal.appId && i.account.toLowerCase() === owner.toLowerCase(),
  );
  if (!installation)
    throw new HttpError(404, "Not Found", { documentationUrl: "https://docs.github.com/rest/apps/apps" });
  return { status: 200, body: installationJson(ctx, installation) };
}

function jobJson(ctx: HandlerContext): SimResponse {
  const job = ctx.state.jobs.get(Number(ctx.params.job_id));
  const repo = `${ctx.params.owner}/${ctx.params.repo}`.toLowerCase();
  if (!job || job.repository.toLowerCase() !== repo) throw new HttpError(404, "Not Found");
  const body = ctx.catalog.example("api.github.com", "job");
  const url = `${ctx.apiUrl}/repos/${job.repository}/actions/jobs/${job.id}`;
  return {
    status: 200,
    body: {
      ...body,
      id: job.id,
      run_id: job.runId,
      run_attempt: job.runAttempt,
      run_url: `${ctx.apiUrl}/repos/${job.repository}/actions/runs/${job.runId}`,
      url,
      html_url: `${ctx.webUrl}/${job.repository}/actions/runs/${job.runId}/job/${job.id}`,
      status: job.status,
      conclusion: job.conclusion,
      created_at: job.createdAt,
      started_at: job.startedAt ?? job.createdAt,
      completed_at: job.completedAt ?? null,
      name: job.name,
      workflow_name: job.workflowName,
      labels: job.labels,
      runner_id: job.runner?.id ?? null,
      runner_name: job.runner?.name ?? null,
      runner_group_id: job.runner?.groupId ?? null,
      runner_group_name: job.runner?.groupName ?? null,
      steps: [],
    },
  };
}

export const OPERATIONS: Record<string, OperationSpec> = {
  "apps/get-authenticated": {
    auth: "jwt",
    handle: (ctx) => {
      const principal = ctx.principal as { kind: "app"; appId: number };
      const app = ctx.state.apps.get(principal.appId);
      const body = ctx.catalog.example("api.github.com", "integration");
      return {
        status: 200,
        body: { ...body, id: principal.appId, slug: app?.slug, name: app?.slug, client_id: `Iv1.${principal.appId}` },
      };
    },
  },
  "apps/get-org-installation": { auth: "jwt", handle: (ctx) => discoverInstallation(ctx, ctx.params.org ?? "") },
  "apps/get-repo-installation": {
    auth: "jwt",
    handle: (ctx) => {
      if (!ctx.state.repository(ctx.params.owner ?? "", ctx.params.repo ?? "")) throw new HttpError(404, "Not Found");
      return discoverInstallation(ctx, ctx.params.owner ?? "");
    },
  },
  "apps/create-installation-access-token": {
    auth: "jwt",
    handle: (ctx) => {
      const principal = ctx.principal as { kind: "app"; appId: number };
      const installation = ctx.state.installations.get(Number(ctx.params.installation_id));
      if (!installation || installation.appId !== principal.appId) throw new HttpError(404, "Not Found");
      const token = randomToken("ghs_", 36);
      const expiresAt = ctx.now + TOKEN_LIFETIME_MS;
      ctx.state.installationTokens.set(token, { installationId: installation.id, expiresAt });
      return {
        status: 201,
        body: {
          token,
          expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
          permissions: installation.permissions,
          repository_selection: "all",
        },
      };
    },
  },
  "rate-limit/get": { auth: "any", handle: () => ({ status: 200 }) }, // filled in by the simulator (it owns the budgets)
  "actions/get-job-for-workflow-run": {
    auth: "token",
    scope: repoScope,
    access: "read",
    permission: "actions=read",
    handle: jobJson,
  },
};

const SCOPES: [string, (p: Record<string, string>) => ScopeRef, string, string][] = [
  ["repo", repoScope, "for-repo", "from-repo"],
  ["org", orgScope, "for-org", "from-org"],
  ["enterprise", enterpriseScope, "for-enterprise", "from-enterprise"],
];
for (const [kind, scopeOf, forSuffix, fromSuffix] of SCOPES) {
  const prefix = kind === "enterprise" ? "enterprise-admin" : "actions";
  const write = (handle: (ctx: HandlerContext, scope: ScopeRef) => SimResponse): OperationSpec => ({
    auth: "token",
    scope: scopeOf,
    access: "write",
    handle: (ctx) => handle(ctx, scopeOf(ctx.params)),
  });
  const read = (handle: (ctx: HandlerContext, scope: ScopeRef) => SimResponse): OperationSpec => ({
    ...write(handle),
    access: "read",
  });
  OPERATIONS[`${prefix}/create-registration-token-${forSuffix}`] = write(issueToken);
  OPERATIONS[`${prefix}/create-remove-token-${forSuffix}`] = write(issueToken);
  OPERATIONS[`actions/generate-runner-jitconfig-${forSuffix}`] = write(generateJitConfig);
  OPERATIONS[`${prefix}/list-self-hosted-runners-${forSuffix}`] = read(listRunners);
  OPERATIONS[`${prefix}/get-self-hosted-runner-${forSuffix}`] = read((ctx, scope) => ({
    status: 200,
    body: runnerJson(findRunner(ctx, scope)),
  }));
  OPERATIONS[`${prefix}/delete-self-hosted-runner-${fromSuffix}`] = write(deleteRunner);
  if (kind !== "repo") {
    OPERATIONS[`${prefix}/list-self-hosted-runner-groups-${forSuffix}`] = read(listGroups);
  }
}
OPERATIONS["actions/get-self-hosted-runner-group-for-org"] = {
  auth: "token",
  scope: orgScope,
  access: "read",
  handle: (ctx) => {
    const scope = orgScope(ctx.params);
    const listed = listGroups({ ...ctx, query: new URLSearchParams({ per_page: "100" }) }, scope).body as {
      runner_groups: { id: number }[];
    };
    const group = listed.runner_groups.find((g) => g.id === Number(ctx.params.runner_group_id));
    if (!group) throw new HttpError(404, "Not Found");
    return { status: 200, body: group };
  },
};

/** What a credential needs for an operation: the App permission and the classic PAT scope. */
export function requiredPermission(
  scope: ScopeRef,
  access: "read" | "write",
): { permission: string; oauthScope: string } {
  switch (scope.kind) {
    case "repository":
      return { permission: `administration=${access}`, oauthScope: "repo" };
    case "organization":
      return { permission: `organization_self_hosted_runners=${access}`, oauthScope: "admin:org" };
    case "enterprise":
      return { permission: "", oauthScope: "manage_runners:enterprise" };
  }
}

/** Does the scope exist in the simulated world? */
export function scopeExists(state: SimState, scope: ScopeRef): boolean {
  switch (scope.kind) {
    case "repository":
      return state.repository(scope.owner, scope.repo) !== undefined;
    case "organization":
      return state.organization(scope.org) !== undefined;
    case "enterprise":
      return state.enterprise(scope.enterprise) !== undefined;
  }
}

export { scopeDocument };
