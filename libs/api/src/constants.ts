// The octorun API's names in one place: group, versions, kinds, labels, annotations, finalizers,
// condition types, reasons and phases. Values that the original Go octorun used are kept as it
// spelled them, so that existing clusters and dashboards keep working.

export const API_GROUP = "octorun.github.io";
export const V1ALPHA1 = "v1alpha1";
export const V1ALPHA2 = "v1alpha2";
/** The version etcd stores; the one the controller and state-metrics speak. */
export const STORAGE_VERSION = V1ALPHA2;
/** Served versions, storage first. */
export const API_VERSIONS = [V1ALPHA2, V1ALPHA1] as const;
export type ApiVersionName = (typeof API_VERSIONS)[number];
/** `octorun.github.io/v1alpha2`, the apiVersion the controller writes. */
export const API_VERSION = `${API_GROUP}/${STORAGE_VERSION}`;

export interface ResourceNames {
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
}

export const RUNNER_RESOURCE = {
  kind: "Runner",
  listKind: "RunnerList",
  plural: "runners",
  singular: "runner",
} as const satisfies ResourceNames;

export const RUNNER_SET_RESOURCE = {
  kind: "RunnerSet",
  listKind: "RunnerSetList",
  plural: "runnersets",
  singular: "runnerset",
} as const satisfies ResourceNames;

// Labels. Every metadata label whose key starts with LABEL_PREFIX becomes a GitHub runner label
// `key-without-prefix=value`; octorun's own bookkeeping labels therefore use other prefixes.
export const LABEL_PREFIX = `${API_GROUP}/`;
/** Set on a Runner created directly (default: its own name); becomes the GitHub label `runner=<value>`. */
export const RUNNER_LABEL = `${API_GROUP}/runner`;
/** Set on a RunnerSet's template (default: the RunnerSet's name); becomes `runnerset=<value>`. */
export const RUNNER_SET_LABEL = `${API_GROUP}/runnerset`;
/** The template revision a RunnerSet created a Runner from (not a GitHub label: other prefix). */
export const REVISION_HASH_LABEL = `runnerset.${API_GROUP}/revision-hash`;
/** On Secrets and Pods: the Runner they belong to (not a GitHub label: other prefix). */
export const RUNNER_NAME_LABEL = `runner.${API_GROUP}/name`;

// Annotations.
/** Cluster autoscaler: "true" while a runner may be evicted (evictionPolicy IfNotActive, not Active). */
export const SAFE_TO_EVICT_ANNOTATION = "cluster-autoscaler.kubernetes.io/safe-to-evict";
/** On the registration-token Secret: when the token expires (RFC 3339). */
export const TOKEN_EXPIRES_AT_ANNOTATION = `runner.${API_GROUP}/token-expires-at`;
/**
 * On the JIT configuration Secret: the GitHub runner id and OS the configuration registered, so
 * that a registration cut short between the Secret and the Runner's spec.id is finished from it.
 */
export const RUNNER_ID_ANNOTATION = `runner.${API_GROUP}/id`;
export const RUNNER_OS_ANNOTATION = `runner.${API_GROUP}/os`;
/** Fields a v1alpha1 object cannot hold, kept as JSON so that a down-and-up conversion loses nothing. */
export const CONVERSION_DATA_ANNOTATION = `conversion.${API_GROUP}/v1alpha2-data`;

// Finalizers.
/** The Runner finalizer (the original octorun's name). */
export const RUNNER_FINALIZER = `runner.${API_GROUP}/controller`;
export const RUNNER_SET_FINALIZER = `runnerset.${API_GROUP}/controller`;

// Secret contract (runner-pod.md).
/** The original octorun's Secret name suffix: `<runner>-registration-token`. */
export const REGISTRATION_TOKEN_SECRET_SUFFIX = "-registration-token";
export const REGISTRATION_TOKEN_SECRET_KEY = "token";
export const JIT_CONFIG_SECRET_KEY = "jitconfig";
export const RUNNER_SECRET_MOUNT_PATH = `/var/run/secrets/runner.${API_GROUP}/registration-token`;

// Phases.
export const RUNNER_PHASES = ["Pending", "Idle", "Active", "Complete", "Failed"] as const;
export type RunnerPhase = (typeof RUNNER_PHASES)[number];
export const RunnerPhases = {
  Pending: "Pending",
  Idle: "Idle",
  Active: "Active",
  Complete: "Complete",
  Failed: "Failed",
} as const satisfies Record<RunnerPhase, RunnerPhase>;

