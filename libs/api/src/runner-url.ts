// `spec.url`: which GitHub server and which scope (repository, organization, enterprise) a runner
// registers with. Pure; the webhook validates with it and the controller routes GitHub calls by it.

export type RunnerScope =
  | { kind: "repository"; owner: string; repository: string }
  | { kind: "organization"; organization: string }
  | { kind: "enterprise"; enterprise: string };

export type RunnerUrl = RunnerScope & {
  /** The URL as written, without a trailing slash. */
  url: string;
  /** `github.com` or the GitHub Enterprise Server host (with port if any). */
  host: string;
  /** True for github.com, false for GitHub Enterprise Server. */
  githubDotCom: boolean;
  /** The REST API base: https://api.github.com or https://<host>/api/v3. */
  apiBaseUrl: string;
};

export interface RunnerUrlOptions {
  /** GitHub Enterprise Server hosts (`host` or `host:port`) allowed besides github.com. */
  enterpriseHosts?: readonly string[];
}

export class RunnerUrlError extends Error {
  override name = "RunnerUrlError";
}

// GitHub's rules: account names are 1-39 alphanumerics or single hyphens, not at either end;
// repository names are 1-100 of [A-Za-z0-9._-], not "." or "..".
const ACCOUNT = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const REPOSITORY = /^[A-Za-z0-9._-]{1,100}$/;
const ENTERPRISE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,98}[A-Za-z0-9])?$/;

/** Parses a runner URL, or throws a RunnerUrlError saying what is wrong with it. */
export function parseRunnerUrl(text: string, options: RunnerUrlOptions = {}): RunnerUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RunnerUrlError(`${JSON.stringify(text)} is not a URL`);
  }
  const host = url.host.toLowerCase();
  const githubDotCom = host === "github.com" || host === "www.github.com";
  const enterpriseHosts = (options.enterpriseHosts ?? []).map((entry) => entry.toLowerCase());
  if (!githubDotCom && !enterpriseHosts.includes(host)) {
    const allowed = ["github.com", ...enterpriseHosts].join(", ");
    throw new RunnerUrlError(
      `host ${JSON.stringify(host)} is neither github.com nor a configured GitHub Enterprise Server host (allowed: ${allowed})`,
    );
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && !githubDotCom)) {
    throw new RunnerUrlError(
      `scheme must be https (http only for a GitHub Enterprise Server host), got ${JSON.stringify(url.protocol.replace(/:$/, ""))}`,
    );
  }
  if (url.username || url.password) throw new RunnerUrlError("must not contain credentials");
  if (url.search || url.hash) throw new RunnerUrlError("must not have a query or a fragment");
  const segments = url.pathname.replace(/\/$/, "").split("/").slice(1);
  const normalized = `${url.protocol}//${host}${url.pathname.replace(/\/$/, "")}`;
  const base = {
    url: normalized,
    host,
    githubDotCom,
    apiBaseUrl: githubDotCom ? "https://api.github.com" : `${url.protocol}//${host}/api/v3`,
  };
  const [first, second, ...rest] = segments;
  if (!first || rest.length > 0) {
    throw new RunnerUrlError(
      "must be a repository (https://HOST/OWNER/REPO), organization (https://HOST/ORG) or enterprise (https://HOST/enterprises/ENTERPRISE) URL",
    );
  }
  if (first === "enterprises") {
    if (!second || !ENTERPRISE.test(second))
      throw new RunnerUrlError(`enterprise slug ${JSON.stringify(second ?? "")} is not valid`);
    return { ...base, kind: "enterprise", enterprise: second };
  }
  if (!ACCOUNT.test(first))
    throw new RunnerUrlError(`owner ${JSON.stringify(first)} is not a valid GitHub account name`);
  if (second === undefined) return { ...base, kind: "organization", organization: first };
  if (!REPOSITORY.test(second) || second === "." || second === "..") {
    throw new RunnerUrlError(`repository ${JSON.stringify(second)} is not a valid GitHub repository name`);
  }
  return { ...base, kind: "repository", owner: first, repository: second };
}
