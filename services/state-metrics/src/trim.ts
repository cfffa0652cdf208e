// The informers keep every Runner and RunnerSet in memory; state-metrics reads a few fields of
// each. Like client-go's TransformFunc in kube-state-metrics, each object is cut down, in place,
// to those fields as it enters the cache (the cache is this service's own).

import type { KubernetesObject } from "@kubernetes/client-node";

type Json = Record<string, unknown>;

function pick(source: unknown, keys: readonly string[]): Json | undefined {
  if (!source || typeof source !== "object") return undefined;
  const out: Json = {};
  for (const key of keys) {
    const value = (source as Json)[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

const metadataKeys = [
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "creationTimestamp",
  "labels",
  "ownerReferences",
] as const;

function trimMetadata(obj: Json): void {
  obj["metadata"] = pick(obj["metadata"], metadataKeys) ?? {};
}

/** Conditions keep what the conditions family reads: type and status (messages can be long). */
function trimConditions(status: Json | undefined): void {
  const conditions = status?.["conditions"];
  if (status && Array.isArray(conditions)) status["conditions"] = conditions.map((c) => pick(c, ["type", "status"]));
}

/** A Runner as the Runner families and job placement read it. */
export function trimRunner(obj: KubernetesObject): KubernetesObject {
  const o = obj as unknown as Json;
  trimMetadata(o);
  o["spec"] = pick(o["spec"], ["url", "group", "id", "os"]);
  o["status"] = pick(o["status"], ["phase", "conditions", "runnerName"]);
  trimConditions(o["status"] as Json | undefined);
  return obj;
}

/** A RunnerSet as the RunnerSet families and the queued-jobs matching read it. */
export function trimRunnerSet(obj: KubernetesObject): KubernetesObject {
  const o = obj as unknown as Json;
  trimMetadata(o);
  const spec = o["spec"] as Json | undefined;
  const template = spec?.["template"] as Json | undefined;
  o["spec"] = spec && {
    ...pick(spec, ["runners"]),
    template: {
      metadata: pick(template?.["metadata"], ["labels"]) ?? {},
      spec: pick(template?.["spec"], ["url"]) ?? {},
    },
  };
  o["status"] = pick(o["status"], ["runners", "idleRunners", "activeRunners", "conditions"]);
  trimConditions(o["status"] as Json | undefined);
  return obj;
}
