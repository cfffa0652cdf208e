import {
  GitHubAuthenticationError,
  GitHubConflictError,
  GitHubError,
  GitHubForbiddenError,
  GitHubNotFoundError,
  GitHubRunnerBusyError,
  GitHubServerError,
  GitHubValidationError,
} from "./errors.ts";
import type { ResponseInfo } from "./rate-limit.ts";

/**
 * The typed error for a GitHub error response (rate limits are decided before this). Built from
 * the status, the operation and GitHub's message only: no request headers, so no token.
 */
export function toGitHubError(operation: string, info: ResponseInfo): GitHubError {
  const requestId =
    info.headers["x-github-request-id"] === undefined ? undefined : String(info.headers["x-github-request-id"]);
  const details = { operation, status: info.status, githubMessage: info.message, requestId };
  const said = info.message ? `: ${info.message}` : "";
  const message = `GitHub ${operation} failed with ${info.status}${said}`;
  switch (info.status) {
    case 401:
      return new GitHubAuthenticationError(message, details);
    case 403: {
      const accepted = info.headers["x-accepted-github-permissions"] ?? info.headers["x-accepted-oauth-scopes"];
      const requiredPermissions = accepted === undefined || accepted === "" ? undefined : String(accepted);
      const hint = requiredPermissions ? ` (needs ${requiredPermissions})` : "";
      return new GitHubForbiddenError(`${message}${hint}`, { ...details, requiredPermissions });
    }
    case 404:
      return new GitHubNotFoundError(message, details);
    case 409:
      return new GitHubConflictError(message, details);
    case 422:
      if (operation.includes("delete-self-hosted-runner") || /still running a job/i.test(info.message ?? "")) {
        return new GitHubRunnerBusyError(message, details);
      }
      return new GitHubValidationError(message, details);
    default:
      if (info.status >= 500 || info.status === 0) return new GitHubServerError(message, details);
      return new GitHubError(message, details);
  }
}
