import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KubernetesObject } from "@kubernetes/client-node";
import { type ControlPlane, startControlPlane, waitFor } from "@octorun/testkit";
import { Registry } from "prom-client";
import { KubeClient } from "../src/client.ts";
import { type Condition, setCondition } from "../src/conditions.ts";
import { Controller } from "../src/controller.ts";
import { controllerOwnerKey, enqueueOnChange } from "../src/enqueue.ts";
import { TerminalError } from "../src/errors.ts";
import { addFinalizer } from "../src/finalizers.ts";
import { Informer } from "../src/informer.ts";
import { ownerReference } from "../src/owner-references.ts";
import type { ReconcileResult, Reconciler } from "../src/reconcile-loop.ts";
import { ConfigMaps, splitKey } from "../src/resource.ts";
import { patchStatus } from "../src/status.ts";
import { installWidgetCrd, type Widget, Widgets } from "./fixtures.ts";

type ConfigMap = KubernetesObject & { data?: Record<string, string> };

/**
 * A miniature controller built only from this library: a Widget owns a ConfigMap holding its
 * spec.value, and its status says whether the ConfigMap matches.
 */
class WidgetReconciler implements Reconciler {
  readonly client: KubeClient;
  readonly widgets: Informer<Widget>;
  readonly configMaps: Informer<ConfigMap>;
  reconciles = 0;

  constructor(client: KubeClient, widgets: Informer<Widget>, configMaps: Informer<ConfigMap>) {
    this.client = client;
    this.widgets = widgets;
    this.configMaps = configMaps;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    this.reconciles++;
    const { namespace, name } = splitKey(key);
    const widget = this.widgets.get(key);
    if (!widget) return { type: "done" };
    if (widget.spec?.value === "invalid") throw new TerminalError("spec.value must not be 'invalid'");
    const withFinalizer = await addFinalizer(this.client, Widgets, widget, "test.octorun.github.io/cleanup");
    const value = String(widget.spec?.value ?? "");
    const child = this.configMaps.get(`${namespace}/${name}-data`);
    if (child?.data?.value !== value) {
      await this.client.apply(ConfigMaps, {
        metadata: { name: `${name}-data`, namespace, ownerReferences: [ownerReference(withFinalizer)] },
        data: { value },
      });
    }
    const conditions = setCondition(
      widget.status?.conditions as Condition[] | undefined,
      {
        type: "Synced",
        status: child?.data?.value === value ? "True" : "False",
        reason: child ? "Compared" : "Created",
      },
      new Date(),
    );
    await patchStatus(this.client, Widgets, withFinalizer, { conditions });
    // Until the child is seen in the cache with the right value, look again soon.
    return child?.data?.value === value ? { type: "done" } : { type: "requeueAfter", ms: 200 };
  }
}

describe("a controller built from the library, against a real apiserver", () => {
  let cp: ControlPlane;
  let client: KubeClient;
  let controller: Controller;
  let widgets: Informer<Widget>;
  let configMaps: Informer<ConfigMap>;
  const registry = new Registry();

  before(async () => {
    cp = await startControlPlane();
    client = new KubeClient(cp.kubeConfig, { fieldManager: "widget-controller" });
    await installWidgetCrd(client);
    await client.create(Widgets, { metadata: { name: "early", namespace: "default" }, spec: { value: "a" } } as Widget);
    widgets = new Informer<Widget>({ client, type: Widgets });
    configMaps = new Informer<ConfigMap>({ client, type: ConfigMaps, namespaces: ["default"] });
    const reconciler = new WidgetReconciler(client, widgets, configMaps);
    controller = new Controller({
      name: "widget",
      reconciler,
      informers: [widgets, configMaps],
      concurrency: 2,
      registry,
      backoffBaseMs: 50,
    });
    enqueueOnChange(widgets, controller.queue);
    enqueueOnChange(configMaps, controller.queue, controllerOwnerKey("Widget", Widgets.group));
    widgets.start();
    configMaps.start();
    await controller.start();
  });

  after(async () => {
    await controller?.stop();
    await Promise.all([widgets?.stop(), configMaps?.stop()]);
    await cp?.stop();
  });

  const synced = async (name: string, value: string) => {
    const w = await client.get<Widget>(Widgets, "default", name);
    const cm = await client.find<ConfigMap>(ConfigMaps, "default", `${name}-data`);
    const condition = (w.status?.conditions as Condition[] | undefined)?.find((c) => c.type === "Synced");
    return (
      cm?.data?.value === value &&
      condition?.status === "True" &&
      w.status?.observedGeneration === w.metadata?.generation &&
      w.metadata?.finalizers?.includes("test.octorun.github.io/cleanup")
    );
  };

  test("a Widget that existed before start and a new one both reach their desired state", async () => {
    assert.equal(controller.started, true);
    await waitFor("early synced", () => synced("early", "a"));
    await client.create(Widgets, { metadata: { name: "later", namespace: "default" }, spec: { value: "b" } } as Widget);
    await waitFor("later synced", () => synced("later", "b"));
  });

  test("a spec change and a child changed behind the controller's back are both put right", async () => {
    await client.mergePatch(Widgets, "default", "later", { spec: { value: "c" } });
    await waitFor("spec change applied", () => synced("later", "c"));
    await client.mergePatch(
      ConfigMaps,
      "default",
      "later-data",
      { data: { value: "tampered" } },
      { fieldManager: "someone" },
    );
    await waitFor(
      "child repaired",
      async () => (await client.get<ConfigMap>(ConfigMaps, "default", "later-data")).data?.value === "c",
    );
  });

  test("a terminal error is counted and not retried; metrics tell results apart", async () => {
    await client.create(Widgets, {
      metadata: { name: "bad", namespace: "default" },
      spec: { value: "invalid" },
    } as Widget);
    await waitFor("terminal counted", async () =>
      /reconcile_total\{controller="widget",result="terminal"\} [1-9]/.test(await registry.metrics()),
    );
    const text = await registry.metrics();
    assert.match(text, /reconcile_total\{controller="widget",result="success"\} [1-9]/);
    assert.match(text, /workqueue_adds_total\{name="widget"\} [1-9]/);
    assert.equal(controller.queue.numRequeues("default/bad"), 0);
  });
});
