// The CustomResourceDefinitions of Runner and RunnerSet, built from the schema source.

import {
  API_GROUP,
  API_VERSIONS,
  type ApiVersionName,
  type ResourceNames,
  RUNNER_RESOURCE,
  RUNNER_SET_RESOURCE,
  RunnerConditionTypes,
  STORAGE_VERSION,
} from "./constants.ts";
import type { Schema } from "./schema/json-schema.ts";
import { inlineReferences } from "./schema/kubernetes.ts";
import { runnerSchema, runnerSetSchema } from "./schema/source.ts";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date";
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: ResourceNames & { categories?: string[]; shortNames?: string[] };
    scope: "Namespaced";
    conversion: {
      strategy: "Webhook";
      webhook: {
        conversionReviewVersions: string[];
        clientConfig: {
          service?: { name: string; namespace: string; path: string; port?: number };
          url?: string;
          caBundle?: string;
        };
      };
    };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: Schema };
      subresources: {
        status: Record<string, never>;
        scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
      };
      additionalPrinterColumns: PrinterColumn[];
    }>;
  };
}

/** Where the conversion webhook listens inside the cluster (kustomize may patch the namespace). */
export const CONVERSION_WEBHOOK_PATH = "/convert";
export const WEBHOOK_SERVICE = { name: "octorun-admission-webhook", namespace: "octorun-system" } as const;

const RUNNER_COLUMNS: PrinterColumn[] = [
  {
    name: "RunnerID",
    type: "string",
    jsonPath: ".spec.id",
    description: "ID of the runner assigned by Github, basically it is sequential number.",
  },
  {
    name: "Status",
    type: "string",
    jsonPath: ".status.phase",
    description: "Represents the current phase of the runner.",
  },
  {
    name: "Online",
    type: "string",
    jsonPath: `.status.conditions[?(@.type=="${RunnerConditionTypes.Online}")].status`,
    description: "Represents the current Online status of the runner.",
  },
  {
    name: "URL",
    type: "string",
    jsonPath: ".spec.url",
    description: "The github Organization or Repository URL for this runner.",
    priority: 10,
  },
  {
    name: "RunnerGroup",
    type: "string",
    jsonPath: ".spec.group",
    description: "RunnerGroup of the runner",
    priority: 10,
  },
  {
    name: "Age",
    type: "date",
    jsonPath: ".metadata.creationTimestamp",
    description: "Time duration since creation of Runner",
  },
];

const RUNNER_SET_COLUMNS: PrinterColumn[] = [
  { name: "Runners", type: "integer", jsonPath: ".status.runners", description: "The number of runners." },
  { name: "Idle", type: "integer", jsonPath: ".status.idleRunners", description: "The number of idle runners." },
  { name: "Active", type: "integer", jsonPath: ".status.activeRunners", description: "The number of active runners." },
  {
    name: "Age",
    type: "date",
    jsonPath: ".metadata.creationTimestamp",
    description: "Time duration since creation of RunnerSet",
  },
];

function crd(
  names: ResourceNames,
  schemaOf: (version: ApiVersionName) => Schema,
  columns: PrinterColumn[],
  scale: boolean,
): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${names.plural}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      names: { ...names, categories: ["octorun"] },
      scope: "Namespaced",
      conversion: {
        strategy: "Webhook",
        webhook: {
          conversionReviewVersions: ["v1"],
          // The install (kustomize + cert-manager's CA injection, or a test) fills in the caBundle.
          clientConfig: { service: { ...WEBHOOK_SERVICE, path: CONVERSION_WEBHOOK_PATH } },
        },
      },
      versions: API_VERSIONS.map((version) => ({
        name: version,
        served: true,
        storage: version === STORAGE_VERSION,
        schema: {
          openAPIV3Schema: inlineReferences(schemaOf(version), { kubernetesDescriptions: version === STORAGE_VERSION }),
        },
        subresources: scale
          ? {
              status: {},
              scale: {
                specReplicasPath: ".spec.runners",
                statusReplicasPath: ".status.runners",
                labelSelectorPath: ".status.selector",
              },
            }
          : { status: {} },
        additionalPrinterColumns: columns,
      })),
    },
  };
}

export function runnerCrd(): CustomResourceDefinition {
  return crd(RUNNER_RESOURCE, runnerSchema, RUNNER_COLUMNS, false);
}

export function runnerSetCrd(): CustomResourceDefinition {
  return crd(RUNNER_SET_RESOURCE, runnerSetSchema, RUNNER_SET_COLUMNS, true);
}

/** The resolved (reference-free) schema of a kind in a version, as the CRD carries it. */
export function resolvedSchema(kind: "Runner" | "RunnerSet", version: ApiVersionName): Schema {
  return inlineReferences(kind === "Runner" ? runnerSchema(version) : runnerSetSchema(version));
}
