// The informers keep every Runner and RunnerSet in memory; state-metrics reads a few fields of
// each. Like client-go's TransformFunc in kube-state-metrics, each object is cut down, in place,
// to those fields as it enters the cache (the cache is this service's own). Values that repeat
// across objects (namespaces, labels, owners, condition types, URLs) are interned: JSON.parse
// makes a new string for each, and at 10,000 Runners the copies are megabytes.

import type { KubernetesObject } from "@kubernetes/client-node";

type Json = Record<string, unknown>;

/** Shared copies of repeated strings; emptied when it grows past its bound (values then stop repeating). */
class StringPool {
  readonly #strings = new Map<string, string>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  intern<V>(value: V): V {
    if (typeof value !== "string") return value;
    const known = this.#strings.get(value);
    if (known !== undefined) return known as V;
    if (this.#strings.size >= this.#max) this.#strings.clear();
    this.#strings.set(value, value);
    return value;
  }
}

const pool = new StringPool(50_000);

function internValues(source: unknown): Json | undefined {
  if (!source || typeof source !== "object") return undefined;
  const out: Json = {};
  for (const [key, value] of Object.entries(source as Json)) out[pool.intern(key)] = pool.intern(value);
  return out;
}

/** The named fields of an object; `shared` ones are interned. */
function pick(source: unknown, keys: readonly string[], shared: readonly string[] = []): Json | undefined {
  if (!source || typeof source !== "object") return undefined;
  const out: Json = {};
  for (const key of keys) {
    const value = (source as Json)[key];
    if (value !== undefined) out[key] = shared.includes(key) ? pool.intern(value) : value;
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
  const metadata = pick(obj["metadata"], metadataKeys, ["namespace"]) ?? {};
  if (metadata["labels"]) metadata["labels"] = internValues(metadata["labels"]);
  const owners = metadata["ownerReferences"];
  if (Array.isArray(owners))
    metadata["ownerReferences"] = owners.map((ref) =>
      pick(ref, ["apiVersion", "kind", "name", "uid", "controller"], ["apiVersion", "kind", "name", "uid"]),
    );
  obj["metadata"] = metadata;
}

/** Conditions keep what the conditions family reads: type and status (messages can be long). */
function trimConditions(status: Json | undefined): void {
  const conditions = status?.["conditions"];
  if (status && Array.isArray(conditions))
    status["conditions"] = conditions.map((c) => pick(c, ["type", "status"], ["type", "status"]));
}

/** A Runner as the Runner families and job placement read it. */
export function trimRunner(obj: KubernetesObject): KubernetesObject {
  const o = obj as unknown as Json;
  trimMetadata(o);
  o["spec"] = pick(o["spec"], ["url", "group", "id", "os"], ["url", "group", "os"]);
  o["status"] = pick(o["status"], ["phase", "conditions", "runnerName"], ["phase"]);
  trimConditions(o["status"] as Json | undefined);
  return obj;
}

/** A RunnerSet as the RunnerSet families and the queued-jobs matching read it. */
export function trimRunnerSet(obj: KubernetesObject): KubernetesObject {
  const o = obj as unknown as Json;
  trimMetadata(o);
  const spec = o["spec"] as Json | undefined;
  const template = spec?.["template"] as Json | undefined;
  const templateLabels = internValues((template?.["metadata"] as Json | undefined)?.["labels"]);
  o["spec"] = spec && {
    ...pick(spec, ["runners"]),
    template: {
      metadata: templateLabels ? { labels: templateLabels } : {},
      spec: pick(template?.["spec"], ["url"], ["url"]) ?? {},
    },
  };
  o["status"] = pick(o["status"], ["runners", "idleRunners", "activeRunners", "conditions"]);
  trimConditions(o["status"] as Json | undefined);
  return obj;
}
