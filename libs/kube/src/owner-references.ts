import type { KubernetesObject, V1OwnerReference } from "@kubernetes/client-node";
import { apiVersionOf, type ResourceType } from "./resource.ts";

/**
 * The owner reference from a child to `owner`, an object of `type` read from the apiserver (its
 * name and uid; apiVersion and kind come from the type, which list items may lack). A controller
 * reference by default, blocking the owner's foreground deletion until the child is gone.
 */
export function ownerReference(
  type: ResourceType,
  owner: KubernetesObject,
  options: { controller?: boolean; blockOwnerDeletion?: boolean } = {},
): V1OwnerReference {
  const name = owner.metadata?.name;
  const uid = owner.metadata?.uid;
  if (!name || !uid) {
    const missing = [name ? undefined : "metadata.name", uid ? undefined : "metadata.uid"].filter(Boolean);
    throw new Error(`cannot reference owner ${type.kind}/${name ?? "?"}: missing ${missing.join(", ")}`);
  }
  return {
    apiVersion: apiVersionOf(type),
    kind: type.kind,
    name,
    uid,
    controller: options.controller ?? true,
    blockOwnerDeletion: options.blockOwnerDeletion ?? true,
  };
}

/** The controller owner reference of an object, if any. */
export function controllerOf(obj: KubernetesObject): V1OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((ref) => ref.controller === true);
}

/** Whether `obj` is owned (by uid) by `owner`. */
export function isOwnedBy(obj: KubernetesObject, owner: KubernetesObject): boolean {
  const uid = owner.metadata?.uid;
  return uid !== undefined && (obj.metadata?.ownerReferences ?? []).some((ref) => ref.uid === uid);
}
