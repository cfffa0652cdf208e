import type { KubernetesObject, V1OwnerReference } from "@kubernetes/client-node";

/**
 * The owner reference from a child to `owner` (which must carry apiVersion, kind, name and uid, as
 * an object read from the apiserver does). A controller reference by default, blocking the owner's
 * foreground deletion until the child is gone.
 */
export function ownerReference(
  owner: KubernetesObject,
  options: { controller?: boolean; blockOwnerDeletion?: boolean } = {},
): V1OwnerReference {
  const missing = [
    owner.apiVersion ? undefined : "apiVersion",
    owner.kind ? undefined : "kind",
    owner.metadata?.name ? undefined : "metadata.name",
    owner.metadata?.uid ? undefined : "metadata.uid",
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new Error(
      `cannot reference owner ${owner.kind ?? "?"}/${owner.metadata?.name ?? "?"}: missing ${missing.join(", ")}`,
    );
  }
  return {
    apiVersion: owner.apiVersion!,
    kind: owner.kind!,
    name: owner.metadata!.name!,
    uid: owner.metadata!.uid!,
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
