import { CONDITION_STATUSES } from "@octorun/api";
import { type Labels, sample } from "./exposition.ts";

interface ConditionLike {
  type: string;
  status: string;
}

/**
 * `<family>{...identity, condition, status}`: three 0/1 samples per condition, one per possible
 * status (lower-cased, as the original octorun and kube-state-metrics write them).
 */
export function conditionSamples(
  name: string,
  identity: Labels,
  conditions: readonly ConditionLike[] | undefined,
): string {
  const lines: string[] = [];
  for (const condition of conditions ?? []) {
    for (const status of CONDITION_STATUSES) {
      lines.push(
        sample(
          name,
          [...identity, ["condition", condition.type], ["status", status.toLowerCase()]],
          condition.status === status ? 1 : 0,
        ),
      );
    }
  }
  return lines.join("");
}
