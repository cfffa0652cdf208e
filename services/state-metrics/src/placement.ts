import { RUNNER_SET_LABEL, RUNNER_SET_RESOURCE, type Runner } from "@octorun/api";
import type { Placement } from "./job-book.ts";

/** Where a Runner belongs: its namespace and the RunnerSet that controls it ("" for none). */
export function placementOfRunner(runner: Runner): Placement {
  const owner = runner.metadata?.ownerReferences?.find(
    (ref) => ref.controller && ref.kind === RUNNER_SET_RESOURCE.kind,
  );
  return {
    namespace: runner.metadata?.namespace ?? "",
    runnerset: owner?.name ?? runner.metadata?.labels?.[RUNNER_SET_LABEL] ?? "",
  };
}
