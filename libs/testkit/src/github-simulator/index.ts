export {
  labelsMatch,
  type QueueJobOptions,
  type WebhookDelivery,
  type WebhookDelivery as SimWebhookDelivery,
  type WebhookTarget,
} from "./jobs.ts";
export { OpenApiCatalog, type Validation } from "./openapi.ts";
export { type EmulatedPod, RunnerEmulation, type RunnerEmulationOptions } from "./runner-emulation.ts";
export type { RunnerProcessStart } from "./runner-sessions.ts";
export {
  type Fault,
  GitHubSimulator,
  type GitHubSimulatorOptions,
  type RequestLogEntry,
  type Violation,
} from "./simulator.ts";
export type { JobConclusion, ScopeRef, SimJob, SimRunner } from "./state.ts";
export { deliveryItem } from "./webhook-deliveries.ts";
