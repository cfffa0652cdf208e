// The apiserver-side registration of this webhook: the Mutating/ValidatingWebhookConfigurations
// (as the original octorun's manifests.yaml) and the CRDs' conversion client config, for a webhook
// reached at a URL (tests, benchmarks, out-of-cluster runs) or through a Service (deploy/).

import {
  API_GROUP,
  CONVERSION_WEBHOOK_PATH,
  RUNNER_RESOURCE,
  RUNNER_SET_RESOURCE,
  STORAGE_VERSION,
} from "@octorun/api";

export type ClientConfig =
  | { url: string; caBundle: string }
  | { service: { name: string; namespace: string; path: string; port?: number }; caBundle?: string };

export interface WebhookTarget {
  /** `https://host:port` of the webhook (tests), or a Service (deploy). */
  baseUrl?: string;
  service?: { name: string; namespace: string; port?: number };
  /** PEM of the CA that signed the serving certificate. */
  caPem?: string;
  /** Only objects in namespaces whose labels match (all namespaces when absent). */
  namespaceSelector?: { matchLabels?: Record<string, string> };
}

function clientConfig(target: WebhookTarget, path: string): ClientConfig {
  const caBundle = target.caPem ? Buffer.from(target.caPem).toString("base64") : undefined;
  if (target.baseUrl) {
    if (!caBundle) throw new Error("a URL webhook needs the CA (caPem)");
    return { url: `${target.baseUrl}${path}`, caBundle };
  }
  if (!target.service) throw new Error("a webhook target needs baseUrl or service");
  return { service: { ...target.service, path }, ...(caBundle ? { caBundle } : {}) };
}

interface WebhookOptions {
  operations: string[];
  /** CEL conditions the apiserver checks before calling (all must hold). */
  matchConditions?: Array<{ name: string; expression: string }>;
}

function webhook(name: string, path: string, plural: string, target: WebhookTarget, options: WebhookOptions) {
  return {
    name,
    admissionReviewVersions: ["v1"],
    clientConfig: clientConfig(target, path),
    failurePolicy: "Fail",
    matchPolicy: "Equivalent",
    sideEffects: "None",
    timeoutSeconds: 10,
    ...(target.namespaceSelector ? { namespaceSelector: target.namespaceSelector } : {}),
    rules: [
      { apiGroups: [API_GROUP], apiVersions: [STORAGE_VERSION], operations: options.operations, resources: [plural] },
    ],
    ...(options.matchConditions ? { matchConditions: options.matchConditions } : {}),
  };
}

// A Runner's defaults apply on create only (its spec is immutable), so its mutating webhook is
// not called on update; its validation on update only matters when the spec or the labels
// change, so the controller's metadata writes (finalizers, annotations) cost no webhook call.
const RUNNER_SPEC_OR_LABELS_CHANGED = {
  name: "spec-or-labels-changed",
  expression:
    "request.operation == 'CREATE' || object.spec != oldObject.spec || " +
    "(has(object.metadata.labels) ? object.metadata.labels : {}) != (has(oldObject.metadata.labels) ? oldObject.metadata.labels : {})",
};

export function mutatingWebhookConfiguration(target: WebhookTarget, name = "octorun-mutating-webhook-configuration") {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name },
    webhooks: [
      webhook(
        "mrunner.octorun.github.io",
        "/mutate-octorun-github-io-v1alpha2-runner",
        RUNNER_RESOURCE.plural,
        target,
        {
          operations: ["CREATE"],
        },
      ),
      webhook(
        "mrunnerset.octorun.github.io",
        "/mutate-octorun-github-io-v1alpha2-runnerset",
        RUNNER_SET_RESOURCE.plural,
        target,
        {
          operations: ["CREATE", "UPDATE"],
        },
      ),
    ],
  };
}

export function validatingWebhookConfiguration(
  target: WebhookTarget,
  name = "octorun-validating-webhook-configuration",
) {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name },
    webhooks: [
      webhook(
        "vrunner.octorun.github.io",
        "/validate-octorun-github-io-v1alpha2-runner",
        RUNNER_RESOURCE.plural,
        target,
        {
          operations: ["CREATE", "UPDATE"],
          matchConditions: [RUNNER_SPEC_OR_LABELS_CHANGED],
        },
      ),
      webhook(
        "vrunnerset.octorun.github.io",
        "/validate-octorun-github-io-v1alpha2-runnerset",
        RUNNER_SET_RESOURCE.plural,
        target,
        {
          operations: ["CREATE", "UPDATE"],
        },
      ),
    ],
  };
}

/** The CRD's `spec.conversion.webhook.clientConfig` for this webhook. */
export function conversionClientConfig(target: WebhookTarget): ClientConfig {
  return clientConfig(target, CONVERSION_WEBHOOK_PATH);
}
