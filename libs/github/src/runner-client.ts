// Runner operations for one Runner URL (repository, organization or enterprise scope), on top of
// a transport that already handles auth, rate limits, retries and typed errors.

import type { RunnerUrl } from "@octorun/api";
import { GitHubConflictError, GitHubNotFoundError, GitHubRunnerBusyError, GitHubValidationError } from "./errors.ts";
import type { GitHubTransport } from "./transport.ts";
import type { GenerateJitConfigRequest, GitHubRunner, GitHubRunnerClient, JitConfig, RunnerToken } from "./types.ts";

const GROUP_CACHE_MS = 5 * 60_000;
const DEFAULT_GROUP_ID = 1;
const PER_PAGE = 100;

interface ScopeRoutes {
  /** Route prefix with placeholders, e.g. `/orgs/{org}`. */
  prefix: string;
  params: Record<string, string>;
  /** Operation id for a runner operation in this scope. */
  op: (name: "registration-token" | "remove-token" | "jitconfig" | "list" | "get" | "delete" | "groups") => string;
}

function routesFor(target: RunnerUrl): ScopeRoutes {
  const { scope } = target;
  switch (scope.kind) {
    case "repository":
      return {
        prefix: "/repos/{owner}/{repo}",
        params: { owner: scope.owner, repo: scope.repo },
        op: (name) => operationId("actions", name, "repo"),
      };
    case "organization":
      return { prefix: "/orgs/{org}", params: { org: scope.org }, op: (name) => operationId("actions", name, "org") };
    case "enterprise":
      return {
        prefix: "/enterprises/{enterprise}",
        params: { enterprise: scope.enterprise },
        op: (name) => operationId(name === "jitconfig" ? "actions" : "enterprise-admin", name, "enterprise"),
      };
  }
}

function operationId(prefix: string, name: string, scope: string): string {
  switch (name) {
    case "registration-token":
      return `${prefix}/create-registration-token-for-${scope}`;
    case "remove-token":
      return `${prefix}/create-remove-token-for-${scope}`;
    case "jitconfig":
      return `${prefix}/generate-runner-jitconfig-for-${scope}`;
    case "list":
      return `${prefix}/list-self-hosted-runners-for-${scope}`;
    case "get":
      return `${prefix}/get-self-hosted-runner-for-${scope}`;
    case "delete":
      return `${prefix}/delete-self-hosted-runner-from-${scope}`;
    default:
      return `${prefix}/list-self-hosted-runner-groups-for-${scope}`;
  }
}

export class RunnerClient implements GitHubRunnerClient {
  readonly target: RunnerUrl;
  private readonly transport: GitHubTransport;
  private readonly routes: ScopeRoutes;
  private readonly groupCache: Map<string, { id: Promise<number>; expires: number }>;
  private readonly now: () => number;

  constructor(options: {
    target: RunnerUrl;
    transport: GitHubTransport;
    groupCache: Map<string, { id: Promise<number>; expires: number }>;
    now: () => number;
  }) {
    this.target = options.target;
    this.transport = options.transport;
    this.routes = routesFor(options.target);
    this.groupCache = options.groupCache;
    this.now = options.now;
  }

  /**
   * Registers an ephemeral runner. A 409 means a runner of that name exists (e.g. GitHub created it
   * but its answer was lost and the request was retried): the client looks it up by name; if it is
   * idle it is deleted and the registration tried once more; if it is busy, or the name is still
   * taken after that, a GitHubConflictError says so (with the runner holding the name).
   */
  async generateJitConfig(request: GenerateJitConfigRequest): Promise<JitConfig> {
    if (request.labels.length < 1 || request.labels.length > 100) {
      throw new GitHubValidationError(`a JIT runner needs 1 to 100 labels, got ${request.labels.length}`, {
        operation: this.routes.op("jitconfig"),
        status: 0,
      });
    }
    const groupId = await this.runnerGroupId(request.group ?? "Default");
    const body = {
      name: request.name,
      runner_group_id: groupId,
      labels: request.labels,
      work_folder: request.workFolder ?? "_work",
    };
    const post = async (): Promise<JitConfig> => {
      const response = await this.transport.send<{ runner: GitHubRunner; encoded_jit_config: string }>(
        this.routes.op("jitconfig"),
        `POST ${this.routes.prefix}/actions/runners/generate-jitconfig`,
        { ...this.routes.params, ...body },
      );
      return { runner: response.data.runner, encodedJitConfig: response.data.encoded_jit_config };
    };
    try {
      return await post();
    } catch (error) {
      if (!(error instanceof GitHubConflictError)) throw error;
      const existing = await this.findRunnerByName(request.name);
      if (existing?.busy) {
        throw new GitHubConflictError(
          `GitHub already has a busy runner named ${request.name} (id ${existing.id}); it cannot be replaced while it runs a job`,
          {
            operation: error.operation,
            status: 409,
            githubMessage: error.githubMessage,
            existingRunner: summary(existing),
          },
        );
      }
      if (existing) {
        try {
          await this.deleteRunner(existing.id);
        } catch (deleteError) {
          if (!(deleteError instanceof GitHubRunnerBusyError)) throw deleteError;
          throw new GitHubConflictError(
            `the runner named ${request.name} (id ${existing.id}) took a job before it could be replaced`,
            {
              operation: error.operation,
              status: 409,
              existingRunner: { ...summary(existing), busy: true },
              cause: deleteError,
            },
          );
        }
      }
      try {
        return await post();
      } catch (retryError) {
        if (!(retryError instanceof GitHubConflictError)) throw retryError;
        const holder = await this.findRunnerByName(request.name);
        throw new GitHubConflictError(`GitHub still reports a runner named ${request.name} after replacing it`, {
          operation: retryError.operation,
          status: 409,
          githubMessage: retryError.githubMessage,
          ...(holder ? { existingRunner: summary(holder) } : {}),
        });
      }
    }
  }

