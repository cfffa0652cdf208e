import type { KubernetesObject } from "@kubernetes/client-node";
import { waitFor } from "@octorun/testkit";
import type { KubeClient } from "../src/client.ts";
import type { ResourceType } from "../src/resource.ts";

export const CustomResourceDefinitions: ResourceType = {
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  kind: "CustomResourceDefinition",
  namespaced: false,
};

/** A test custom resource with a status subresource. */
export const Widgets: ResourceType = {
  group: "test.octorun.github.io",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
  namespaced: true,
};

export type Widget = KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

export const widgetCrd = {
  metadata: { name: `${Widgets.plural}.${Widgets.group}` },
  spec: {
    group: Widgets.group,
    scope: "Namespaced",
    names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
            },
          },
        },
      },
    ],
  },
};

export async function installWidgetCrd(client: KubeClient): Promise<void> {
  await client.create(CustomResourceDefinitions, widgetCrd as KubernetesObject);
  await waitFor(
    "Widget CRD served",
    async () => {
      try {
        await client.list(Widgets, { namespace: "default", limit: 1 });
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.create(
    { group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false },
    {
      metadata: { name },
    },
  );
}
