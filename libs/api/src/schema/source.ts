// THE source of the octorun API: the schemas of Runner and RunnerSet in each served version.
// The CRD manifests (deploy/crds), the ajv validators and the TypeScript types
// (types.generated.ts) are all derived from these definitions.
// Field names and descriptions follow the original Go octorun's CRDs.

import {
  type ApiVersionName,
  DEFAULT_EVICTION_POLICY,
  DEFAULT_REVISION_HISTORY_LIMIT,
  DEFAULT_RUNNERS,
  DEFAULT_UPDATE_STRATEGY,
  EVICTION_POLICIES,
  LABEL_SELECTOR_OPERATORS,
  PULL_POLICIES,
  RUNNER_PHASES,
  RUNNER_SYSTEM_FIELDS,
  UPDATE_STRATEGY_TYPES,
} from "../constants.ts";
import { DEFAULT_GITHUB_LABEL_COUNT, MAX_GITHUB_LABEL_LENGTH, MAX_GITHUB_LABELS } from "../runner-labels.ts";
import {
  immutableRule,
  MAX_RUNNER_URL_LENGTH,
  runnerUrlRules,
  SELECTOR_LIMITS,
  selectorMatchesTemplateRule,
  specImmutableExcept,
} from "./cel-rules.ts";
import {
  array,
  dateTime,
  handWritten,
  int32,
  int64,
  kubernetes,
  named,
  object,
  type Schema,
  string,
  stringMap,
} from "./json-schema.ts";

const CORE = "io.k8s.api.core.v1";

const API_VERSION_DESCRIPTION =
  "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESCRIPTION =
  "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/** metav1.Condition, as controller-gen renders it. */
