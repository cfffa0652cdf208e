import type { KubernetesObject } from "@kubernetes/client-node";

/** Which resource to talk to: any core type or custom resource, by group, version and plural. */
export interface ResourceType {
  /** "" for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const Pods: ResourceType = { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true };
export const Secrets: ResourceType = { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true };
export const ConfigMaps: ResourceType = {
  group: "",
  version: "v1",
  plural: "configmaps",
  kind: "ConfigMap",
  namespaced: true,
};
export const Leases: ResourceType = {
  group: "coordination.k8s.io",
  version: "v1",
  plural: "leases",
  kind: "Lease",
  namespaced: true,
};
export const Events: ResourceType = {
  group: "events.k8s.io",
  version: "v1",
  plural: "events",
  kind: "Event",
  namespaced: true,
};
export const ControllerRevisions: ResourceType = {
  group: "apps",
  version: "v1",
  plural: "controllerrevisions",
  kind: "ControllerRevision",
  namespaced: true,
};

export function apiVersionOf(type: ResourceType): string {
  return type.group === "" ? type.version : `${type.group}/${type.version}`;
}

/** The REST path of a collection (no name) or of one object, optionally a subresource of it. */
export function resourcePath(type: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  const root = type.group === "" ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  if (type.namespaced && name !== undefined && !namespace) {
    throw new Error(`${type.kind} ${name}: a namespace is required for a namespaced resource`);
  }
  const scope = type.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  const object = name !== undefined ? `/${encodeURIComponent(name)}` : "";
  const sub = subresource ? `/${subresource}` : "";
  if (subresource && name === undefined) throw new Error(`${type.kind}: a subresource needs an object name`);
  return `${root}${scope}/${type.plural}${object}${sub}`;
}

/** The work-queue key of an object: `namespace/name`, or `name` for a cluster-scoped one. */
export function objectKey(obj: KubernetesObject): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`object of kind ${obj.kind ?? "?"} has no metadata.name`);
  return obj.metadata?.namespace ? `${obj.metadata.namespace}/${name}` : name;
}