export const EVICTION_POLICIES = ["Never", "IfNotActive"] as const;
export type EvictionPolicy = (typeof EVICTION_POLICIES)[number];
export const UPDATE_STRATEGY_TYPES = ["RollingUpdate", "OnDelete"] as const;
export type RunnerSetUpdateStrategyType = (typeof UPDATE_STRATEGY_TYPES)[number];
export const PULL_POLICIES = ["Always", "Never", "IfNotPresent"] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];
/** The fields of a Runner's spec the controller fills in; the rest of the spec never changes after creation. */
export const RUNNER_SYSTEM_FIELDS = ["id", "os"] as const;
export const LABEL_SELECTOR_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"] as const;

// Defaults (the admission webhook and the CRD schema apply them).
export const DEFAULT_RUNNER_GROUP = "Default";
export const DEFAULT_WORKDIR = "_work";
export const DEFAULT_EVICTION_POLICY: EvictionPolicy = "IfNotActive";
export const DEFAULT_RUNNERS = 1;
export const DEFAULT_UPDATE_STRATEGY: RunnerSetUpdateStrategyType = "OnDelete";
export const DEFAULT_REVISION_HISTORY_LIMIT = 10;

// Condition types (`<kind>.octorun.github.io/<Type>`, as the original's Online).
export const RunnerConditionTypes = {
  /** GitHub reports the runner online. */
  Online: `runner.${API_GROUP}/Online`,
  /** The runner is registered with GitHub (JIT configuration or token obtained, spec.id set). */
  Registered: `runner.${API_GROUP}/Registered`,
  /** The runner Pod exists, is Running and Ready. */
  PodReady: `runner.${API_GROUP}/PodReady`,
  /** GitHub assigned the runner a job (status.job holds it). */
  JobAssigned: `runner.${API_GROUP}/JobAssigned`,
  /** The runner failed for good; reason and message say why. */
  Failed: `runner.${API_GROUP}/Failed`,
} as const;
export type RunnerConditionType = (typeof RunnerConditionTypes)[keyof typeof RunnerConditionTypes];

export const RunnerSetConditionTypes = {
  /** All desired runners exist and none is Failed. */
  RunnersReady: `runnerset.${API_GROUP}/RunnersReady`,
  /** The RunnerSet could not create or delete a Runner; reason and message say why. */
  RunnerFailure: `runnerset.${API_GROUP}/RunnerFailure`,
  /** A RollingUpdate is replacing runners of an old revision. */
  Progressing: `runnerset.${API_GROUP}/Progressing`,
} as const;
export type RunnerSetConditionType = (typeof RunnerSetConditionTypes)[keyof typeof RunnerSetConditionTypes];

/** Condition and Event reasons. The first block is the original octorun's. */
export const Reasons = {
  RunnerOnline: "RunnerOnline",
  RunnerOffline: "RunnerOffline",
  RunnerBusy: "RunnerBusy",
  RunnerPodSucceeded: "RunnerPodSucceeded",
  RunnerPodFailed: "RunnerPodFailed",
  RunnerPodPending: "RunnerPodPending",
  RunnerPodReady: "RunnerPodReady",
  Registered: "Registered",
  RegistrationFailed: "RegistrationFailed",
  RegistrationRemoved: "RegistrationRemoved",
  TokenRefreshed: "TokenRefreshed",
  JobAssigned: "JobAssigned",
  JobCompleted: "JobCompleted",
  JobStuck: "JobStuck",
  WaitingForJob: "WaitingForJob",
  RunnerCreated: "RunnerCreated",
  RunnerDeleted: "RunnerDeleted",
  RunnerAdopted: "RunnerAdopted",
  RunnerCreateFailed: "RunnerCreateFailed",
  RunnerDeleteFailed: "RunnerDeleteFailed",
  RunnersReady: "RunnersReady",
  RunnersNotReady: "RunnersNotReady",
  RollingUpdate: "RollingUpdate",
  UpdateComplete: "UpdateComplete",
  GitHubError: "GitHubError",
  RateLimited: "RateLimited",
  /** The GitHub credential Secret a Runner names is missing or holds no usable credential. */
  CredentialsInvalid: "CredentialsInvalid",
  /** spec.url names a host octorun may not send credentials to (or is no GitHub runner URL at all). */
  URLNotAllowed: "URLNotAllowed",
  /** A RunnerSet's selector selects every Runner or is invalid: the controller does not act on it. */
  InvalidSelector: "InvalidSelector",
} as const;
export type Reason = (typeof Reasons)[keyof typeof Reasons];

export const CONDITION_STATUSES = ["True", "False", "Unknown"] as const;
export type ConditionStatus = (typeof CONDITION_STATUSES)[number];

/** The job conclusions GitHub reports on `workflow_job` completed. */
export const JOB_CONCLUSIONS = [
  "success",
  "failure",
  "cancelled",
  "skipped",
  "neutral",
  "timed_out",
  "action_required",
  "stale",
] as const;
