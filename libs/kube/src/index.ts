export { exponentialBackoff, jitter, sleep } from "./backoff.ts";
export {
  type JsonPatchOperation,
  KubeClient,
  type KubeClientOptions,
  type KubeList,
  type ListOptions,
  type WriteOptions,
} from "./client.ts";
export { type Clock, systemClock } from "./clock.ts";
export {
  isAlreadyExists,
  isConflict,
  isGone,
  isNotFound,
  KubeApiError,
  KubeConfigError,
  statusCodeOf,
  TerminalError,
} from "./errors.ts";
export { type IndexFunction, Informer, type InformerHandlers, type InformerOptions } from "./informer.ts";
export { type KubeLogger, silentLogger } from "./log.ts";
export {
  done,
  ReconcileLoop,
  type ReconcileLoopOptions,
  type ReconcileOutcome,
  type ReconcileResult,
  type Reconciler,
  requeueAfter,
} from "./reconcile-loop.ts";
export {
  apiVersionOf,
  ConfigMaps,
  ControllerRevisions,
  Events,
  Leases,
  Namespaces,
  objectKey,
  Pods,
  type ResourceType,
  resourcePath,
  Secrets,
  splitKey,
} from "./resource.ts";
export { WorkQueue, type WorkQueueOptions } from "./work-queue.ts";
