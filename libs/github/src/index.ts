export { createGitHubClient, type GitHubClient } from "./client.ts";
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
  GitHubValidationError,
} from "./errors.ts";
export { classifyRateLimit, RateBudget, type RateLimitHit, type ResponseInfo } from "./rate-limit.ts";
export { authFromSecretData, GITHUB_SECRET_KEYS, GitHubCredentialSecretError } from "./secret-credentials.ts";
export type {
  GenerateJitConfigRequest,
  GitHubAuthConfig,
  GitHubClientConfig,
  GitHubRunner,
  GitHubRunnerClient,
  JitConfig,
  ListWebhookDeliveriesRequest,
  RateLimitPolicy,
  RunnerToken,
  WebhookDeliveryItem,
} from "./types.ts";
