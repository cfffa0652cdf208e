export {
  GitHubAuthenticationError,
  GitHubConfigError,
  GitHubConflictError,
  GitHubError,
  type GitHubErrorDetails,
  GitHubForbiddenError,
  GitHubNotFoundError,
  GitHubRateLimitError,
  GitHubRunnerBusyError,
  GitHubServerError,
  GitHubUrlError,
  GitHubValidationError,
} from "./errors.ts";
export type {
  GenerateJitConfigRequest,
  GitHubAuthConfig,
  GitHubClientConfig,
  GitHubRunner,
  GitHubRunnerClient,
  JitConfig,
  RateLimitPolicy,
  RunnerToken,
} from "./types.ts";
export { type ParsedGitHubUrl, parseGitHubUrl, type RunnerScope, scopeKey } from "./url.ts";
