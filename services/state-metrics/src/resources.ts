import { API_GROUP, RUNNER_RESOURCE, RUNNER_SET_RESOURCE, STORAGE_VERSION } from "@octorun/api";
import type { ResourceType } from "@octorun/kube";

/** The resources state-metrics watches, in the storage version. */
export const RunnerResource: ResourceType = {
  group: API_GROUP,
  version: STORAGE_VERSION,
  plural: RUNNER_RESOURCE.plural,
  kind: RUNNER_RESOURCE.kind,
  namespaced: true,
};

export const RunnerSetResource: ResourceType = {
  group: API_GROUP,
  version: STORAGE_VERSION,
  plural: RUNNER_SET_RESOURCE.plural,
  kind: RUNNER_SET_RESOURCE.kind,
  namespaced: true,
};
