// `spec.url`: which GitHub server and which scope (repository, organization, enterprise) a runner
// registers with, and whether octorun may talk to that server at all. Pure, and the only parser:
// the webhook refuses a Runner with it, and the controller's GitHub client refuses to send a
// request (and the App JWT or token with it) for a URL it refuses.

/** Where a runner registers: a repository, an organization, or an enterprise. */
export type RunnerScope =
  | { kind: "repository"; owner: string; repo: string }
  | { kind: "organization"; org: string }
  | { kind: "enterprise"; enterprise: string };

export interface RunnerUrl {
  /** The URL normalised: lower-case host, github.com for www.github.com, no `.git`, no trailing slash. */
  url: string;
  /** `github.com` or the GitHub Enterprise Server host (with port if any), lower case. */
  host: string;
  /** True for github.com, false for GitHub Enterprise Server. */
  githubDotCom: boolean;
  /** The REST API base: https://api.github.com or <scheme>://<host>/api/v3. */
  apiBaseUrl: string;
  scope: RunnerScope;
}

export interface RunnerUrlOptions {
  /** GitHub Enterprise Server hosts (`host` or `host:port`) allowed besides github.com. */
  enterpriseHosts?: readonly string[];
}

/**
 * The setting both the webhook and the controller read the allow-list from, so that what one
 * admits the other acts on (a `@octorun/runtime` setting schema).
 */
export const enterpriseHostsSetting = {
  GITHUB_ENTERPRISE_HOSTS: {
    type: "array",
    items: { type: "string", minLength: 1 },
    default: [],
    description:
      "comma-separated GitHub Enterprise Server hosts (host or host:port) allowed in spec.url besides github.com; the controller sends no request for a Runner of another host",
  },
} as const;

/** A URL that is not a GitHub runner URL, or names a host that is not allowed. */
export class RunnerUrlError extends Error {
  readonly url: string;
  /** The URL is well formed but its host is not github.com or a configured GitHub Enterprise Server host. */
  readonly hostNotAllowed: boolean;
  constructor(url: string, reason: string, options: { hostNotAllowed?: boolean } = {}) {
    super(reason);
    this.name = "RunnerUrlError";
    this.url = url;
    this.hostNotAllowed = options.hostNotAllowed ?? false;
  }
}

// GitHub's rules: account names are 1-39 alphanumerics or single hyphens, not at either end;
// repository names are 1-100 of [A-Za-z0-9._-], not "." or "..", and a trailing `.git` is the
// clone URL's, not the name's; enterprise slugs are alphanumerics and hyphens, not at either end.
const ACCOUNT = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const REPOSITORY = /^[A-Za-z0-9._-]{1,100}$/;
const ENTERPRISE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,98}[A-Za-z0-9])?$/;
const GITHUB_DOT_COM = new Set(["github.com", "www.github.com"]);

/**
 * Parses a runner URL, or throws a RunnerUrlError saying what is wrong with it. Only github.com
 * (https) and the `enterpriseHosts` (https, or http for a server without TLS) are allowed.
 */
export function parseRunnerUrl(text: string, options: RunnerUrlOptions = {}): RunnerUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RunnerUrlError(text, `${JSON.stringify(text)} is not a URL`);
  }
  const githubDotCom = GITHUB_DOT_COM.has(url.host.toLowerCase());
  const host = githubDotCom ? "github.com" : url.host.toLowerCase();
  const enterpriseHosts = (options.enterpriseHosts ?? []).map((entry) => entry.toLowerCase());
  if (!githubDotCom && !enterpriseHosts.includes(host)) {
    const allowed = ["github.com", ...enterpriseHosts].join(", ");
    throw new RunnerUrlError(
      text,
      `host ${JSON.stringify(host)} is neither github.com nor a configured GitHub Enterprise Server host (allowed: ${allowed})`,
      { hostNotAllowed: true },
    );
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && !githubDotCom)) {
    throw new RunnerUrlError(
      text,
      `scheme must be https (http only for a GitHub Enterprise Server host), got ${JSON.stringify(url.protocol.replace(/:$/, ""))}`,
    );
  }
  if (url.username || url.password) throw new RunnerUrlError(text, "must not contain credentials");
  if (url.search || url.hash) throw new RunnerUrlError(text, "must not have a query or a fragment");
  const origin = `${url.protocol}//${host}`;
  const base = {
    host,
    githubDotCom,
    apiBaseUrl: githubDotCom ? "https://api.github.com" : `${origin}/api/v3`,
  };
  const [first, second, ...rest] = url.pathname.replace(/\/$/, "").split("/").slice(1);
  if (!first || rest.length > 0) {
    throw new RunnerUrlError(
      text,
      "must be a repository (https://HOST/OWNER/REPO), organization (https://HOST/ORG) or enterprise (https://HOST/enterprises/ENTERPRISE) URL",
    );
  }
  if (first === "enterprises") {
    if (!second || !ENTERPRISE.test(second))
      throw new RunnerUrlError(text, `enterprise slug ${JSON.stringify(second ?? "")} is not valid`);
    return { ...base, url: `${origin}/enterprises/${second}`, scope: { kind: "enterprise", enterprise: second } };
  }
  if (!ACCOUNT.test(first))
    throw new RunnerUrlError(text, `owner ${JSON.stringify(first)} is not a valid GitHub account name`);
  if (second === undefined) return { ...base, url: `${origin}/${first}`, scope: { kind: "organization", org: first } };
  const repo = second.endsWith(".git") ? second.slice(0, -4) : second;
  if (!REPOSITORY.test(repo) || repo === "." || repo === "..") {
    throw new RunnerUrlError(text, `repository ${JSON.stringify(second)} is not a valid GitHub repository name`);
  }
  return { ...base, url: `${origin}/${first}/${repo}`, scope: { kind: "repository", owner: first, repo } };
}
