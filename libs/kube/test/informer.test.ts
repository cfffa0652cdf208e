import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { type ControlPlane, startControlPlane, waitFor } from "@octorun/testkit";
import { KubeClient } from "../src/client.ts";
import { Informer } from "../src/informer.ts";
import { ConfigMaps } from "../src/resource.ts";
import { openWatch } from "../src/watch-stream.ts";
import {
  CustomResourceDefinitions,
  createNamespace,
  installWidgetCrd,
  type Widget,
  Widgets,
  widgetCrd,
} from "./fixtures.ts";
import { TcpProxy } from "./tcp-proxy.ts";

/** The same credentials, aimed at a closed port. */
function unreachableConfig(kc: KubeConfig): KubeConfig {
  const copy = new KubeConfig();
  const cluster = kc.getCurrentCluster()!;
  copy.loadFromOptions({
    ...kc,
    clusters: [{ ...cluster, server: "https://127.0.0.1:1" }],
    currentContext: kc.currentContext,
  });
  return copy;
}

type ConfigMap = KubernetesObject & { data?: Record<string, string> };

/** Everything an informer told its handlers, in order, as "add ns/name" lines. */
function record<T extends KubernetesObject>(informer: Informer<T>): string[] {
  const seen: string[] = [];
  const key = (o: T) => `${o.metadata?.namespace}/${o.metadata?.name}`;
  informer
    .on("add", (o) => seen.push(`add ${key(o)}`))
    .on("update", (a, b) => seen.push(`update ${key(b)}${a === b ? " (resync)" : ""}`))
    .on("delete", (o) => seen.push(`delete ${key(o)}`));
  return seen;
}

