/**
 * Typed errors of the GitHub client. Callers catch them with `instanceof`. Messages name the
 * operation and what GitHub said; they never contain a token, a JWT, a private key or a JIT
 * configuration (the client builds them from the status, the operation id and GitHub's message only).
 */

export interface GitHubErrorDetails {
  /** The GitHub operation id, e.g. `actions/generate-runner-jitconfig-for-org`. */
  operation: string;
  /** HTTP status GitHub answered (0 when no response arrived). */
  status: number;
  /** GitHub's `message`, if any. */
  githubMessage?: string;
  /** `x-github-request-id`, for support requests. */
  requestId?: string;
  cause?: unknown;
}

/** Base class: any failure talking to GitHub. */
export class GitHubError extends Error {
  readonly operation: string;
  readonly status: number;
  readonly githubMessage: string | undefined;
  readonly requestId: string | undefined;

  constructor(message: string, details: GitHubErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.operation = details.operation;
    this.status = details.status;
    this.githubMessage = details.githubMessage;
    this.requestId = details.requestId;
  }
}

/** Bad client configuration (missing key, unreadable key file, unsupported auth for a scope). */
export class GitHubConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "GitHubConfigError";
  }
}

/** 401: the credentials were refused (bad token, bad App JWT, expired installation token). */
export class GitHubAuthenticationError extends GitHubError {}

/** 404: the repository, organization, enterprise, runner or installation does not exist (or is hidden). */
export class GitHubNotFoundError extends GitHubError {}

/** 403 (not a rate limit): the credentials lack a permission. */
export class GitHubForbiddenError extends GitHubError {
  /** What GitHub said it needed (`x-accepted-github-permissions`, `x-accepted-oauth-scopes`), e.g. `administration=write`. */
  readonly requiredPermissions: string | undefined;
  constructor(message: string, details: GitHubErrorDetails & { requiredPermissions?: string }) {
    super(message, details);
    this.requiredPermissions = details.requiredPermissions;
  }
}

/** 422 on deleting a runner: it is still running a job. Try again after the job ends. */
export class GitHubRunnerBusyError extends GitHubError {}

/** 422 otherwise: GitHub refused the request's content. */
export class GitHubValidationError extends GitHubError {}

/** 409: e.g. a runner with that name already exists. */
export class GitHubConflictError extends GitHubError {
  /** For generate-jitconfig: the runner that holds the name, when the client looked it up. */
  readonly existingRunner: { id: number; name: string; busy: boolean; status: string } | undefined;
  constructor(
    message: string,
    details: GitHubErrorDetails & { existingRunner?: GitHubConflictError["existingRunner"] },
  ) {
    super(message, details);
    this.existingRunner = details.existingRunner;
  }
}

/** A primary or secondary rate limit whose wait is longer than the client is willing to block. */
export class GitHubRateLimitError extends GitHubError {
  readonly kind: "primary" | "secondary";
  /** When GitHub allows the next request (epoch ms). */
  readonly retryAt: number;
  constructor(message: string, details: GitHubErrorDetails & { kind: "primary" | "secondary"; retryAt: number }) {
    super(message, details);
    this.kind = details.kind;
    this.retryAt = details.retryAt;
  }
  /** Milliseconds from `now` until the retry is allowed. */
  retryAfterMs(now: number = Date.now()): number {
    return Math.max(0, this.retryAt - now);
  }
}

/** 5xx (after the client's bounded retries), or no response at all (status 0). */
export class GitHubServerError extends GitHubError {}
