// The simulated GitHub's world: Apps and installations, personal access tokens, organizations,
// repositories, enterprises, runner groups, runners, jobs. Plain data plus small helpers; the
// HTTP handlers and the runner emulation change it.
import type { KeyObject } from "node:crypto";

export type ScopeRef =
  | { kind: "repository"; owner: string; repo: string }
  | { kind: "organization"; org: string }
  | { kind: "enterprise"; enterprise: string };

export interface SimApp {
  id: number;
  slug: string;
  publicKey: KeyObject;
}

export interface SimInstallation {
  id: number;
  appId: number;
  /** The account it is installed on (an organization or user login). */
  account: string;
  accountType: "Organization" | "User";
  permissions: Record<string, "read" | "write">;
}

export interface SimPat {
  token: string;
  login: string;
  scopes: string[];
}

export interface SimRepository {
  id: number;
  owner: string;
  name: string;
}

export interface SimOrganization {
  id: number;
  login: string;
  enterprise: string | undefined;
}

export interface SimRunnerGroup {
  id: number;
  name: string;
  default: boolean;
}

export interface SimRunner {
  id: number;
  name: string;
  scope: ScopeRef;
  os: string;
  status: "online" | "offline";
  busy: boolean;
  labels: { id: number; name: string; type: "read-only" | "custom" }[];
  runnerGroupId: number;
  ephemeral: boolean;
  workFolder: string;
  /** The encoded JIT configuration GitHub handed out for it (secret). */
  encodedJitConfig: string | undefined;
  /** The credential a token-registered runner's `.credentials` holds (secret). */
  credential?: string;
  /** True while a runner process (the runner image's stand-in) holds a session: it runs its jobs itself. */
  live?: boolean;
  /** The Pod that runs it, once the emulation saw it come up. */
  pod: { namespace: string; name: string } | undefined;
  jobId: number | undefined;
}

export type JobStatus = "queued" | "in_progress" | "completed";
export type JobConclusion =
  | "success"
  | "failure"
  | "cancelled"
  | "skipped"
  | "timed_out"
  | "neutral"
  | "action_required";

export interface SimJob {
  id: number;
  runId: number;
  runAttempt: number;
  repository: string;
  labels: string[];
  name: string;
  workflowName: string;
  status: JobStatus;
  conclusion: JobConclusion | null;
  /** Conclusion to finish with, and how long the job runs once assigned (undefined: until completeJob). */
  plannedConclusion: JobConclusion;
  durationMs: number | undefined;
  runner: { id: number; name: string; groupId: number; groupName: string } | undefined;
  createdAt: string;
  startedAt: string | undefined;
  completedAt: string | undefined;
}

export class SimState {
  readonly apps = new Map<number, SimApp>();
  readonly installations = new Map<number, SimInstallation>();
  readonly installationTokens = new Map<string, { installationId: number; expiresAt: number }>();
  readonly pats = new Map<string, SimPat>();
  readonly organizations = new Map<string, SimOrganization>();
  readonly repositories = new Map<string, SimRepository>();
  readonly enterprises = new Map<string, { id: number; slug: string }>();
  /** Runner groups of organizations and enterprises, keyed by scope key. */
  readonly groups = new Map<string, SimRunnerGroup[]>();
  readonly runners = new Map<number, SimRunner>();
  readonly jobs = new Map<number, SimJob>();
  readonly registrationTokens = new Map<string, { scope: ScopeRef; expiresAt: number }>();
  private nextIds = new Map<string, number>();

  nextId(kind: string, start = 1): number {
    const id = this.nextIds.get(kind) ?? start;
    this.nextIds.set(kind, id + 1);
    return id;
  }

  organization(login: string): SimOrganization | undefined {
    return this.organizations.get(login.toLowerCase());
  }
  repository(owner: string, repo: string): SimRepository | undefined {
    return this.repositories.get(`${owner}/${repo}`.toLowerCase());
  }
  enterprise(slug: string): { id: number; slug: string } | undefined {
    return this.enterprises.get(slug.toLowerCase());
  }

  addOrganization(login: string, enterprise?: string): SimOrganization {
    const existing = this.organization(login);
    if (existing) return existing;
    const org = { id: this.nextId("account", 1000), login, enterprise };
    this.organizations.set(login.toLowerCase(), org);
    this.groups.set(scopeKey({ kind: "organization", org: login }), [{ id: 1, name: "Default", default: true }]);
    return org;
  }

  addRepository(fullName: string): SimRepository {
    const [owner, name] = fullName.split("/");
    if (!owner || !name) throw new Error(`repository must be "owner/name", got "${fullName}"`);
    const existing = this.repository(owner, name);
    if (existing) return existing;
    const repo = { id: this.nextId("repository", 100000), owner, name };
    this.repositories.set(fullName.toLowerCase(), repo);
    return repo;
  }

  addEnterprise(slug: string): { id: number; slug: string } {
    const existing = this.enterprise(slug);
    if (existing) return existing;
    const enterprise = { id: this.nextId("enterprise", 50), slug };
    this.enterprises.set(slug.toLowerCase(), enterprise);
    this.groups.set(scopeKey({ kind: "enterprise", enterprise: slug }), [{ id: 1, name: "Default", default: true }]);
    return enterprise;
  }

  addRunnerGroup(scope: ScopeRef, name: string): SimRunnerGroup {
    const key = scopeKey(scope);
    const groups = this.groups.get(key);
    if (!groups) throw new Error(`runner groups exist only for known organizations and enterprises, not ${key}`);
    const group = { id: Math.max(...groups.map((g) => g.id)) + 1, name, default: false };
    groups.push(group);
    return group;
  }

  /** Groups a runner of this scope may join: repositories only have Default (id 1). */
  groupsOf(scope: ScopeRef): SimRunnerGroup[] {
    if (scope.kind === "repository") return [{ id: 1, name: "Default", default: true }];
    return this.groups.get(scopeKey(scope)) ?? [];
  }

  runnersOf(scope: ScopeRef): SimRunner[] {
    const key = scopeKey(scope);
    return [...this.runners.values()].filter((r) => scopeKey(r.scope) === key).sort((a, b) => a.id - b.id);
  }

  /** Whether a runner registered at `scope` may take a job of `repository` (owner/name). */
  covers(scope: ScopeRef, repository: string): boolean {
    const [owner = "", repo = ""] = repository.toLowerCase().split("/");
    switch (scope.kind) {
      case "repository":
        return scope.owner.toLowerCase() === owner && scope.repo.toLowerCase() === repo;
      case "organization":
        return scope.org.toLowerCase() === owner;
      case "enterprise":
        return this.organization(owner)?.enterprise?.toLowerCase() === scope.enterprise.toLowerCase();
    }
  }
}

export function scopeKey(scope: ScopeRef): string {
  switch (scope.kind) {
    case "repository":
      return `repo:${scope.owner}/${scope.repo}`.toLowerCase();
    case "organization":
      return `org:${scope.org}`.toLowerCase();
    case "enterprise":
      return `enterprise:${scope.enterprise}`.toLowerCase();
  }
}
