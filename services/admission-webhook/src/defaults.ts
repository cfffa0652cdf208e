// Defaulting as the original octorun did it. Pure: works on the copy it is given.

import {
  type ApiVersionName,
  DEFAULT_EVICTION_POLICY,
  DEFAULT_REVISION_HISTORY_LIMIT,
  DEFAULT_RUNNER_GROUP,
  DEFAULT_RUNNERS,
  DEFAULT_UPDATE_STRATEGY,
  DEFAULT_WORKDIR,
  RUNNER_LABEL,
  RUNNER_SET_LABEL,
} from "@octorun/api";

type JsonObject = Record<string, unknown>;

export interface DefaultingContext {
  version: ApiVersionName;
  operation: "CREATE" | "UPDATE";
}

/** On create: a Runner with a name gets `octorun.github.io/runner: <name>`; its spec gets group, workdir and evictionPolicy. */
export function applyRunnerDefaults(runner: JsonObject, context: DefaultingContext): void {
  const metadata = child(runner, "metadata");
  const name = metadata["name"];
  if (context.operation === "CREATE" && typeof name === "string" && name !== "") {
    const labels = child(metadata, "labels") as Record<string, string>;
    if (labels[RUNNER_LABEL] === undefined) labels[RUNNER_LABEL] = name;
  }
  // On update the spec is immutable: defaulting it then would turn an old object's missing
  // field into a change the validation refuses (and block e.g. the removal of a finalizer).
  if (context.operation === "CREATE") applyRunnerSpecDefaults(child(runner, "spec"), context.version);
}

/** A RunnerSet gets runners, updateStrategy and revisionHistoryLimit; its template `octorun.github.io/runnerset: <name>` and the Runner spec defaults. */
export function applyRunnerSetDefaults(runnerSet: JsonObject, context: DefaultingContext): void {
  const spec = child(runnerSet, "spec");
  if (spec["runners"] === undefined) spec["runners"] = DEFAULT_RUNNERS;
  if (context.version === "v1alpha2") {
    const strategy = child(spec, "updateStrategy");
    if (strategy["type"] === undefined) strategy["type"] = DEFAULT_UPDATE_STRATEGY;
    if (spec["revisionHistoryLimit"] === undefined) spec["revisionHistoryLimit"] = DEFAULT_REVISION_HISTORY_LIMIT;
  }
  const template = child(spec, "template");
  const name = (runnerSet["metadata"] as JsonObject | undefined)?.["name"];
  if (typeof name === "string" && name !== "") {
    const labels = child(child(template, "metadata"), "labels") as Record<string, string>;
    if (labels[RUNNER_SET_LABEL] === undefined) labels[RUNNER_SET_LABEL] = name;
  }
  applyRunnerSpecDefaults(child(template, "spec"), context.version);
}

function applyRunnerSpecDefaults(spec: JsonObject, version: ApiVersionName): void {
  if (spec["group"] === undefined || spec["group"] === "") spec["group"] = DEFAULT_RUNNER_GROUP;
  if (spec["workdir"] === undefined || spec["workdir"] === "") spec["workdir"] = DEFAULT_WORKDIR;
  if (version === "v1alpha2" && spec["evictionPolicy"] === undefined) spec["evictionPolicy"] = DEFAULT_EVICTION_POLICY;
}

/**
 * The object at `key`, created empty when absent (the diff then adds it whole). A value of the
 * wrong type is left alone (a detached object is returned) for the schema validation to refuse.
 */
function child(parent: JsonObject, key: string): JsonObject {
  const value = parent[key];
  if (value && typeof value === "object" && !Array.isArray(value)) return value as JsonObject;
  const created: JsonObject = {};
  if (value === undefined || value === null) parent[key] = created;
  return created;
}
