// custom.metrics.k8s.io as the Kubernetes metrics API conventions (and custom-metrics-apiserver)
// give it, for RunnerSet object metrics: a request is parsed into what it asks and what it must
// be authorized for, then answered from the caches. Pure: no I/O, the clock is passed in.

import type { RunnerSet } from "@octorun/api";
import { quantity, type RunnerSetObjectMetric, runnerSetObjectMetrics } from "./runnerset-object-metrics.ts";
import { type ParsedSelector, parseSelector, SelectorSyntaxError, selectorMatches } from "./selector-string.ts";

export const METRICS_GROUP = "custom.metrics.k8s.io";
/** Served versions, preferred first (kube-controller-manager 1.37 asks for v1beta2). */
export const METRICS_VERSIONS = ["v1beta2", "v1beta1"] as const;
export type MetricsVersion = (typeof METRICS_VERSIONS)[number];
/** A RunnerSet as the metrics API names resources: `<plural>.<group>`. */
export const RUNNERSET_METRICS_RESOURCE = "runnersets.octorun.github.io";
const RUNNERSET_API_VERSION = "octorun.github.io/v1alpha2";

/** A parsed request: discovery (a non-resource path) or object metrics of RunnerSets. */
export type MetricsRequest =
  | { kind: "discovery"; path: string; version?: MetricsVersion }
  | {
      kind: "object";
      version: MetricsVersion;
      namespace: string;
      /** As written in the path; only RunnerSets have metrics. */
      resource: string;
      /** An object's name, or "*" for every object matching `labelSelector`. */
      name: string;
      metric: string;
      labelSelector: ParsedSelector;
      metricSelector: ParsedSelector;
    };

/** What a SubjectAccessReview is asked about a request, as the apiserver's request info gives it. */
export type AccessAttributes =
  | { nonResource: { path: string; verb: "get" } }
  | {
      resource: {
        namespace: string;
        verb: "get" | "list";
        group: string;
        resource: string;
        subresource: string;
        name: string;
      };
    };

export interface Answer {
  status: number;
  body: unknown;
}

