// The controller caches every runner's Pod and Secret (and every Runner) for as long as it runs;
// at thousands of runners the full objects would dominate its memory. Each object is cut down, as
// it enters the cache, to what the plans read. Secrets keep their keys but not their values: the
// credentials stay in the apiserver, never in this process's heap.
import type { KubernetesObject, V1Pod, V1Secret } from "@kubernetes/client-node";

/** A cached Secret's data value: the key exists and is not empty; its value is not kept. */
export const HELD_BY_APISERVER = "(held by the apiserver)";

/** Drops `metadata.managedFields`: the controller writes with one field manager and never reads them. */
export function withoutManagedFields<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
  return obj;
}

/** A runner Pod as the plans read it: metadata, phase, conditions and container states; no spec. */
export function trimRunnerPod(pod: V1Pod): V1Pod {
  withoutManagedFields(pod);
  const status = pod.status;
  return {
    ...(pod.apiVersion ? { apiVersion: pod.apiVersion } : {}),
    ...(pod.kind ? { kind: pod.kind } : {}),
    metadata: pod.metadata ?? {},
    ...(status
      ? {
          status: {
            ...(status.phase ? { phase: status.phase } : {}),
            ...(status.reason ? { reason: status.reason } : {}),
            ...(status.message ? { message: status.message } : {}),
            ...(status.conditions ? { conditions: status.conditions } : {}),
            ...(status.containerStatuses
              ? {
                  containerStatuses: status.containerStatuses.map((c) => ({
                    name: c.name,
                    ready: c.ready,
                    restartCount: c.restartCount,
                    image: c.image,
                    imageID: c.imageID,
                    ...(c.state ? { state: c.state } : {}),
                  })),
                }
              : {}),
          },
        }
      : {}),
  };
}

/** A runner Secret without its values: which keys hold something, and its metadata. */
export function trimRunnerSecret(secret: V1Secret): V1Secret {
  withoutManagedFields(secret);
  const data = secret.data;
  if (data) {
    secret.data = Object.fromEntries(Object.entries(data).map(([key, value]) => [key, value ? HELD_BY_APISERVER : ""]));
  }
  return secret;
}
