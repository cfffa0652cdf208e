// The kube-controller-manager's garbage collector finds new resource types (the CRDs) by
// rediscovering every 30 s. Until it watches Runners, each Pod owned by a Runner makes it GET
// that Runner to check it exists, and once it does watch them it checks every Runner it had only
// heard of: hundreds of GETs landing in whatever is being measured. A benchmark waits for it first.
import { isNotFound, type KubeClient } from "@octorun/kube";
import { waitFor } from "@octorun/testkit";
import { Runners, runnerManifest } from "../../services/controller/test/env.ts";

/**
 * Resolves once the garbage collector watches Runners: a Runner deleted in the foreground is
 * removed by the garbage collector only when it sees the deletion through its Runner watch.
 */
export async function garbageCollectorWatchesRunners(client: KubeClient, namespace: string): Promise<void> {
  const name = "gc-watch-probe";
  await client.create(Runners, runnerManifest(namespace, name, "https://github.com/gc-probe"));
  await client.delete(Runners, namespace, name, { propagationPolicy: "Foreground" });
  await waitFor(
    "the garbage collector to watch Runners",
    async () => {
      try {
        await client.get(Runners, namespace, name);
        return false;
      } catch (error) {
        if (isNotFound(error)) return true;
        throw error;
      }
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
}
