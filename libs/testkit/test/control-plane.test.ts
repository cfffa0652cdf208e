import assert from "node:assert/strict";
import { createServer } from "node:https";
import { after, before, describe, test } from "node:test";
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from "@kubernetes/client-node";
import { type ControlPlane, listenHttps, startControlPlane, waitFor } from "../src/index.ts";

const group = "widgets.test.octorun.io";

describe("real control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok", () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane({ controllerManager: true, kwokNodes: 1 });
  });
  after(() => cp?.stop());

  test("a CRD becomes Established; its objects are created, listed, watched, status-patched and server-side applied", async () => {
    const ext = cp.kubeConfig.makeApiClient(ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: `widgets.${group}` },
        spec: {
          group,
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
                    spec: { type: "object", properties: { size: { type: "integer" }, color: { type: "string" } } },
                    status: { type: "object", properties: { phase: { type: "string" } } },
                  },
                },
              },
            },
          ],
        },
      },
    });
    await waitFor("CRD Established", async () => {
      const crd = await ext.readCustomResourceDefinition({ name: `widgets.${group}` });
      return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
    });

    const objects = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    const ref = { group, version: "v1", namespace: "default", plural: "widgets" };
    // Established does not mean served at once: watch only once the resource answers a list.
    await waitFor("the new resource served", async () => Boolean(await objects.listNamespacedCustomObject(ref)));
    const events: string[] = [];
    let watchEnded: unknown;
    const watch = await new Watch(cp.kubeConfig).watch(
      `/apis/${group}/v1/namespaces/default/widgets`,
      {},
      (type, obj: { metadata: { name: string } }) => events.push(`${type} ${obj.metadata.name}`),
      (error) => {
        watchEnded = error ?? "the watch ended";
      },
    );
    await objects.createNamespacedCustomObject({
      ...ref,
      body: { apiVersion: `${group}/v1`, kind: "Widget", metadata: { name: "w1" }, spec: { size: 1 } },
    });
    // The watch is live once it has reported w1; patching before that could be folded into one ADDED.
    await waitFor("the watch reports w1", () => {
      if (watchEnded) throw new Error(`watch ended: ${String(watchEnded)}`);
      return events.includes("ADDED w1");
    });
    const list = (await objects.listNamespacedCustomObject(ref)) as { items: { metadata: { name: string } }[] };
    assert.deepEqual(
      list.items.map((i) => i.metadata.name),
      ["w1"],
    );

    await objects.patchNamespacedCustomObjectStatus(
      { ...ref, name: "w1", body: { status: { phase: "Ready" }, spec: { size: 99 } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const patched = (await objects.getNamespacedCustomObject({ ...ref, name: "w1" })) as {
      spec: { size: number; color?: string };
      status: { phase: string };
    };
    assert.equal(patched.status.phase, "Ready");
    assert.equal(patched.spec.size, 1, "the status subresource does not change spec");

    await objects.patchNamespacedCustomObject(
      {
        ...ref,
        name: "w1",
        fieldManager: "octorun-test",
        force: true,
        body: { apiVersion: `${group}/v1`, kind: "Widget", metadata: { name: "w1" }, spec: { color: "blue" } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    );
    const applied = (await objects.getNamespacedCustomObject({ ...ref, name: "w1" })) as {
      spec: { color: string };
      metadata: { managedFields: { manager: string }[] };
    };
    assert.equal(applied.spec.color, "blue");
    assert.ok(applied.metadata.managedFields.some((f) => f.manager === "octorun-test"));

    await waitFor("watch events", () => events.length >= 3 && events);
    watch.abort();
    assert.deepEqual(events.slice(0, 3), ["ADDED w1", "MODIFIED w1", "MODIFIED w1"]);
  });

  test("the apiserver calls a test's HTTPS admission webhook and its denial reaches the client", async (t) => {
    const reviews: string[] = [];
    const server = createServer({ cert: cp.webhookTls.cert, key: cp.webhookTls.key }, (req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        const review = JSON.parse(body);
        const name = review.request.object.metadata.name as string;
        reviews.push(name);
        const allowed = !name.startsWith("forbidden");
        res.setHeader("Content-Type", "application/json");
        res.end(
          JSON.stringify({
            apiVersion: "admission.k8s.io/v1",
            kind: "AdmissionReview",
            response: {
              uid: review.request.uid,
              allowed,
              ...(allowed
                ? {}
                : { status: { code: 422, reason: "Invalid", message: `name ${name} is not allowed here` } }),
            },
          }),
        );
      });
    });
    const port = await listenHttps(server);
    const admission = cp.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    t.after(async () => {
      await admission.deleteValidatingWebhookConfiguration({ name: "deny-forbidden" });
      server.close();
    });
    await admission.createValidatingWebhookConfiguration({
      body: {
        metadata: { name: "deny-forbidden" },
        webhooks: [
          {
            name: "deny.test.octorun.io",
            admissionReviewVersions: ["v1"],
            sideEffects: "None",
            failurePolicy: "Fail",
            clientConfig: {
              url: `https://127.0.0.1:${port}/validate`,
              caBundle: Buffer.from(cp.ca.cert).toString("base64"),
            },
            rules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"] }],
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "default" } },
          },
        ],
      },
    });
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    // The webhook configuration reaches the apiserver's admission chain shortly after creation.
    await waitFor("webhook active", async () => {
      try {
        await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "forbidden-probe" } } });
        await core.deleteNamespacedConfigMap({ namespace: "default", name: "forbidden-probe" });
        return false;
      } catch (error) {
        return (error as { code?: number }).code === 422;
      }
    });
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "allowed-one" } } });
    const denial = await core
      .createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "forbidden-one" } } })
      .then(
        () => undefined,
        (error: { code: number; body: string }) => error,
      );
    assert.equal(denial?.code, 422);
    assert.match(String(denial?.body), /name forbidden-one is not allowed here/);
    assert.ok(reviews.includes("allowed-one") && reviews.includes("forbidden-one"));
    await assert.rejects(core.readNamespacedConfigMap({ namespace: "default", name: "forbidden-one" }));
  });

  test("with kwok a Pod becomes Running and Ready, and a test can make it Succeeded", async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({
      namespace: "default",
      body: {
        metadata: { name: "runner-pod" },
        spec: {
          containers: [{ name: "runner", image: "ghcr.io/octorun/runner:test" }],
          tolerations: [{ key: "kwok.x-k8s.io/node", operator: "Exists", effect: "NoSchedule" }],
        },
      },
    });
    await waitFor(
      "Pod Running and Ready",
      async () => {
        const pod = await core.readNamespacedPod({ namespace: "default", name: "runner-pod" });
        return (
          pod.status?.phase === "Running" &&
          pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True")
        );
      },
      { timeoutMs: 30_000 },
    );
    await cp.finishPod("default", "runner-pod", "Succeeded");
    const pod = await core.readNamespacedPod({ namespace: "default", name: "runner-pod" });
    assert.equal(pod.status?.phase, "Succeeded");
    assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const later = await core.readNamespacedPod({ namespace: "default", name: "runner-pod" });
    assert.equal(later.status?.phase, "Succeeded", "kwok leaves a finished Pod finished");
  });

  test("with kube-controller-manager, deleting an owner deletes its dependents", async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const owner = await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "owner" } } });
    await core.createNamespacedSecret({
      namespace: "default",
      body: {
        metadata: {
          name: "dependent",
          ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata!.uid! }],
        },
        stringData: { x: "y" },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: "default", name: "owner" });
    await waitFor(
      "dependent garbage-collected",
      async () => {
        try {
          await core.readNamespacedSecret({ namespace: "default", name: "dependent" });
          return false;
        } catch (error) {
          return (error as { code?: number }).code === 404;
        }
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  });

  test("kubectl from the pinned build talks to it", async () => {
    const result = await cp.kubectl(["version", "-o", "json"]);
    assert.equal(result.code, 0, result.stderr);
    const version = JSON.parse(result.stdout);
    assert.match(version.serverVersion.gitVersion, /^v1\.37\.2$/);
    assert.match(version.clientVersion.gitVersion, /^v1\.37\.2$/);
  });
});
