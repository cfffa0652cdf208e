// What the kubelet writes when a Pod's containers exit, for Pods kwok runs (kwok leaves them so).
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";

/**
 * Ends a Pod as the kubelet would after its containers exit: phase Succeeded or Failed, every
 * container terminated (exit code 0 or 1), Ready false. Retried when the Pod changed meanwhile.
 */
export async function finishPod(
  core: CoreV1Api,
  namespace: string,
  name: string,
  outcome: "Succeeded" | "Failed",
): Promise<V1Pod> {
  for (let attempt = 1; ; attempt++) {
    const pod = await core.readNamespacedPodStatus({ name, namespace });
    try {
      return await core.replaceNamespacedPodStatus({ name, namespace, body: finished(pod, outcome, new Date()) });
    } catch (error) {
      if ((error as { code?: number }).code !== 409 || attempt >= 5) throw error;
    }
  }
}

function finished(pod: V1Pod, outcome: "Succeeded" | "Failed", now: Date): V1Pod {
  const exitCode = outcome === "Succeeded" ? 0 : 1;
  return {
    ...pod,
    status: {
      ...pod.status,
      phase: outcome,
      conditions: (pod.status?.conditions ?? []).map((c) =>
        c.type === "Ready" || c.type === "ContainersReady" ? { ...c, status: "False", reason: "PodCompleted" } : c,
      ),
      containerStatuses: (pod.spec?.containers ?? []).map((container) => {
        const previous = pod.status?.containerStatuses?.find((s) => s.name === container.name);
        return {
          name: container.name,
          image: container.image ?? "",
          imageID: previous?.imageID ?? "",
          containerID: previous?.containerID,
          ready: false,
          started: false,
          restartCount: previous?.restartCount ?? 0,
          state: {
            terminated: {
              exitCode,
              reason: outcome === "Succeeded" ? "Completed" : "Error",
              startedAt: previous?.state?.running?.startedAt ?? now,
              finishedAt: now,
            },
          },
        };
      }),
    },
  };
}