function condition(): Schema {
  return named(
    "Condition",
    object(
      "Condition contains details for one aspect of the current state of this API Resource.",
      {
        lastTransitionTime: dateTime(
          "lastTransitionTime is the last time the condition transitioned from one status to another. This should be when the underlying condition changed.  If that is not known, then using the time when the API field changed is acceptable.",
        ),
        message: string(
          "message is a human readable message indicating details about the transition. This may be an empty string.",
          { maxLength: 32768 },
        ),
        observedGeneration: int64(
          "observedGeneration represents the .metadata.generation that the condition was set based upon. For instance, if .metadata.generation is currently 12, but the .status.conditions[x].observedGeneration is 9, the condition is out of date with respect to the current state of the instance.",
          { minimum: 0 },
        ),
        reason: string(
          "reason contains a programmatic identifier indicating the reason for the condition's last transition. Producers of specific condition types may define expected values and meanings for this field, and whether the values are considered a guaranteed API. The value should be a CamelCase string. This field may not be empty.",
          { maxLength: 1024, minLength: 1, pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$" },
        ),
        status: string("status of the condition, one of True, False, Unknown.", {
          enum: ["True", "False", "Unknown"],
        }),
        type: string("type of condition in CamelCase or in foo.example.com/CamelCase.", {
          maxLength: 316,
          pattern:
            "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        }),
      },
      { required: ["lastTransitionTime", "message", "reason", "status", "type"] },
    ),
  );
}

function conditions(description: string): Schema {
  return array(description, condition(), {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
  });
}

function runnerSpec(version: ApiVersionName): Schema {
  const properties: Record<string, Schema> = {
    url: string(
      'The github Organization or Repository URL for this runner. Must be a valid Github Org or Repository URL. eg: - "https://github.com/org" - "https://github.com/org/repo"',
      { maxLength: MAX_RUNNER_URL_LENGTH, "x-kubernetes-validations": runnerUrlRules() },
    ),
    id: int64("ID of the runner assigned by Github, basically it is sequential number. Read-only."),
    os: string("OS type of the runner. Populated by the system. Read-only."),
    group: string("Name of the runner group to add to this runner. Defaults to Default."),
    workdir: string("Relative runner work directory. Defaults to _work."),
    image: named(
      "RunnerImage",
      object("Runner container image specification", {
        name: string("Runner Container image name."),
        pullPolicy: string("Image pull policy. One of Always, Never, IfNotPresent.", { enum: [...PULL_POLICIES] }),
        pullSecrets: array(
          "An optional list of references to secrets in the same namespace to use for pulling any of the images used by this PodSpec. If specified, these secrets will be passed to individual puller implementations for them to use. More info: https://kubernetes.io/docs/concepts/containers/images#specifying-imagepullsecrets-on-a-pod",
          kubernetes(`${CORE}.LocalObjectReference`, "A reference to a Secret in the same namespace."),
        ),
      }),
    ),
    placement: named(
      "RunnerPlacement",
      object("Placement configuration to pass to kubernetes pod (affinity, node selector, etc).", {
        nodeSelector: stringMap(
          "A selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
        ),
        tolerations: array(
          "If specified, the pod's tolerations.",
          kubernetes(
            `${CORE}.Toleration`,
            "The pod this Toleration is attached to tolerates any taint that matches the triple <key,value,effect> using the matching operator <operator>.",
          ),
        ),
        affinity: kubernetes(`${CORE}.Affinity`, "If specified, the pod's scheduling constraints"),
      }),
    ),
    resources: kubernetes(`${CORE}.ResourceRequirements`, "Compute resources required by runner container."),
    serviceAccountName: string(
      "ServiceAccountName is the name of the ServiceAccount to use to run this runner pod. More info: https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/",
    ),
    securityContext: kubernetes(
      `${CORE}.SecurityContext`,
      "SecurityContext holds security configuration that will be applied to the runner container.",
    ),
    runtimeClassName: string(
      'RuntimeClassName refers to a RuntimeClass object in the node.k8s.io group, which should be used to run this runner pod.  If no RuntimeClass resource matches the named class, the pod will not be run. If unset or empty, the "legacy" RuntimeClass will be used, which is an implicit class with an empty definition that uses the default runtime handler.',
    ),
    volumes: array(
      "List of volumes that can be mounted by runner container belonging to the runner pod.",
      kubernetes(
        `${CORE}.Volume`,
        "Volume represents a named volume in a pod that may be accessed by any container in the pod.",
      ),
    ),
    volumeMounts: array(
      "Runner pod volumes to mount into the runner container filesystem.",
      kubernetes(`${CORE}.VolumeMount`, "VolumeMount describes a mounting of a Volume within a container."),
    ),
  };
  if (version === "v1alpha2") {
    properties["labels"] = array(
      "Plain GitHub runner labels (e.g. gpu, arm64), registered with the runner besides the key=value labels of its octorun.github.io/ metadata labels, so that a workflow's runs-on: [self-hosted, linux, gpu] can choose it. GitHub adds self-hosted and the runner's OS and architecture itself.",
      string("A GitHub runner label: no commas, no surrounding spaces.", {
        minLength: 1,
        maxLength: MAX_GITHUB_LABEL_LENGTH,
        pattern: "^[^,\\s]([^,]*[^,\\s])?$",
      }),
      { maxItems: MAX_GITHUB_LABELS - DEFAULT_GITHUB_LABEL_COUNT, "x-kubernetes-list-type": "set" },
    );
    properties["githubSecretRef"] = named(
      "GitHubSecretReference",
      object(
        "A Secret in the Runner's own namespace with the GitHub credential to register this runner with, instead of the controller's: a GitHub App (github_app_id, github_app_private_key, optionally github_app_installation_id) or a token (github_token), as actions-runner-controller names the keys. A Secret in another namespace is never used.",
        {
          name: string("Name of the Secret, in the Runner's namespace.", {
            minLength: 1,
            maxLength: 253,
            pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
          }),
        },
        { required: ["name"] },
      ),
    );
    properties["evictionPolicy"] = string(
      "EvictionPolicy can be Never or IfNotActive. IfNotActive will annotate the runner Pod with `cluster-autoscaler.kubernetes.io/safe-to-evict=true` once created and will be removed when Runner become Active (has assigned job) to allow Kubernetes cluster-autoscaler eviction when draining underutilized node.",
      { enum: [...EVICTION_POLICIES], default: DEFAULT_EVICTION_POLICY },
    );
  }
  return named(version === "v1alpha2" ? "RunnerSpec" : "RunnerSpecV1alpha1", {
    ...object("RunnerSpec defines the desired state of Runner", sortKeys(properties)),
    required: ["url"],
  });
}

function runnerJob(): Schema {
  return named(
    "RunnerJob",
    object(
      "The GitHub Actions job assigned to this runner.",
      {
        id: int64("The workflow job id on GitHub."),
        runId: int64("The workflow run id on GitHub."),
        runAttempt: int64("The attempt number of the workflow run."),
        name: string("The job's name."),
        repository: string("The repository the job runs for, as owner/name."),
        workflow: string("The workflow's name."),
        assignedAt: dateTime("When GitHub assigned the job to this runner."),
        completedAt: dateTime("When the job completed."),
        conclusion: string("The job's conclusion as GitHub reports it (success, failure, cancelled, ...)."),
      },
      { required: ["id"] },
    ),
  );
}

function runnerStatus(version: ApiVersionName): Schema {
  const properties: Record<string, Schema> = {
    phase: string("Phase represents the current phase of runner.", { enum: [...RUNNER_PHASES] }),
    conditions: conditions("Conditions defines current service state of the runner."),
  };
  if (version === "v1alpha2") {
    properties["observedGeneration"] = int64("The generation of the Runner the controller last acted on.");
    properties["runnerName"] = string(
      "The runner's name on GitHub, chosen by the controller (unique across namespaces).",
    );
    properties["job"] = runnerJob();
  }
  return named(
    version === "v1alpha2" ? "RunnerStatus" : "RunnerStatusV1alpha1",
    object("RunnerStatus defines the observed state of Runner", sortKeys(properties)),
  );
}

function objectRoot(
  kind: string,
  description: string,
  spec: Schema,
  status: Schema,
  typeName: string,
  rules: Pick<Schema, "x-kubernetes-validations"> = {},
): Schema {
  return named(
    typeName,
    object(
      `${kind} ${description}`,
      {
        apiVersion: string(API_VERSION_DESCRIPTION),
        kind: string(KIND_DESCRIPTION),
        // The apiserver validates metadata itself; a CRD schema leaves it open.
        metadata: handWritten("ObjectMeta", "./object-meta.ts", { type: "object" }),
        spec,
        status,
      },
      { required: ["spec"], ...rules },
    ),
  );
}

export function runnerSchema(version: ApiVersionName): Schema {
  const spec = runnerSpec(version);
  return objectRoot(
    "Runner",
    "is the Schema for the runners API",
    spec,
    runnerStatus(version),
    version === "v1alpha2" ? "Runner" : "RunnerV1alpha1",
    { "x-kubernetes-validations": specImmutableExcept(Object.keys(spec.properties ?? {}), RUNNER_SYSTEM_FIELDS) },
  );
}

function labelSelector(): Schema {
  return {
    ...kubernetes(
      "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
      "Selector is a label query over runners that should match the replica count. Label keys and values that must match in order to be controlled by this RunnerSet. It must match the runner template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
    properties: {
      matchLabels: {
        maxProperties: SELECTOR_LIMITS.matchLabels,
        additionalProperties: { maxLength: SELECTOR_LIMITS.labelValueLength },
      },
      matchExpressions: {
        maxItems: SELECTOR_LIMITS.matchExpressions,
        items: {
          properties: {
            key: { maxLength: SELECTOR_LIMITS.labelKeyLength },
            operator: { enum: [...LABEL_SELECTOR_OPERATORS] },
            values: { maxItems: SELECTOR_LIMITS.values, items: { maxLength: SELECTOR_LIMITS.labelValueLength } },
          },
        },
      },
    },
    "x-kubernetes-validations": [immutableRule()],
  };
}

function runnerTemplate(version: ApiVersionName): Schema {
  return named(
    version === "v1alpha2" ? "RunnerTemplate" : "RunnerTemplateV1alpha1",
    object(
      "Template is the object that describes the runner that will be created if insufficient replicas are detected.",
      {
        metadata: named(
          "RunnerTemplateMetadata",
          object(
            "Standard object's metadata of the runners created from this template: labels and annotations. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
            {
              labels: {
                ...stringMap("Labels of the runners created from this template."),
                additionalProperties: { type: "string", maxLength: SELECTOR_LIMITS.labelValueLength },
              },
              annotations: stringMap("Annotations of the runners created from this template."),
            },
          ),
        ),
        spec: runnerSpec(version),
      },
    ),
  );
}

function runnerSetSpec(version: ApiVersionName): Schema {
  const properties: Record<string, Schema> = {
    runners: int32(
      "Runners is the number of desired runners. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1.",
      { default: DEFAULT_RUNNERS, minimum: 0 },
    ),
    selector: labelSelector(),
    template: runnerTemplate(version),
  };
  if (version === "v1alpha2") {
    properties["revisionHistoryLimit"] = int32("The maximum number of revision history to keep, default: 10.", {
      default: DEFAULT_REVISION_HISTORY_LIMIT,
      minimum: 0,
    });
    properties["updateStrategy"] = named(
      "RunnerSetUpdateStrategy",
      object(
        "UpdateStrategy indicates the RunnerSetUpdateStrategy that will be employed to update Runners in the RunnerSet when a revision is made to Template.",
        {
          type: string("Type indicates the type of the RunnerSetUpdateStrategy. Default is OnDelete.", {
            enum: [...UPDATE_STRATEGY_TYPES],
            default: DEFAULT_UPDATE_STRATEGY,
          }),
        },
      ),
    );
  }
  return named(version === "v1alpha2" ? "RunnerSetSpec" : "RunnerSetSpecV1alpha1", {
    ...object("RunnerSetSpec defines the desired state of RunnerSet", sortKeys(properties)),
    required: ["selector"],
    "x-kubernetes-validations": [selectorMatchesTemplateRule()],
  });
}

function runnerSetStatus(version: ApiVersionName): Schema {
  const properties: Record<string, Schema> = {
    runners: int32("Runners is the most recently observed number of runners."),
    idleRunners: int32("The number of idle runners for this RunnerSet."),
    activeRunners: int32("The number of active runners for this RunnerSet."),
    selector: string(
      "Selector is the same as the label selector but in the string format to avoid introspection by clients. The string will be in the same format as the query-param syntax. More info about label selectors: http://kubernetes.io/docs/user-guide/labels#label-selectors",
    ),
    conditions: conditions("Conditions defines current service state of the runner."),
  };
  if (version === "v1alpha2") {
    properties["currentRevision"] = string("CurrentRevision indicates the revision of RunnerSet.");
    properties["nextRevision"] = string("NextRevision indicates the next revision of RunnerSet.");
    properties["collisionCount"] = int32(
      "Count of hash collisions for the RunnerSet. The RunnerSet controller uses this field as a collision avoidance mechanism when it needs to create the name for the newest ControllerRevision.",
    );
    properties["observedGeneration"] = int64("The generation of the RunnerSet the controller last acted on.");
  }
  return named(
    version === "v1alpha2" ? "RunnerSetStatus" : "RunnerSetStatusV1alpha1",
    object("RunnerSetStatus defines the observed state of RunnerSet", sortKeys(properties)),
  );
}

export function runnerSetSchema(version: ApiVersionName): Schema {
  return objectRoot(
    "RunnerSet",
    "is the Schema for the runnersets API",
    runnerSetSpec(version),
    runnerSetStatus(version),
    version === "v1alpha2" ? "RunnerSet" : "RunnerSetV1alpha1",
  );
}

function sortKeys(properties: Record<string, Schema>): Record<string, Schema> {
  return Object.fromEntries(Object.entries(properties).sort(([a], [b]) => a.localeCompare(b)));
}
