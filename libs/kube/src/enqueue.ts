import type { KubernetesObject } from "@kubernetes/client-node";
import type { Informer } from "./informer.ts";
import { controllerOf } from "./owner-references.ts";
import { objectKey } from "./resource.ts";
import type { WorkQueue } from "./work-queue.ts";

/**
 * Level-based wiring: every add, update (resyncs included) and delete of the informer's objects
 * puts a key on the queue, nothing more. `keyOf` maps an object to the key to reconcile (its own
 * `namespace/name` by default); undefined skips it.
 */
export function enqueueOnChange<T extends KubernetesObject>(
  informer: Informer<T>,
  queue: WorkQueue,
  keyOf: (obj: T) => string | undefined = objectKey,
): void {
  const add = (obj: T) => {
    const key = keyOf(obj);
    if (key !== undefined) queue.add(key);
  };
  informer.on("add", add);
  informer.on("update", (oldObj, newObj) => {
    add(newObj);
    // An object whose mapping changed (e.g. a child re-parented) wakes its old owner too.
    const oldKey = keyOf(oldObj);
    if (oldKey !== undefined && oldKey !== keyOf(newObj)) queue.add(oldKey);
  });
  informer.on("delete", add);
}

/**
 * A mapper for enqueueOnChange: a child (Pod, Secret, Runner) maps to the `namespace/name` of its
 * controller owner when that owner is of the given kind and API group.
 */
export function controllerOwnerKey(
  ownerKind: string,
  ownerGroup: string,
): (obj: KubernetesObject) => string | undefined {
  return (obj) => {
    const ref = controllerOf(obj);
    if (!ref || ref.kind !== ownerKind) return undefined;
    const group = ref.apiVersion.includes("/") ? ref.apiVersion.slice(0, ref.apiVersion.indexOf("/")) : "";
    if (group !== ownerGroup) return undefined;
    return obj.metadata?.namespace ? `${obj.metadata.namespace}/${ref.name}` : ref.name;
  };
}
