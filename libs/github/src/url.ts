import { GitHubUrlError } from "./errors.ts";

/** Where a runner registers: a repository, an organization, or an enterprise. */
export type RunnerScope =
  | { kind: "repository"; owner: string; repo: string }
  | { kind: "organization"; org: string }
  | { kind: "enterprise"; enterprise: string };

export interface ParsedGitHubUrl {
  /** The URL as given, normalised (no trailing slash). */
  url: string;
  /** `github.com`, or the GitHub Enterprise Server host (with port, if any). */
  host: string;
  /** True for github.com (and its `www.` alias). */
  isGitHubCom: boolean;
  /** REST base URL: `https://api.github.com` or `https://<host>/api/v3`. */
  apiBaseUrl: string;
  scope: RunnerScope;
}

// GitHub's own naming rules (a little wider for enterprises, which allow '-' and '_' slugs).
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;
const ENTERPRISE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

/**
 * Parses a Runner's `spec.url`: `https://<host>/<org>`, `https://<host>/<org>/<repo>` or
 * `https://<host>/enterprises/<enterprise>`. Anything else is a GitHubUrlError naming the problem.
 */
export function parseGitHubUrl(input: string): ParsedGitHubUrl {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch (cause) {
    throw new GitHubUrlError(input, "it is not an absolute URL", { cause });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new GitHubUrlError(input, `the scheme must be https (or http for a test server), not ${url.protocol}`);
  }
  if (url.username || url.password) throw new GitHubUrlError(input, "it must not carry credentials");
  if (url.search || url.hash) throw new GitHubUrlError(input, "it must not have a query or fragment");
  const segments = url.pathname.split("/").filter((segment) => segment !== "");
  const host = url.host.toLowerCase();
  const isGitHubCom = host === "github.com" || host === "www.github.com";
  const origin = isGitHubCom ? "https://github.com" : `${url.protocol}//${host}`;
  const apiBaseUrl = isGitHubCom ? "https://api.github.com" : `${origin}/api/v3`;
  const base = { host: isGitHubCom ? "github.com" : host, isGitHubCom, apiBaseUrl };

  const [first, second, ...rest] = segments;
  if (first === undefined) {
    throw new GitHubUrlError(input, "it names no organization, repository or enterprise");
  }
  if (rest.length > 0) {
    throw new GitHubUrlError(input, "expected /<org>, /<org>/<repo> or /enterprises/<enterprise>, got a longer path");
  }
  if (first === "enterprises") {
    if (second === undefined) throw new GitHubUrlError(input, "/enterprises/ needs an enterprise slug");
    if (!ENTERPRISE.test(second)) throw new GitHubUrlError(input, `"${second}" is not a valid enterprise slug`);
    return { ...base, url: `${origin}/enterprises/${second}`, scope: { kind: "enterprise", enterprise: second } };
  }
  if (!OWNER.test(first)) throw new GitHubUrlError(input, `"${first}" is not a valid organization or user name`);
  if (second === undefined) {
    return { ...base, url: `${origin}/${first}`, scope: { kind: "organization", org: first } };
  }
  const repo = second.endsWith(".git") ? second.slice(0, -4) : second;
  if (!REPO.test(repo) || repo === "." || repo === "..") {
    throw new GitHubUrlError(input, `"${second}" is not a valid repository name`);
  }
  return { ...base, url: `${origin}/${first}/${repo}`, scope: { kind: "repository", owner: first, repo } };
}

/** A stable key for a scope on a host, e.g. for caches: `github.com/org/acme`. */
export function scopeKey(parsed: Pick<ParsedGitHubUrl, "host" | "scope">): string {
  const { scope } = parsed;
  switch (scope.kind) {
    case "repository":
      return `${parsed.host}/repo/${scope.owner}/${scope.repo}`.toLowerCase();
    case "organization":
      return `${parsed.host}/org/${scope.org}`.toLowerCase();
    case "enterprise":
      return `${parsed.host}/enterprise/${scope.enterprise}`.toLowerCase();
  }
}
