// Conversion between v1alpha1 and v1alpha2 as pure functions. v1alpha2 only adds fields; going
// down, those fields are kept as JSON in an annotation and restored going up, so that a round
// trip through v1alpha1 loses nothing (the way Kubernetes' own conversions keep such data).

import {
  API_GROUP,
  type ApiVersionName,
  CONVERSION_DATA_ANNOTATION,
  RUNNER_RESOURCE,
  RUNNER_SET_RESOURCE,
  V1ALPHA1,
  V1ALPHA2,
} from "./constants.ts";
import type { Runner, RunnerSet, RunnerSetV1alpha1, RunnerV1alpha1 } from "./types.generated.ts";

export class ConversionError extends Error {
  override name = "ConversionError";
}

/** Fields v1alpha1 cannot hold, per kind (paths into the object). */
const V1ALPHA2_ONLY: Record<string, readonly (readonly string[])[]> = {
  [RUNNER_RESOURCE.kind]: [
    ["spec", "evictionPolicy"],
    ["spec", "labels"],
    ["spec", "githubSecretRef"],
    ["status", "observedGeneration"],
    ["status", "runnerName"],
    ["status", "job"],
  ],
  [RUNNER_SET_RESOURCE.kind]: [
    ["spec", "revisionHistoryLimit"],
    ["spec", "updateStrategy"],
    ["spec", "template", "spec", "evictionPolicy"],
    ["spec", "template", "spec", "labels"],
    ["spec", "template", "spec", "githubSecretRef"],
    ["status", "currentRevision"],
    ["status", "nextRevision"],
    ["status", "collisionCount"],
    ["status", "observedGeneration"],
  ],
};

type JsonObject = Record<string, unknown>;

export interface KubernetesObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { annotations?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

/** The version part of an octorun apiVersion, or a ConversionError. */
export function octorunVersionOf(apiVersion: string | undefined): ApiVersionName {
  const [group, version] = (apiVersion ?? "").split("/");
  if (group !== API_GROUP || (version !== V1ALPHA1 && version !== V1ALPHA2)) {
    throw new ConversionError(
      `unsupported apiVersion ${JSON.stringify(apiVersion)}; expected ${API_GROUP}/${V1ALPHA2} or ${API_GROUP}/${V1ALPHA1}`,
    );
  }
  return version;
}

/** Converts a Runner or RunnerSet (any served version) to `desiredAPIVersion`. Does not modify its input. */
export function convertObject<T = KubernetesObject>(input: object, desiredAPIVersion: string): T {
  const object = input as KubernetesObject;
  const from = octorunVersionOf(object.apiVersion);
  const to = octorunVersionOf(desiredAPIVersion);
  const kind = object.kind ?? "";
  const paths = V1ALPHA2_ONLY[kind];
  if (!paths)
    throw new ConversionError(`unsupported kind ${JSON.stringify(object.kind)}; expected Runner or RunnerSet`);
  const copy = structuredClone(object);
  copy.apiVersion = `${API_GROUP}/${to}`;
  if (from === to) return copy as unknown as T;
  return (to === V1ALPHA1 ? down(copy, paths) : up(copy, paths)) as unknown as T;
}

export function runnerToV1alpha1(runner: Runner): RunnerV1alpha1 {
  return convertObject(runner, `${API_GROUP}/${V1ALPHA1}`);
}
export function runnerFromV1alpha1(runner: RunnerV1alpha1): Runner {
  return convertObject(runner, `${API_GROUP}/${V1ALPHA2}`);
}
export function runnerSetToV1alpha1(runnerSet: RunnerSet): RunnerSetV1alpha1 {
  return convertObject(runnerSet, `${API_GROUP}/${V1ALPHA1}`);
}
export function runnerSetFromV1alpha1(runnerSet: RunnerSetV1alpha1): RunnerSet {
  return convertObject(runnerSet, `${API_GROUP}/${V1ALPHA2}`);
}

function down(object: KubernetesObject, paths: readonly (readonly string[])[]): KubernetesObject {
  const kept: JsonObject = {};
  for (const path of paths) {
    const value = take(object, path);
    if (value !== undefined) put(kept, path, value);
  }
  const annotations = { ...(object.metadata?.annotations ?? {}) };
  delete annotations[CONVERSION_DATA_ANNOTATION];
  if (Object.keys(kept).length > 0) annotations[CONVERSION_DATA_ANNOTATION] = JSON.stringify(kept);
  return withAnnotations(object, annotations);
}

function up(object: KubernetesObject, paths: readonly (readonly string[])[]): KubernetesObject {
  const annotations = { ...(object.metadata?.annotations ?? {}) };
  const stored = annotations[CONVERSION_DATA_ANNOTATION];
  delete annotations[CONVERSION_DATA_ANNOTATION];
  if (stored !== undefined) {
    const kept = parseKept(stored);
    for (const path of paths) {
      const value = get(kept, path);
      if (value !== undefined) put(object, path, value);
    }
  }
  return withAnnotations(object, annotations);
}

function parseKept(text: string): JsonObject {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return value as JsonObject;
  } catch {
    // A damaged annotation must not make the object unreadable: it only carries optional fields.
  }
  return {};
}

function withAnnotations(object: KubernetesObject, annotations: Record<string, string>): KubernetesObject {
  const metadata = { ...(object.metadata ?? {}) };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  object.metadata = metadata;
  return object;
}

function get(object: JsonObject, path: readonly string[]): unknown {
  let current: unknown = object;
  for (const key of path) {
    if (!current || typeof current !== "object") return undefined;
    current = (current as JsonObject)[key];
  }
  return current;
}

/** Removes and returns the value at `path`. */
function take(object: JsonObject, path: readonly string[]): unknown {
  const parent = get(object, path.slice(0, -1));
  if (!parent || typeof parent !== "object") return undefined;
  const key = path[path.length - 1] as string;
  const value = (parent as JsonObject)[key];
  delete (parent as JsonObject)[key];
  return value;
}

function put(object: JsonObject, path: readonly string[], value: unknown): void {
  let current = object;
  for (const key of path.slice(0, -1)) {
    const next = current[key];
    if (!next || typeof next !== "object") current[key] = {};
    current = current[key] as JsonObject;
  }
  current[path[path.length - 1] as string] = value;
}