/** What the answers read: the RunnerSet cache and the waiting jobs. */
export interface MetricsSource {
  runnerSet(namespace: string, name: string): RunnerSet | undefined;
  runnerSets(namespace: string): RunnerSet[];
  /** Waiting jobs each of these RunnerSets could take, in the same order. */
  queuedJobs(sets: readonly RunnerSet[]): number[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const METRIC_NAME = /^[A-Za-z_:][A-Za-z0-9_:]*$/;
const metricsByName = new Map(runnerSetObjectMetrics.map((metric) => [metric.name, metric]));

/** Parses a GET's URL; an Answer when the request is wrong (4xx). */
export function parseMetricsRequest(method: string, url: string): MetricsRequest | Answer {
  if (method !== "GET" && method !== "HEAD") {
    return status(405, "MethodNotAllowed", `the metrics API is read-only: ${method} is not supported, use GET`);
  }
  let parsed: URL;
  let segments: string[];
  try {
    parsed = new URL(url, "https://metrics.invalid");
    segments = parsed.pathname
      .split("/")
      .filter((s) => s !== "")
      .map((s) => decodeURIComponent(s));
  } catch {
    return status(400, "BadRequest", `malformed request path: ${url.slice(0, 200)}`);
  }
  const path = `/${segments.join("/")}`;
  if (segments.length <= 1 && (segments[0] ?? "apis") === "apis") return { kind: "discovery", path };
  if (segments[0] !== "apis" || segments[1] !== METRICS_GROUP) return notFound(`the server could not find ${path}`);
  if (segments.length === 2) return { kind: "discovery", path };
  const version = segments[2] as MetricsVersion;
  if (!METRICS_VERSIONS.includes(version)) return notFound(`${METRICS_GROUP}/${segments[2]} is not served`);
  if (segments.length === 3) return { kind: "discovery", path, version };
  const rest = segments.slice(3);
  // namespaces/<ns>/<resource>/<name>/<metric>; root-scoped and namespace metrics are not served.
  if (rest[0] !== "namespaces" || rest.length !== 5) {
    const metric = rest.at(-1) ?? "";
    return notFound(`the server could not find the metric ${metric} for ${rest.slice(0, -2).join("/") || path}`);
  }
  const [, namespace, resource, name, metric] = rest as [string, string, string, string, string];
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) {
    return status(400, "BadRequest", `invalid namespace "${namespace}": must be a DNS-1123 label`);
  }
  if (name !== "*" && (!OBJECT_NAME.test(name) || name.length > 253)) {
    return status(400, "BadRequest", `invalid object name "${name}": must be a DNS-1123 subdomain or *`);
  }
  if (!METRIC_NAME.test(metric)) return status(400, "BadRequest", `invalid metric name "${metric}"`);
  try {
    return {
      kind: "object",
      version,
      namespace,
      resource,
      name,
      metric,
      labelSelector: parseSelector(parsed.searchParams.get("labelSelector") ?? ""),
      metricSelector: parseSelector(parsed.searchParams.get("metricLabelSelector") ?? ""),
    };
  } catch (error) {
    if (error instanceof SelectorSyntaxError) return status(400, "BadRequest", error.message);
    throw error;
  }
}

export function isAnswer(value: MetricsRequest | Answer): value is Answer {
  return "status" in value;
}

/** What the caller must be allowed: `get` (`list` for "*") on `<resource>/<metric>` in the metrics group. */
export function accessAttributes(request: MetricsRequest): AccessAttributes {
  if (request.kind === "discovery") return { nonResource: { path: request.path, verb: "get" } };
  const list = request.name === "*";
  return {
    resource: {
      namespace: request.namespace,
      verb: list ? "list" : "get",
      group: METRICS_GROUP,
      resource: request.resource,
      subresource: request.metric,
      name: list ? "" : request.name,
    },
  };
}

/** The answer to an authorized request. */
export function answerMetricsRequest(request: MetricsRequest, source: MetricsSource, now: Date): Answer {
  if (request.kind === "discovery") return discovery(request);
  const metric = metricsByName.get(request.metric);
  const what = `the metric ${request.metric} for ${request.resource}`;
  if (request.resource !== RUNNERSET_METRICS_RESOURCE || !metric) {
    return notFound(`the server could not find ${what}`);
  }
  // The metrics carry no labels of their own: a metric selector either selects them all or none.
  const metricSelected = selectorMatches(request.metricSelector, {});
  let sets: RunnerSet[];
  if (request.name === "*") {
    sets = metricSelected
      ? source
          .runnerSets(request.namespace)
          .filter((set) => selectorMatches(request.labelSelector, set.metadata?.labels))
      : [];
  } else {
    const set = source.runnerSet(request.namespace, request.name);
    if (!set || !metricSelected) return notFound(`the server could not find ${what} ${request.name}`);
    sets = [set];
  }
  const queued = source.queuedJobs(sets);
  const items = sets.map((set, i) => metricValue(request.version, metric, set, queued[i] ?? 0, now));
  return {
    status: 200,
    body: { kind: "MetricValueList", apiVersion: `${METRICS_GROUP}/${request.version}`, metadata: {}, items },
  };
}

function metricValue(
  version: MetricsVersion,
  metric: RunnerSetObjectMetric,
  set: RunnerSet,
  queuedJobs: number,
  now: Date,
) {
  const describedObject = {
    kind: "RunnerSet",
    namespace: set.metadata?.namespace,
    name: set.metadata?.name,
    apiVersion: RUNNERSET_API_VERSION,
  };
  const value = quantity(metric.value({ set, queuedJobs }));
  const timestamp = now.toISOString().replace(/\.\d+Z$/, "Z");
  return version === "v1beta2"
    ? { describedObject, metric: { name: metric.name, selector: null }, timestamp, value }
    : { describedObject, metricName: metric.name, timestamp, value, selector: null };
}

function discovery(request: Extract<MetricsRequest, { kind: "discovery" }>): Answer {
  const group = {
    name: METRICS_GROUP,
    versions: METRICS_VERSIONS.map((version) => ({ groupVersion: `${METRICS_GROUP}/${version}`, version })),
    preferredVersion: { groupVersion: `${METRICS_GROUP}/${METRICS_VERSIONS[0]}`, version: METRICS_VERSIONS[0] },
  };
  if (request.path === "/" || request.path === "/apis") {
    return { status: 200, body: { kind: "APIGroupList", apiVersion: "v1", groups: [group] } };
  }
  if (!request.version) return { status: 200, body: { kind: "APIGroup", apiVersion: "v1", ...group } };
  return {
    status: 200,
    body: {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: `${METRICS_GROUP}/${request.version}`,
      resources: runnerSetObjectMetrics.map((metric) => ({
        name: `${RUNNERSET_METRICS_RESOURCE}/${metric.name}`,
        singularName: "",
        namespaced: true,
        kind: "MetricValueList",
        verbs: ["get"],
      })),
    },
  };
}

/** A metav1.Status failure. */
export function status(code: number, reason: string, message: string): Answer {
  return {
    status: code,
    body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code },
  };
}

function notFound(message: string): Answer {
  return status(404, "NotFound", message);
}