describe("Informer against a real apiserver", () => {
  let cp: ControlPlane;
  let client: KubeClient;
  const informers: Informer<KubernetesObject>[] = [];
  const track = <T extends KubernetesObject>(informer: Informer<T>) => {
    informers.push(informer as unknown as Informer<KubernetesObject>);
    return informer;
  };

  before(async () => {
    cp = await startControlPlane();
    client = new KubeClient(cp.kubeConfig, { fieldManager: "kube-test" });
    await Promise.all([createNamespace(client, "ns-a"), createNamespace(client, "ns-b"), installWidgetCrd(client)]);
  });

  after(async () => {
    await Promise.all(informers.map((i) => i.stop()));
    await cp?.stop();
  });

  test("the cache is full when waitForSync resolves, scoped by namespace and label selector, across pages", async () => {
    for (let i = 0; i < 7; i++) {
      await client.create(ConfigMaps, {
        metadata: { name: `cm-${i}`, namespace: "ns-a", labels: { app: i % 2 ? "odd" : "even" } },
      });
      await client.create(ConfigMaps, { metadata: { name: `cm-${i}`, namespace: "ns-b", labels: { app: "even" } } });
    }
    const informer = track(
      new Informer<ConfigMap>({
        client,
        type: ConfigMaps,
        namespaces: ["ns-a"],
        labelSelector: "app=even",
        pageSize: 2,
      }),
    );
    const seen = record(informer);
    assert.equal(informer.hasSynced(), false);
    informer.start();
    await informer.waitForSync();
    assert.equal(informer.hasSynced(), true);
    assert.deepEqual(informer.keys().sort(), ["ns-a/cm-0", "ns-a/cm-2", "ns-a/cm-4", "ns-a/cm-6"]);
    assert.equal(seen.filter((s) => s.startsWith("add")).length, 4, "one add per listed object");
    assert.equal(informer.getByName("ns-a", "cm-2")?.kind, "ConfigMap", "listed items carry their kind");

    const byField = track(new Informer<ConfigMap>({ client, type: ConfigMaps, fieldSelector: "metadata.name=cm-3" }));
    byField.start();
    await byField.waitForSync();
    assert.deepEqual(byField.keys().sort(), ["ns-a/cm-3", "ns-b/cm-3"], "a field selector across all namespaces");

    // A label change moves an object into and out of a selector's view.
    await client.mergePatch(ConfigMaps, "ns-a", "cm-1", { metadata: { labels: { app: "even" } } });
    await client.mergePatch(ConfigMaps, "ns-a", "cm-0", { metadata: { labels: { app: "odd" } } });
    await waitFor("selector changes seen", () => informer.get("ns-a/cm-1") && !informer.get("ns-a/cm-0"));
  });

  test("custom resources: handlers get add, update and delete in order, and indexes follow the cache", async () => {
    const informer = track(
      new Informer<Widget>({
        client,
        type: Widgets,
        indexers: { runnerName: (w) => (typeof w.spec?.runnerName === "string" ? [w.spec.runnerName] : []) },
      }),
    );
    const seen = record(informer);
    informer.start();
    await informer.waitForSync();
    await client.create(Widgets, {
      metadata: { name: "w1", namespace: "ns-a" },
      spec: { runnerName: "r-1" },
    } as Widget);
    await waitFor("w1 indexed", () => informer.byIndex("runnerName", "r-1").length === 1);
    await client.mergePatch(Widgets, "ns-a", "w1", { spec: { runnerName: "r-2" } });
    await waitFor("w1 re-indexed", () => informer.byIndex("runnerName", "r-2").length === 1);
    assert.deepEqual(informer.byIndex("runnerName", "r-1"), [], "the old index value no longer finds it");
    await client.delete(Widgets, "ns-a", "w1");
    await waitFor("w1 gone", () => informer.size === 0);
    assert.deepEqual(informer.byIndex("runnerName", "r-2"), []);
    assert.deepEqual(seen, ["add ns-a/w1", "update ns-a/w1", "delete ns-a/w1"]);
    assert.throws(() => informer.byIndex("nope", "x"), /no index named "nope"/);
  });

  test("transform: listed and watched objects are cut down before the cache and the handlers see them", async () => {
    await client.create(ConfigMaps, {
      metadata: { name: "big", namespace: "ns-b", labels: { trim: "yes" } },
      data: { payload: "x".repeat(10_000) },
    });
    const informer = track(
      new Informer<ConfigMap>({
        client,
        type: ConfigMaps,
        labelSelector: "trim=yes",
        transform: (cm) => {
          delete cm.metadata?.managedFields;
          cm.data = Object.fromEntries(Object.keys(cm.data ?? {}).map((k) => [k, "(kept out)"]));
          return cm;
        },
      }),
    );
    const handed: ConfigMap[] = [];
    informer.on("add", (cm) => handed.push(cm));
    informer.on("update", (_old, cm) => handed.push(cm));
    informer.start();
    await informer.waitForSync();
    await client.create(ConfigMaps, {
      metadata: { name: "big-2", namespace: "ns-b", labels: { trim: "yes" } },
      data: { payload: "y".repeat(10_000) },
    });
    await waitFor("the watched one cached", () => informer.get("ns-b/big-2") !== undefined);
    for (const cm of [informer.get("ns-b/big"), informer.get("ns-b/big-2"), ...handed]) {
      assert.deepEqual(cm?.data, { payload: "(kept out)" });
      assert.equal(cm?.metadata?.managedFields, undefined);
    }
    assert.equal(handed.length, 2, "one listed, one watched");
  });

  test("a broken watch is resumed from its resource version with backoff and misses nothing", async () => {
    const proxy = await TcpProxy.start(cp.server);
    try {
      const proxied = new KubeClient(proxy.kubeConfig(cp.kubeConfig), { fieldManager: "kube-test" });
      const retries: { attempt: number; retryInMs: number }[] = [];
      const logger = {
        debug() {},
        info() {},
        warn: (_m: string, meta?: Record<string, unknown>) =>
          retries.push(meta as { attempt: number; retryInMs: number }),
        error() {},
      };
      const informer = track(
        new Informer<ConfigMap>({
          client: proxied,
          type: ConfigMaps,
          namespaces: ["ns-b"],
          backoffBaseMs: 200,
          backoffMaxMs: 1_000,
          logger,
        }),
      );
      const seen = record(informer);
      informer.start();
      await informer.waitForSync();
      seen.length = 0;
      proxy.cut();
      await client.create(ConfigMaps, { metadata: { name: "while-cut", namespace: "ns-b" } });
      await client.mergePatch(ConfigMaps, "ns-b", "cm-0", { data: { changed: "yes" } });
      await client.delete(ConfigMaps, "ns-b", "cm-1");
      await new Promise((r) => setTimeout(r, 1_500)); // several failed reconnects
      const refusedWhileCut = proxy.connections;
      proxy.restore();
      await waitFor("changes made while cut", () => seen.length >= 3, { timeoutMs: 15_000 });
      assert.deepEqual(seen, ["add ns-b/while-cut", "update ns-b/cm-0", "delete ns-b/cm-1"]);
      assert.equal(informer.listCount, 1, "resumed by watching from the last resource version, not by a relist");
      assert.ok(retries.length >= 2, `retried several times while cut: ${JSON.stringify(retries)}`);
      assert.deepEqual(
        retries.slice(0, 3).map((r) => r.attempt),
        [1, 2, 3].slice(0, Math.min(3, retries.length)),
      );
      assert.ok((retries[1]?.retryInMs ?? 0) > (retries[0]?.retryInMs ?? 0), "the delay grows between attempts");
      assert.ok(proxy.connections > refusedWhileCut, "reconnected after the cut");
      assert.equal(informer.get("ns-b/cm-0")?.data?.changed, "yes");
    } finally {
      await proxy.close();
    }
  });

  test("410 Gone: the informer relists and emits add, update and delete for what its watch missed", async () => {
    for (const name of ["keep", "change", "remove"]) {
      await client.create(Widgets, { metadata: { name, namespace: "ns-b" }, spec: { v: 1 } } as Widget);
    }
    const proxy = await TcpProxy.start(cp.server);
    try {
      const proxied = new KubeClient(proxy.kubeConfig(cp.kubeConfig), { fieldManager: "kube-test" });
      const logs: string[] = [];
      const logger = {
        debug: () => {},
        info: (m: string) => logs.push(m),
        warn: (m: string) => logs.push(m),
        error: () => {},
      };
      const informer = track(
        new Informer<Widget>({
          client: proxied,
          type: Widgets,
          namespaces: ["ns-b"],
          backoffBaseMs: 200,
          backoffMaxMs: 1_000,
          logger,
        }),
      );
      const seen = record(informer);
      informer.start();
      await informer.waitForSync();
      assert.equal(informer.size, 3);
      seen.length = 0;
      proxy.cut();
      // Changing a CRD makes the apiserver rebuild that resource's watch cache from a fresh list:
      // a watch resumed from an older resource version then gets 410 Gone ("too old resource version").
      const crd = await client.get<typeof widgetCrd & KubernetesObject>(
        CustomResourceDefinitions,
        undefined,
        widgetCrd.metadata.name,
      );
      const version = crd.spec.versions[0] as Record<string, unknown>;
      version.additionalPrinterColumns = [{ name: "V", type: "string", jsonPath: ".spec.v" }];
      await client.replace(CustomResourceDefinitions, crd);
      await new Promise((r) => setTimeout(r, 1_000));
      await client.create(Widgets, { metadata: { name: "new", namespace: "ns-b" }, spec: { v: 1 } } as Widget);
      await client.mergePatch(Widgets, "ns-b", "change", { spec: { v: 2 } });
      await client.delete(Widgets, "ns-b", "remove");
      proxy.restore();
      await waitFor("relist after 410", () => informer.listCount >= 2 && seen.length >= 3, { timeoutMs: 20_000 });
      assert.ok(logs.includes("watch expired (410 Gone), relisting"), `the watch really got 410: ${logs.join("; ")}`);
      assert.deepEqual(seen.sort(), ["add ns-b/new", "delete ns-b/remove", "update ns-b/change"]);
      assert.deepEqual(informer.keys().sort(), ["ns-b/change", "ns-b/keep", "ns-b/new"]);
      assert.equal(informer.get("ns-b/change")?.spec?.v, 2);
      // And it watches again from the relist: a later change arrives as an event.
      await client.mergePatch(Widgets, "ns-b", "keep", { spec: { v: 3 } });
      await waitFor("watch after relist", () => informer.get("ns-b/keep")?.spec?.v === 3);
    } finally {
      await proxy.close();
    }
  });

  test("a periodic relist heals a change that a stalled watch never delivered", async () => {
    const proxy = await TcpProxy.start(cp.server);
    try {
      const proxied = new KubeClient(proxy.kubeConfig(cp.kubeConfig), { fieldManager: "kube-test" });
      const informer = track(
        new Informer<ConfigMap>({ client: proxied, type: ConfigMaps, namespaces: ["ns-b"], relistMs: 2_000 }),
      );
      const seen = record(informer);
      informer.start();
      await informer.waitForSync();
      await client.create(ConfigMaps, { metadata: { name: "probe", namespace: "ns-b" } });
      await waitFor("the watch works", () => informer.get("ns-b/probe"));
      assert.equal(proxy.connections, 2, "one connection for lists, one for the watch");
      proxy.stallNewest(); // the watch's connection
      const lists = informer.listCount;
      seen.length = 0;
      await client.mergePatch(ConfigMaps, "ns-b", "probe", { data: { missed: "by the watch" } });
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(seen, [], "the stalled watch delivered nothing");
      await waitFor("relist heals", () => informer.get("ns-b/probe")?.data?.missed === "by the watch", {
        timeoutMs: 10_000,
      });
      assert.ok(informer.listCount > lists, "healed by a relist");
      assert.deepEqual(seen, ["update ns-b/probe"]);
      // The relist also replaced the stalled watch: later changes arrive again without waiting for a relist.
      await client.mergePatch(ConfigMaps, "ns-b", "probe", { data: { missed: "no longer" } });
      await waitFor("new watch", () => informer.get("ns-b/probe")?.data?.missed === "no longer", { timeoutMs: 1_500 });
    } finally {
      await proxy.close();
    }
  });

  test("resync re-delivers cached objects as updates; a periodic relist with no changes emits nothing", async () => {
    const resyncing = track(new Informer<ConfigMap>({ client, type: ConfigMaps, namespaces: ["ns-a"], resyncMs: 300 }));
    const resyncSeen = record(resyncing);
    const relisting = track(new Informer<ConfigMap>({ client, type: ConfigMaps, namespaces: ["ns-a"], relistMs: 300 }));
    const relistSeen = record(relisting);
    resyncing.start();
    relisting.start();
    await Promise.all([resyncing.waitForSync(), relisting.waitForSync()]);
    const listed = relisting.size;
    await waitFor("two resyncs", () => resyncSeen.filter((s) => s.endsWith("(resync)")).length >= 2 * resyncing.size);
    await waitFor("three relists", () => relisting.listCount >= 3);
    assert.equal(relistSeen.length, listed, "only the initial adds: unchanged objects are not re-announced");
    await client.create(ConfigMaps, { metadata: { name: "after-relists", namespace: "ns-a" } });
    await waitFor("seen", () => relisting.get("ns-a/after-relists"));
    assert.equal(
      relistSeen.filter((s) => s === "add ns-a/after-relists").length,
      1,
      "announced once, by watch or relist",
    );
  });

  test("namespaces: one list and watch per namespace into one cache, as an identity granted only those namespaces", async () => {
    for (const ns of ["team-1", "team-2", "team-3"]) {
      await createNamespace(client, ns);
      await client.create(ConfigMaps, { metadata: { name: "first", namespace: ns } });
    }
    // A ServiceAccount that may list and watch ConfigMaps in team-1 and team-2, and nowhere else.
    const rbac = [
      "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: reader, namespace: default}",
      ...["team-1", "team-2"].flatMap((ns) => [
        `apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: reader, namespace: ${ns}}\nrules: [{apiGroups: [""], resources: [configmaps], verbs: [list, watch]}]`,
        `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: reader, namespace: ${ns}}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}\nsubjects: [{kind: ServiceAccount, name: reader, namespace: default}]`,
      ]),
    ].join("\n---\n");
    const applied = await cp.kubectl(["apply", "-f", "-"], rbac);
    assert.equal(applied.code, 0, applied.stderr);
    const token = await cp.kubectl(["create", "token", "reader", "-n", "default"]);
    assert.equal(token.code, 0, token.stderr);
    const readerConfig = new KubeConfig();
    const cluster = cp.kubeConfig.getCurrentCluster()!;
    readerConfig.loadFromOptions({
      clusters: [cluster],
      users: [{ name: "reader", token: token.stdout.trim() }],
      contexts: [{ name: "reader", cluster: cluster.name, user: "reader" }],
      currentContext: "reader",
    });
    const reader = new KubeClient(readerConfig, { fieldManager: "kube-test" });

    // The whole cluster is refused to this identity: it never syncs.
    const clusterWide = track(new Informer<ConfigMap>({ client: reader, type: ConfigMaps, backoffBaseMs: 100 }));
    clusterWide.start();
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(clusterWide.hasSynced(), false, "a cluster-wide list was allowed: the test proves nothing");

    const informer = track(
      new Informer<ConfigMap>({ client: reader, type: ConfigMaps, namespaces: ["team-1", "team-2"] }),
    );
    const seen = record(informer);
    informer.start();
    await informer.waitForSync();
    const ours = () =>
      informer
        .keys()
        .filter((key) => key.startsWith("team-"))
        .sort();
    assert.deepEqual(ours(), ["team-1/first", "team-2/first"]);
    await client.create(ConfigMaps, { metadata: { name: "second", namespace: "team-2" } });
    await client.create(ConfigMaps, { metadata: { name: "second", namespace: "team-3" } });
    await client.delete(ConfigMaps, "team-1", "first");
    await waitFor("watched in both namespaces", () => informer.get("team-2/second") && !informer.get("team-1/first"));
    // A relist lists each namespace again and replaces only that namespace's part of the cache.
    const lists = informer.listCount;
    informer.relist();
    await waitFor("both namespaces listed again", () => informer.listCount >= lists + 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(ours(), ["team-2/first", "team-2/second"]);
    // Nothing of the other namespace was announced deleted and added again by the relist.
    assert.deepEqual(seen.filter((line) => line.includes("team-")).sort(), [
      "add team-1/first",
      "add team-2/first",
      "add team-2/second",
      "delete team-1/first",
    ]);
  });

  test("stop() ends the watch; waitForSync on a never-started informer rejects when its signal aborts", async () => {
    const informer = new Informer<ConfigMap>({ client, type: ConfigMaps, namespaces: ["ns-a"] });
    const abort = new AbortController();
    const waiting = informer.waitForSync(abort.signal);
    abort.abort();
    await assert.rejects(waiting, /stopped before the cache synced/);
    // An informer that cannot reach the apiserver never syncs; stop() ends its waiters.
    const unreachable = new Informer<ConfigMap>({
      client: new KubeClient(unreachableConfig(cp.kubeConfig), { fieldManager: "kube-test" }),
      type: ConfigMaps,
    });
    unreachable.start();
    const never = unreachable.waitForSync();
    await new Promise((r) => setTimeout(r, 200));
    await unreachable.stop();
    await assert.rejects(never, /stopped before the cache synced/);
    informer.start();
    await informer.waitForSync();
    await informer.stop();
    const before = informer.size;
    await client.create(ConfigMaps, { metadata: { name: "after-stop", namespace: "ns-a" } });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(informer.size, before, "a stopped informer does not change");
  });

  describe("one watch request (openWatch)", () => {
    /** Opens a watch on ConfigMaps of ns-a and resolves with how it ended. */
    const watchUntilDone = (
      options: { path?: string; inactivityTimeoutMs?: number },
      onEvent: (phase: string, object: unknown) => void = () => {},
    ) =>
      new Promise<{ error: unknown }>((resolve, reject) => {
        openWatch(
          {
            kubeConfig: cp.kubeConfig,
            path: options.path ?? "/api/v1/namespaces/ns-a/configmaps",
            query: { resourceVersion: "0" },
            ...(options.inactivityTimeoutMs ? { inactivityTimeoutMs: options.inactivityTimeoutMs } : {}),
          },
          onEvent,
          (error) => resolve({ error }),
        ).catch(reject);
      });

    test("an HTTP error ends it with the status code", async () => {
      const { error } = await watchUntilDone({ path: "/apis/no.such.group/v1/things" });
      assert.equal((error as { statusCode?: number }).statusCode, 404);
    });

    test("a handler that throws ends it with that error instead of losing it", async () => {
      await client.create(ConfigMaps, { metadata: { name: "watched", namespace: "ns-a" } });
      const { error } = await watchUntilDone({}, () => {
        throw new Error("handler bug");
      });
      assert.equal((error as Error).message, "handler bug");
    });

    test("no byte for longer than the inactivity timeout ends it as a TimeoutError", async () => {
      // Nothing changes in an empty namespace and bookmarks come about once a minute.
      await createNamespace(client, "quiet");
      const { error } = await watchUntilDone({
        path: "/api/v1/namespaces/quiet/configmaps",
        inactivityTimeoutMs: 300,
      });
      assert.equal((error as Error).name, "TimeoutError");
    });
  });
});
