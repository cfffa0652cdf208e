// The custom resources this controller talks to, for @octorun/kube's client and informers.
import { API_GROUP, RUNNER_RESOURCE, RUNNER_SET_RESOURCE, STORAGE_VERSION } from "@octorun/api";
import type { ResourceType } from "@octorun/kube";

export const Runners: ResourceType = {
  group: API_GROUP,
  version: STORAGE_VERSION,
  plural: RUNNER_RESOURCE.plural,
  kind: RUNNER_RESOURCE.kind,
  namespaced: true,
};

export const RunnerSets: ResourceType = {
  group: API_GROUP,
  version: STORAGE_VERSION,
  plural: RUNNER_SET_RESOURCE.plural,
  kind: RUNNER_SET_RESOURCE.kind,
  namespaced: true,
};
