// How a failed GitHub call is judged: the reason for a condition, whether retrying can help, and
// when GitHub allows the next attempt. Messages come from @octorun/github's typed errors, which
// never carry a token or a JIT configuration.

import { Reasons, RunnerUrlError } from "@octorun/api";
import {
  GitHubAuthenticationError,
  GitHubConflictError,
  GitHubError,
  GitHubForbiddenError,
  GitHubNotFoundError,
  GitHubRateLimitError,
  GitHubServerError,
  GitHubValidationError,
} from "@octorun/github";
import { GitHubCredentialsError } from "./github-credentials.ts";
import type { RegistrationError } from "./runner-plan.ts";

/** A bad credential Secret is looked at again this long after, by default (it is read at most every 30 s anyway). */
export const CREDENTIALS_RETRY_MS = 60_000;

export function judgeGitHubError(
  error: unknown,
  now: number,
  credentialsRetryMs = CREDENTIALS_RETRY_MS,
): RegistrationError {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof GitHubCredentialsError) {
    return {
      at: now,
      reason: Reasons.CredentialsInvalid,
      message,
      permanent: false,
      retryAt: now + credentialsRetryMs,
    };
  }
  if (error instanceof GitHubRateLimitError) {
    return { at: now, reason: Reasons.RateLimited, message, permanent: false, retryAt: error.retryAt };
  }
  // 403 and 404: the credentials cannot reach this URL; as the original did, give up (the user must fix and recreate).
  if (
    error instanceof GitHubForbiddenError ||
    error instanceof GitHubNotFoundError ||
    error instanceof RunnerUrlError
  ) {
    return { at: now, reason: Reasons.RegistrationFailed, message, permanent: true };
  }
  if (
    error instanceof GitHubValidationError ||
    error instanceof GitHubConflictError ||
    error instanceof GitHubAuthenticationError
  ) {
    return { at: now, reason: Reasons.RegistrationFailed, message, permanent: false };
  }
  if (error instanceof GitHubServerError || error instanceof GitHubError) {
    return { at: now, reason: Reasons.GitHubError, message, permanent: false };
  }
  return { at: now, reason: Reasons.GitHubError, message: `GitHub could not be reached: ${message}`, permanent: false };
}

/** A short label value for metrics: `ok` or the error class. */
export function outcomeOf(error: unknown): string {
  if (error === undefined) return "ok";
  return error instanceof Error ? error.name : "unknown";
}