  async createRegistrationToken(): Promise<RunnerToken> {
    return this.token("registration-token");
  }

  async createRemoveToken(): Promise<RunnerToken> {
    return this.token("remove-token");
  }

  private async token(kind: "registration-token" | "remove-token"): Promise<RunnerToken> {
    const response = await this.transport.send<{ token: string; expires_at: string }>(
      this.routes.op(kind),
      `POST ${this.routes.prefix}/actions/runners/${kind}`,
      this.routes.params,
    );
    return { token: response.data.token, expiresAt: response.data.expires_at };
  }

  async getRunner(id: number): Promise<GitHubRunner | undefined> {
    try {
      const response = await this.transport.send<GitHubRunner>(
        this.routes.op("get"),
        `GET ${this.routes.prefix}/actions/runners/{runner_id}`,
        { ...this.routes.params, runner_id: id },
      );
      return response.data;
    } catch (error) {
      if (error instanceof GitHubNotFoundError) return undefined;
      throw error;
    }
  }

  async findRunnerByName(name: string): Promise<GitHubRunner | undefined> {
    const runners = await this.pages<GitHubRunner>(
      this.routes.op("list"),
      "runners",
      `${this.routes.prefix}/actions/runners`,
      { name },
    );
    // `?name=` is an exact match on GitHub; compare again in case a server treats it as a prefix.
    return runners.find((r) => r.name === name);
  }

  async deleteRunner(id: number): Promise<boolean> {
    try {
      await this.transport.send(this.routes.op("delete"), `DELETE ${this.routes.prefix}/actions/runners/{runner_id}`, {
        ...this.routes.params,
        runner_id: id,
      });
      return true;
    } catch (error) {
      if (error instanceof GitHubNotFoundError) return false;
      throw error;
    }
  }

  listRunners(): Promise<GitHubRunner[]> {
    return this.pages<GitHubRunner>(this.routes.op("list"), "runners", `${this.routes.prefix}/actions/runners`);
  }

  async runnerGroupId(name: string): Promise<number> {
    // Every scope's Default group has id 1 (repositories have no other group), so the common case
    // costs no request; actions-runner-controller relies on the same fact.
    if (name.toLowerCase() === "default") return DEFAULT_GROUP_ID;
    if (this.target.scope.kind === "repository") {
      throw new GitHubNotFoundError(
        `repositories have only the Default runner group; "${name}" does not exist for ${this.target.url}`,
        {
          operation: "runner-group-by-name",
          status: 0,
        },
      );
    }
    const key = `${this.target.apiBaseUrl} ${this.target.url} ${name}`.toLowerCase();
    const cached = this.groupCache.get(key);
    if (cached && cached.expires > this.now()) return cached.id;
    // Runners registered together share one lookup: the pending answer is cached, a failure is not.
    const lookup = this.lookUpRunnerGroup(name);
    this.groupCache.set(key, { id: lookup, expires: this.now() + GROUP_CACHE_MS });
    lookup.catch(() => {
      if (this.groupCache.get(key)?.id === lookup) this.groupCache.delete(key);
    });
    return lookup;
  }

  private async lookUpRunnerGroup(name: string): Promise<number> {
    const groups = await this.pages<{ id: number; name: string }>(
      this.routes.op("groups"),
      "runner_groups",
      `${this.routes.prefix}/actions/runner-groups`,
    );
    const group =
      groups.find((g) => g.name === name) ?? groups.find((g) => g.name.toLowerCase() === name.toLowerCase());
    if (!group) {
      throw new GitHubNotFoundError(`no runner group named "${name}" in ${this.target.url}`, {
        operation: this.routes.op("groups"),
        status: 0,
      });
    }
    return group.id;
  }

  /** Every page of a list (`per_page=100`), following GitHub's `Link: rel="next"`. */
  private async pages<T>(
    operation: string,
    field: string,
    path: string,
    query: Record<string, string> = {},
  ): Promise<T[]> {
    const items: T[] = [];
    for (let page = 1; page <= 1000; page++) {
      const response = await this.transport.send<Record<string, T[]>>(operation, `GET ${path}`, {
        ...this.routes.params,
        ...query,
        per_page: PER_PAGE,
        page,
      });
      const batch = response.data[field] ?? [];
      items.push(...batch);
      const link = String(response.headers.link ?? "");
      if (!/rel="next"/.test(link) || batch.length === 0) break;
    }
    return items;
  }
}

function summary(runner: GitHubRunner) {
  return { id: runner.id, name: runner.name, busy: runner.busy, status: runner.status };
}
