export { exponentialBackoff, jitter, sleep } from "./backoff.ts";
export {
  type JsonPatchOperation,
  KubeClient,
  type KubeClientOptions,
  type KubeList,
  type ListOptions,
  type WriteOptions,
} from "./client.ts";
export {
  type Condition,
  type ConditionUpdate,
  findCondition,
  setCondition,
  toRfc3339,
} from "./conditions.ts";
export {
  isAlreadyExists,
  isConflict,
  isNotFound,
  KubeApiError,
  KubeConfigError,
  TerminalError,
} from "./errors.ts";
export { type EventRecord, EventRecorder, type EventRecorderOptions, type EventType } from "./events.ts";
export { addFinalizer, removeFinalizer } from "./finalizers.ts";
export { type IndexFunction, Informer, type InformerHandlers, type InformerOptions } from "./informer.ts";
export { type LoadKubeConfigOptions, loadKubeConfig } from "./kubeconfig.ts";
export { LeaderElector, type LeaderElectorOptions } from "./leader-election.ts";
export { type KubeLogger, silentLogger } from "./log.ts";
export { RunnerSets, Runners } from "./octorun-resources.ts";
export { controllerOf, isOwnedBy, ownerReference } from "./owner-references.ts";
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
  ConfigMaps,
  ControllerRevisions,
  Events,
  objectKey,
  Pods,
  type ResourceType,
  Secrets,
} from "./resource.ts";
export { patchStatus } from "./status.ts";
export { WorkQueue, type WorkQueueOptions } from "./work-queue.ts";
