import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { type Binaries, ensureBinaries } from "./binaries.ts";
import { makeReusingApiClient } from "./kube-api.ts";
import {
  createFrontProxyPki,
  createPki,
  type FrontProxyPki,
  issueServingCertificate,
  type KeyPair,
  type Pki,
} from "./pki.ts";
import { finishPod } from "./pods.ts";
import { freePort } from "./ports.ts";
import { ProcessGroup } from "./processes.ts";
import { type RealNode, startRealNode } from "./real-node.ts";
import { waitFor } from "./wait.ts";

const DIRECT = "127.0.0.1,localhost,10.213.0.0/16";

export interface ControlPlaneOptions {
  /** kube-controller-manager: garbage collection, namespaces, service-account tokens. */
  controllerManager?: boolean;
  /** kube-scheduler: binds Pods to nodes. */
  scheduler?: boolean;
  /** kwok with this many fake nodes; Pods on them become Running and Ready. Implies the scheduler. */
  kwokNodes?: number;
  /**
   * One real node (kubelet, containerd, runc; see real-node.ts), labelled `octorun.test/node=real`:
   * a test puts Pods on it with `realNode.nodeSelector`. Implies the scheduler, the
   * kube-controller-manager and the ServiceAccount admission plugin (Pods get their tokens as on a
   * real cluster). Check `realNodeSupport()` first: it needs root and containerd.
   */
  realNode?: boolean;
  /** kube-controller-manager controllers to run besides the default ones (e.g. `disruption`). */
  extraControllers?: string[];
  /**
   * The apiserver's aggregation layer, for aggregated APIs such as custom.metrics.k8s.io: a
   * front-proxy CA (requestheader-*), the proxy client certificate, and routing to a Service's
   * endpoints rather than its cluster IP (no kube-proxy here).
   */
  aggregationLayer?: boolean;
  /** kube-controller-manager's horizontalpodautoscaling controller, syncing this often. Implies controllerManager. */
  hpaSyncPeriodSeconds?: number;
  /** Feature gates of the apiserver and kube-controller-manager (e.g. `{ HPAScaleToZero: true }`). */
  featureGates?: Record<string, boolean>;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ControlPlane {
  /** The apiserver's URL. */
  server: string;
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  /** The CA that signed the apiserver and the webhook certificate (for a webhook's caBundle). */
  ca: KeyPair;
  /** A serving certificate for 127.0.0.1/localhost, for a test's own HTTPS webhook. */
  webhookTls: KeyPair;
  /** The aggregation layer's CA and proxy client certificate (with `aggregationLayer`). */
  frontProxy: FrontProxyPki | undefined;
  /** A serving certificate signed by `ca` for these DNS names (an aggregated API's Service). */
  issueServingCertificate(name: string, dnsNames: string[]): KeyPair;
  /** True when the tests run against an existing cluster (OCTORUN_TEST_KUBECONFIG). */
  external: boolean;
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
  /** The real node, when asked for. */
  realNode?: RealNode;
  /** Ends a Pod as the kubelet would after its containers exit (kwok leaves it so). */
  finishPod(namespace: string, name: string, outcome: "Succeeded" | "Failed"): Promise<V1Pod>;
  /** Process ids of what this control plane started (empty for an external cluster). */
  pids(): number[];
  stop(): Promise<void>;
}

/**
 * Starts etcd and kube-apiserver (and on request kube-controller-manager, kube-scheduler and kwok)
 * on free loopback ports with a fresh PKI, and waits until they are ready. With
 * OCTORUN_TEST_KUBECONFIG set, uses that cluster instead and starts nothing.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const wantsControllerManager = options.controllerManager || options.realNode || options.hpaSyncPeriodSeconds;
  const wantsScheduler = options.scheduler || (options.kwokNodes ?? 0) > 0 || options.realNode;
  const bins = ensureBinaries([
    "etcd",
    "kube-apiserver",
    "kubectl",
    ...(wantsControllerManager ? (["kube-controller-manager"] as const) : []),
    ...(wantsScheduler ? (["kube-scheduler"] as const) : []),
    ...(options.kwokNodes ? (["kwok"] as const) : []),
    ...(options.realNode ? (["kubelet"] as const) : []),
  ]);
  const stateDir = mkdtempSync(join(tmpdir(), "octorun-cp-"));
  const pki = createPki(join(stateDir, "pki"));
  const external = process.env.OCTORUN_TEST_KUBECONFIG;
  if (external) return controlPlaneHandle(bins, pki, external, undefined, stateDir);
  const frontProxy = options.aggregationLayer ? createFrontProxyPki(pki.dir) : undefined;

  const group = new ProcessGroup(stateDir);
  try {
    const server = await startEtcdAndApiserver(bins, pki, group, {
      serviceAccountAdmission: options.realNode === true,
      extraArgs: [...aggregationLayerArgs(frontProxy), ...featureGateArgs(options.featureGates)],
    });
    const kubeconfigPath = join(stateDir, "admin.kubeconfig");
    writeFileSync(kubeconfigPath, adminKubeconfig(server, pki), { mode: 0o600 });
    const handle = controlPlaneHandle(bins, pki, kubeconfigPath, group, stateDir, server, frontProxy);
    await Promise.all([
      wantsControllerManager
        ? startControllerManager(
            bins,
            pki,
            group,
            kubeconfigPath,
            [
              ...(options.extraControllers ?? []),
              ...(options.hpaSyncPeriodSeconds ? ["horizontalpodautoscaling"] : []),
            ],
            [...hpaControllerArgs(options.hpaSyncPeriodSeconds), ...featureGateArgs(options.featureGates)],
          )
        : undefined,
      wantsScheduler ? startScheduler(bins, group, kubeconfigPath) : undefined,
    ]);
    if ((options.kwokNodes ?? 0) > 0) await startKwok(bins, group, handle, options.kwokNodes ?? 0);
    if (options.realNode) {
      const realNode = await startRealNode({ group, kubelet: bins.kubelet, kubeconfigPath });
      handle.realNode = realNode;
      handle.stop = async () => {
        await realNode.stop();
        await group.stop();
      };
    }
    return handle;
  } catch (error) {
    const logs = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubelet"]
      .map((name) => `--- ${name}\n${group.logTail(name, 15)}`)
      .join("\n");
    await group.stop();
    throw new Error(`control plane did not start: ${(error as Error).message}\n${logs}`);
  }
}

async function startEtcdAndApiserver(
  bins: Binaries,
  pki: Pki,
  group: ProcessGroup,
  { serviceAccountAdmission, extraArgs }: { serviceAccountAdmission: boolean; extraArgs: string[] },
): Promise<string> {
  const [etcdPort, peerPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  group.start("etcd", bins.etcd, [
    "--name=test",
    `--data-dir=${join(group.stateDir, "etcd")}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=test=${peerUrl}`,
    "--unsafe-no-fsync=true",
    "--log-level=warn",
  ]);
  await waitFor("etcd", async () => (await fetch(`${etcdUrl}/health`)).ok, { timeoutMs: 30_000 });

  const server = `https://127.0.0.1:${apiPort}`;
  group.start(
    "kube-apiserver",
    bins.kubeApiserver,
    [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${pki.apiserver.certFile}`,
      `--tls-private-key-file=${pki.apiserver.keyFile}`,
      `--client-ca-file=${pki.ca.certFile}`,
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
      `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.0.0.0/24",
      "--allow-privileged=true",
      // Without the ServiceAccount plugin no Pod gets a token: on where a test checks what a Pod can reach.
      `--disable-admission-plugins=${serviceAccountAdmission ? "" : "ServiceAccount,"}TaintNodesByCondition`,
      // A real node is named `localhost` and listens on loopback only.
      "--kubelet-preferred-address-types=Hostname",
      "--endpoint-reconciler-type=none",
      `--cert-dir=${join(group.stateDir, "apiserver-certs")}`,
      `--profiling=${process.env.OCTORUN_APISERVER_PROFILING === "1"}`,
      ...extraArgs,
    ],
    // The apiserver honours proxy variables when it calls webhooks and aggregated APIs: keep
    // loopback and the test's network namespaces (netns.ts) direct.
    { ...process.env, NO_PROXY: DIRECT, no_proxy: DIRECT },
  );
  await waitFor("kube-apiserver /readyz", () => httpsGetOk(`${server}/readyz`, pki), { timeoutMs: 120_000 });
  return server;
}

async function startControllerManager(
  bins: Binaries,
  pki: Pki,
  group: ProcessGroup,
  kubeconfig: string,
  extraControllers: string[],
  extraArgs: string[] = [],
) {
  const port = await freePort();
  group.start("kube-controller-manager", bins.kubeControllerManager, [
    `--kubeconfig=${kubeconfig}`,
    "--leader-elect=false",
    "--use-service-account-credentials=false",
    `--controllers=${["garbagecollector,namespace,serviceaccount,serviceaccount-token,root-ca-cert-publisher,clusterrole-aggregation,podgc,nodelifecycle", ...extraControllers].join(",")}`,
    ...extraArgs,
    `--service-account-private-key-file=${pki.serviceAccountKeyFile}`,
    `--root-ca-file=${pki.ca.certFile}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
  ]);
  await waitFor("kube-controller-manager", () => httpsGetOk(`https://127.0.0.1:${port}/healthz`), {
    timeoutMs: 60_000,
  });
}

async function startScheduler(bins: Binaries, group: ProcessGroup, kubeconfig: string) {
  const port = await freePort();
  group.start("kube-scheduler", bins.kubeScheduler, [
    `--kubeconfig=${kubeconfig}`,
    "--leader-elect=false",
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
  ]);
  await waitFor("kube-scheduler", () => httpsGetOk(`https://127.0.0.1:${port}/healthz`), { timeoutMs: 60_000 });
}

async function startKwok(bins: Binaries, group: ProcessGroup, handle: ControlPlane, nodes: number) {
  const [healthPort] = await Promise.all([freePort()]);
  group.start("kwok", bins.kwok, [
    `--kubeconfig=${handle.kubeconfigPath}`,
    `--config=${bins.kwokStages}`,
    "--manage-all-nodes=false",
    "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
    "--node-lease-duration-seconds=40",
    "--cidr=10.244.0.0/16",
    `--server-address=127.0.0.1:${healthPort}`,
  ]);
  const core = makeReusingApiClient(handle.kubeConfig, CoreV1Api);
  for (let i = 0; i < nodes; i++) {
    await core.createNode({
      body: {
        metadata: {
          name: `kwok-node-${i}`,
          annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
          labels: { "kubernetes.io/hostname": `kwok-node-${i}`, "kubernetes.io/os": "linux", type: "kwok" },
        },
        spec: {},
      },
    });
  }
  await waitFor(
    "kwok nodes Ready",
    async () => {
      const list = await core.listNode();
      const ready = list.items.filter((node) =>
        node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
      return ready.length >= nodes;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

function controlPlaneHandle(
  bins: Binaries,
  pki: Pki,
  kubeconfigPath: string,
  group: ProcessGroup | undefined,
  stateDir: string,
  server?: string,
  frontProxy?: FrontProxyPki,
): ControlPlane {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const core = makeReusingApiClient(kubeConfig, CoreV1Api);
  const handle: ControlPlane = {
    server: server ?? kubeConfig.getCurrentCluster()?.server ?? "",
    kubeconfigPath,
    kubeConfig,
    ca: pki.ca,
    webhookTls: pki.webhook,
    frontProxy,
    issueServingCertificate: (name, dnsNames) => issueServingCertificate(pki, name, dnsNames),
    external: group === undefined,
    kubectl: (args, input) => kubectl(bins.kubectl, kubeconfigPath, args, input),
    finishPod: (namespace, name, outcome) => finishPod(core, namespace, name, outcome),
    pids: () => group?.pids() ?? [],
    stop: async () => {
      if (group) await group.stop();
    },
  };
  void stateDir;
  return handle;
}

/** The apiserver's flags for the aggregation layer, as kubeadm sets them. */
function aggregationLayerArgs(frontProxy: FrontProxyPki | undefined): string[] {
  if (!frontProxy) return [];
  return [
    `--requestheader-client-ca-file=${frontProxy.ca.certFile}`,
    `--requestheader-allowed-names=${frontProxy.clientName}`,
    "--requestheader-username-headers=X-Remote-User",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    `--proxy-client-cert-file=${frontProxy.client.certFile}`,
    `--proxy-client-key-file=${frontProxy.client.keyFile}`,
    // No kube-proxy: the aggregator dials an endpoint of the Service, not its cluster IP.
    "--enable-aggregator-routing=true",
  ];
}

/** The HPA controller's sync period (the controller itself is added to --controllers). */
function hpaControllerArgs(syncPeriodSeconds: number | undefined): string[] {
  return syncPeriodSeconds ? [`--horizontal-pod-autoscaler-sync-period=${syncPeriodSeconds}s`] : [];
}

function featureGateArgs(gates: Record<string, boolean> | undefined): string[] {
  const entries = Object.entries(gates ?? {});
  return entries.length > 0 ? [`--feature-gates=${entries.map(([gate, on]) => `${gate}=${on}`).join(",")}`] : [];
}

function kubectl(binary: string, kubeconfig: string, args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      binary,
      [`--kubeconfig=${kubeconfig}`, ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

function adminKubeconfig(server: string, pki: Pki): string {
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "octorun-test", cluster: { server, "certificate-authority-data": b64(pki.ca.cert) } }],
    users: [
      {
        name: "admin",
        user: { "client-certificate-data": b64(pki.admin.cert), "client-key-data": b64(pki.admin.key) },
      },
    ],
    contexts: [{ name: "octorun-test", context: { cluster: "octorun-test", user: "admin" } }],
    "current-context": "octorun-test",
  });
}

/** GET over HTTPS; with a PKI it verifies the server and presents the admin certificate. */
function httpsGetOk(url: string, pki?: Pki): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      url,
      pki
        ? { ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key, timeout: 2_000 }
        : // The components' own health ports use a self-signed certificate made in memory.
          { rejectUnauthorized: false, timeout: 2_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}
