// state-metrics of the namespaced install (deploy/namespaced): as its ServiceAccount, with the
// component's RBAC (its ClusterRole bound in team-a and team-b only) and the namespaces it lists, it
// exports the Runners of those namespaces and never asks for the rest of the cluster.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { KubeConfig, type KubernetesObject, loadAllYaml } from "@kubernetes/client-node";
import { KubeClient, Runners } from "@octorun/kube";
import { createLogger, createMetricsRegistry } from "@octorun/runtime";
import { type ControlPlane, startControlPlane, waitFor } from "@octorun/testkit";
import { parseAllowlist } from "../src/label-names.ts";
import { StateMetrics } from "../src/state-metrics.ts";
import { sampleValue, scrape } from "./helpers.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const SYSTEM = "octorun-system";
const ACCOUNT = "octorun-state-metrics";

describe("the namespaced install's state-metrics", () => {
  let cp: ControlPlane;
  let service: StateMetrics | undefined;

  before(async () => {
    cp = await startControlPlane();
    const crds = await cp.kubectl([
      "apply",
      "--server-side",
      "-f",
      join(root, "deploy/crds/octorun.github.io_runners.yaml"),
      "-f",
      join(root, "deploy/crds/octorun.github.io_runnersets.yaml"),
    ]);
    assert.equal(crds.code, 0, crds.stderr);
    const established = await cp.kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=30s",
      "crd/runners.octorun.github.io",
      "crd/runnersets.octorun.github.io",
    ]);
    assert.equal(established.code, 0, established.stderr);
    for (const ns of [SYSTEM, "team-a", "team-b", "team-c"])
      assert.equal((await cp.kubectl(["create", "namespace", ns])).code, 0);
    // What a user writes: deploy/ with the namespaced component (kustomize takes relative paths only).
    const overlay = mkdtempSync(join(tmpdir(), "octorun-namespaced-"));
    const deploy = relative(overlay, join(root, "deploy"));
    writeFileSync(
      join(overlay, "kustomization.yaml"),
      `resources: [${deploy}]\ncomponents: [${join(deploy, "namespaced")}]\n`,
    );
    const built = await cp.kubectl(["kustomize", overlay]);
    rmSync(overlay, { recursive: true, force: true });
    assert.equal(built.code, 0, built.stderr);
    const rbac = (loadAllYaml(built.stdout) as Required<KubernetesObject>[]).filter(
      (o) =>
        ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"].includes(o.kind) &&
        o.metadata.name === ACCOUNT,
    );
    const applied = await cp.kubectl(["apply", "-f", "-"], rbac.map((o) => JSON.stringify(o)).join("\n"));
    assert.equal(applied.code, 0, applied.stderr);
  });
  after(async () => {
    await service?.stop();
    await cp?.stop();
  });

  test("with the listed namespaces, as its ServiceAccount: team-a's Runner exported, team-c's not", async () => {
    const admin = new KubeClient(cp.kubeConfig, { fieldManager: "test" });
    for (const ns of ["team-a", "team-c"])
      await admin.create(Runners, {
        metadata: { name: "r", namespace: ns },
        spec: { url: "https://github.com/octo-org" },
      } as KubernetesObject);
    const token = await cp.kubectl(["create", "token", ACCOUNT, "-n", SYSTEM]);
    assert.equal(token.code, 0, token.stderr);
    const config = new KubeConfig();
    const cluster = cp.kubeConfig.getCurrentCluster();
    assert.ok(cluster);
    config.loadFromOptions({
      clusters: [cluster],
      users: [{ name: ACCOUNT, token: token.stdout.trim() }],
      contexts: [{ name: ACCOUNT, cluster: cluster.name, user: ACCOUNT }],
      currentContext: ACCOUNT,
    });
    const kube = new KubeClient(config, { fieldManager: ACCOUNT });
    // The whole cluster is refused to this identity (the test would prove nothing otherwise).
    await assert.rejects(kube.list(Runners), (error: { statusCode?: number }) => error.statusCode === 403);
    service = new StateMetrics({
      kube,
      registry: createMetricsRegistry(),
      logger: createLogger({ service: "state-metrics-test", level: "error" }),
      metricsHost: "127.0.0.1",
      metricsPort: 0,
      namespaces: ["team-a", "team-b"],
      metadataLabelsAllowlist: parseAllowlist(["*"]),
      jobLabelsAllowlist: ["runnerset"],
      consumerName: ACCOUNT,
    });
    await service.start();
    assert.equal(service.ready(), true);
    const running = service;
    const text = await waitFor("team-a's Runner exported", async () => {
      const t = await scrape(running.server.port);
      return sampleValue(t, "octorun_runner_created", { namespace: "team-a", runner: "r" }) !== undefined
        ? t
        : undefined;
    });
    assert.equal(sampleValue(text, "octorun_runner_created", { namespace: "team-c", runner: "r" }), undefined);
  });
});
