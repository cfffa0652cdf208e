import type { KubernetesObject } from "@kubernetes/client-node";
import type { JsonPatchOperation, KubeClient } from "./client.ts";
import type { ResourceType } from "./resource.ts";

export function hasFinalizer(obj: KubernetesObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

/**
 * Adds the finalizer if the object lacks it; returns the object as stored. The JSON patch carries
 * the resourceVersion it was made from, so a concurrent writer makes it fail with 409 Conflict
 * instead of losing someone's list. (A `test` operation would fail too, but as 422 Invalid: a
 * lost race would read as a bad request.)
 */
export async function addFinalizer<T extends KubernetesObject>(
  client: KubeClient,
  type: ResourceType,
  obj: T,
  finalizer: string,
): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  const { namespace, name } = identity(type, obj);
  const ops: JsonPatchOperation[] = [
    sameVersion(obj),
    obj.metadata?.finalizers
      ? { op: "add", path: "/metadata/finalizers/-", value: finalizer }
      : { op: "add", path: "/metadata/finalizers", value: [finalizer] },
  ];
  return client.jsonPatch<T>(type, namespace, name, ops);
}

/** Removes the finalizer if present; returns the object as stored (or as given when nothing changed). */
export async function removeFinalizer<T extends KubernetesObject>(
  client: KubeClient,
  type: ResourceType,
  obj: T,
  finalizer: string,
): Promise<T> {
  const index = obj.metadata?.finalizers?.indexOf(finalizer) ?? -1;
  if (index < 0) return obj;
  const { namespace, name } = identity(type, obj);
  return client.jsonPatch<T>(type, namespace, name, [
    sameVersion(obj),
    { op: "remove", path: `/metadata/finalizers/${index}` },
  ]);
}

/** The apiserver takes a patched object's resourceVersion as a precondition: 409 when it moved on. */
function sameVersion(obj: KubernetesObject): JsonPatchOperation {
  return { op: "replace", path: "/metadata/resourceVersion", value: obj.metadata?.resourceVersion };
}

function identity(type: ResourceType, obj: KubernetesObject) {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`${type.kind}: metadata.name is required`);
  if (!obj.metadata?.resourceVersion) throw new Error(`${type.kind} ${name}: metadata.resourceVersion is required`);
  return { namespace: obj.metadata.namespace, name };
}
