import type { KubernetesObject } from "@kubernetes/client-node";
import type { KubeClient } from "./client.ts";
import type { ResourceType } from "./resource.ts";

/**
 * Writes `status` through the status subresource (merge patch), stamping
 * `status.observedGeneration` with the generation of the spec it was computed from. With
 * `resourceVersion` the write only succeeds against exactly that version (409 otherwise).
 */
export function patchStatus<T extends KubernetesObject>(
  client: KubeClient,
  type: ResourceType,
  obj: KubernetesObject,
  status: Record<string, unknown>,
  options: { optimisticLock?: boolean } = {},
): Promise<T> {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`${type.kind}: metadata.name is required`);
  const generation = obj.metadata?.generation;
  const patch: Record<string, unknown> = {
    status: generation !== undefined ? { ...status, observedGeneration: generation } : status,
  };
  if (options.optimisticLock) {
    if (!obj.metadata?.resourceVersion)
      throw new Error(`${type.kind} ${name}: optimistic lock needs a resourceVersion`);
    patch.metadata = { resourceVersion: obj.metadata.resourceVersion };
  }
  return client.mergePatch<T>(type, obj.metadata?.namespace, name, patch, { subresource: "status" });
}
