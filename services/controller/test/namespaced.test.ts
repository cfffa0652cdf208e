// The controller of deploy/namespaced: its own process, as its ServiceAccount with the overlay's
// RBAC (its ClusterRole granted through RoleBindings in team-a and team-b only) and
// WATCH_NAMESPACES=team-a,team-b. It must run Runners there without one request refused, and leave
// a Runner in team-c alone.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { type KubernetesObject, loadAllYaml } from "@kubernetes/client-node";
import { JOB_STREAM } from "@octorun/bus";
import { KubeClient } from "@octorun/kube";
import { waitFor } from "@octorun/testkit";
import { connect } from "nats";
import type { RunnerObject } from "../src/types.ts";
import { ROOT, Runners, runnerManifest, startControllerProcess, startWorld, stopProcess, type World } from "./env.ts";

const SYSTEM = "octorun-system";
const ACCOUNT = "octorun-controller";

describe("the namespaced install's controller", { timeout: 170_000 }, () => {
  let world: World;
  let admin: KubeClient;
  let controller: Awaited<ReturnType<typeof startControllerProcess>> | undefined;
  let kubeconfig: string;

  before(async () => {
    world = await startWorld({ namespaces: ["team-a", "team-b", "team-c", SYSTEM] });
    admin = new KubeClient(world.cp.kubeConfig, { fieldManager: "test" });
    // The controller's part of the overlay: its ServiceAccount, ClusterRole, RoleBindings and Lease Role.
    // What a user writes: deploy/ with the namespaced component (kustomize takes relative paths only).
    const overlay = mkdtempSync(join(tmpdir(), "octorun-namespaced-"));
    const deploy = relative(overlay, join(ROOT, "deploy"));
    writeFileSync(
      join(overlay, "kustomization.yaml"),
      `resources: [${deploy}]\ncomponents: [${join(deploy, "namespaced")}]\n`,
    );
    const built = await world.cp.kubectl(["kustomize", overlay]);
    rmSync(overlay, { recursive: true, force: true });
    assert.equal(built.code, 0, built.stderr);
    const rbacKinds = new Set(["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]);
    const objects = (loadAllYaml(built.stdout) as Required<KubernetesObject>[]).filter(
      (o) => rbacKinds.has(o.kind) && o.metadata.name?.startsWith(ACCOUNT),
    );
    assert.deepEqual(objects.map((o) => `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`).sort(), [
      `ClusterRole /${ACCOUNT}`,
      `Role ${SYSTEM}/${ACCOUNT}-leader-election`,
      `RoleBinding ${SYSTEM}/${ACCOUNT}-leader-election`,
      `RoleBinding team-a/${ACCOUNT}`,
      `RoleBinding team-b/${ACCOUNT}`,
      `ServiceAccount ${SYSTEM}/${ACCOUNT}`,
    ]);
    const applied = await world.cp.kubectl(["apply", "-f", "-"], objects.map((o) => JSON.stringify(o)).join("\n"));
    assert.equal(applied.code, 0, applied.stderr);
    const token = await world.cp.kubectl(["create", "token", ACCOUNT, "-n", SYSTEM]);
    assert.equal(token.code, 0, token.stderr);
    const cluster = world.cp.kubeConfig.getCurrentCluster();
    assert.ok(cluster);
    kubeconfig = join(world.cp.kubeconfigPath, "..", "namespaced-controller.kubeconfig");
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "test", cluster: { server: cluster.server, "certificate-authority-data": cluster.caData } }],
        users: [{ name: ACCOUNT, user: { token: token.stdout.trim() } }],
        contexts: [{ name: ACCOUNT, context: { cluster: "test", user: ACCOUNT } }],
        "current-context": ACCOUNT,
      }),
      { mode: 0o600 },
    );
  });
  after(async () => {
    await stopProcess(controller?.child);
    await world?.stop();
  });

  test("as its ServiceAccount, with WATCH_NAMESPACES, it leads and runs Runners in team-a and team-b; team-c's is left alone", async () => {
    // Cluster-wide, this identity is refused: a controller that listed the whole cluster would never be ready.
    const refused = await world.cp.kubectl(["--kubeconfig", kubeconfig, "get", "secrets", "--all-namespaces"]);
    assert.notEqual(refused.code, 0, "the ServiceAccount may list every Secret: the test proves nothing");

    await admin.create(Runners, runnerManifest("team-c", "outside", world.orgUrl));
    // Its log, to look for refused requests afterwards (startControllerProcess writes it there).
    const logs = mkdtempSync(join(tmpdir(), "octorun-namespaced-"));
    process.env.CONTROLLER_LOG_DIR = logs;
    controller = await startControllerProcess(world, {
      KUBECONFIG: kubeconfig,
      WATCH_NAMESPACES: "team-a,team-b",
      LEADER_ELECT: "true",
      POD_NAME: "namespaced-1",
      POD_NAMESPACE: SYSTEM,
      LOG_LEVEL: "warn",
      // As deploy/ runs it, the controller declares the job stream (here it updates the ingress's).
      JOB_STREAM_MANAGE: "true",
      JOB_STREAM_MAX_MESSAGES: "123456",
    });
    delete process.env.CONTROLLER_LOG_DIR;
    for (const ns of ["team-a", "team-b"]) await admin.create(Runners, runnerManifest(ns, "inside", world.orgUrl));
    for (const ns of ["team-a", "team-b"])
      await waitFor(
        `${ns}/inside Idle`,
        async () => (await admin.find<RunnerObject>(Runners, ns, "inside"))?.status?.phase === "Idle",
        { timeoutMs: 60_000 },
      );
    const outside = await admin.find<RunnerObject>(Runners, "team-c", "outside");
    assert.equal(outside?.status, undefined, "team-c's Runner got a status");
    assert.equal(outside?.metadata.finalizers, undefined, "team-c's Runner got a finalizer");
    const pods = await world.cp.kubectl(["get", "pods", "-n", "team-c", "-o", "name"]);
    assert.equal(pods.stdout.trim(), "");
    const lease = await world.cp.kubectl([
      "get",
      "lease",
      ACCOUNT,
      "-n",
      SYSTEM,
      "-o",
      "jsonpath={.spec.holderIdentity}",
    ]);
    assert.equal(lease.stdout.trim(), "namespaced-1");
    const nc = await connect({ servers: world.nats.url });
    const stream = await (await nc.jetstreamManager()).streams.info(JOB_STREAM);
    await nc.close();
    assert.equal(stream.config.max_msgs, 123456, "the controller did not declare the job stream");
    // Nothing it asked for was refused: a refusal is logged with its status code (as e2e's refusedRequests reads).
    const log = readFileSync(join(logs, `controller-${controller.healthPort}.log`), "utf8");
    const refusals = log
      .split("\n")
      .filter((line) => /"level":"(warn|error)"/.test(line) && /: 4(?!04|09)\d\d /.test(line));
    assert.deepEqual(refusals, []);
    rmSync(logs, { recursive: true, force: true });
  });
});
