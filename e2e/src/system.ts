// The whole of octorun on one machine, as it runs in a cluster: a real control plane with kwok
// nodes, a real nats-server with one user per service, the GitHub simulator, and the four
// services as separate processes. Used by the sandbox, the end-to-end tests and the benchmarks.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, type KubernetesObject, KubernetesObjectApi } from "@kubernetes/client-node";
import {
  conversionClientConfig,
  mutatingWebhookConfiguration,
  validatingWebhookConfiguration,
} from "@octorun/admission-webhook";
import { jobPublisherPermissions } from "@octorun/bus";
import { stateMetricsNatsPermissions } from "@octorun/state-metrics";
import {
  type ControlPlane,
  freePort,
  GitHubSimulator,
  imageNodeFlags,
  installCrds,
  makeReusingApiClient,
  type NatsCluster,
  type NatsServer,
  type NetnsForward,
  ProcessGroup,
  startControlPlane,
  startNatsCluster,
  startNatsServer,
  startNetnsForward,
  waitFor,
} from "@octorun/testkit";
import { connect, type NatsConnection } from "nats";
import { parseAllDocuments } from "yaml";
import { controllerNatsPermissions } from "../../services/controller/src/nats-permissions.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export type ServiceName = "admission-webhook" | "github-ingress" | "controller" | "state-metrics";

export interface SystemOptions {
  kwokNodes?: number;
  /** Controller replicas (leader election picks one). */
  controllers?: number;
  /** The GitHub organization runners register with. */
  organization?: string;
  /** Extra environment per service (e.g. shorter lease times in tests). */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Print each service's log lines to stderr as they come. */
  echoLogs?: boolean;
  /** nats-server nodes: 1, or a JetStream cluster (3) with the job stream replicated on every node. */
  natsNodes?: number;
  /**
   * A real node beside the kwok nodes, where runner Pods run octorun's runner image for real: the
   * GitHub simulator then also listens on a runner socket that such Pods mount (realRunnerSpec).
   */
  realNode?: boolean;
  /**
   * A real HorizontalPodAutoscaler: kube-controller-manager's HPA controller syncing this often,
   * and state-metrics' custom.metrics.k8s.io registered with the apiserver's aggregation layer
   * (deploy/state-metrics' Service and APIServices), reached through a network namespace. Needs root.
   */
  autoscaling?: { hpaSyncPeriodSeconds: number; scaleToZero?: boolean };
}

export interface ServiceProcess {
  name: string;
  healthPort: number;
  /** Extra ports by purpose (webhook, metrics). */
  ports: Record<string, number>;
  pid(): number | undefined;
}

const NATS_USERS = {
  "github-ingress": { user: "github-ingress", password: "ingress-nats-password" },
  controller: { user: "controller", password: "controller-nats-password" },
  "state-metrics": { user: "state-metrics", password: "state-metrics-nats-password" },
} as const;

export const WEBHOOK_SECRET = "sandbox-webhook-secret-7f3a9c";

export class OctorunSystem {
  readonly stateDir: string;
  readonly organization: string;
  readonly options: SystemOptions;
  cp!: ControlPlane;
  nats!: NatsCluster;
  github!: GitHubSimulator;
  readonly services = new Map<string, ServiceProcess>();
  readonly #group: ProcessGroup;
  readonly #env = new Map<string, NodeJS.ProcessEnv>();
  #githubEnv: Record<string, string> = {};
  #kubeconfigs: Record<"controller" | "state-metrics", string> = { controller: "", "state-metrics": "" };
  /** The CRDs' conversion webhook client config, known once the admission webhook runs. */
  #conversion: unknown;
  /** The way from the aggregation layer to state-metrics (with `autoscaling`). */
  #metricsPath: NetnsForward | undefined;

  constructor(options: SystemOptions = {}) {
    this.options = options;
    this.organization = options.organization ?? "octo-org";
    this.stateDir = mkdtempSync(join(tmpdir(), "octorun-system-"));
    this.#group = new ProcessGroup(this.stateDir);
  }

  /** The URL a Runner's spec.url names (github.com; the controller's API base points at the simulator). */
  get runnerUrl(): string {
    return `https://github.com/${this.organization}`;
  }

  async start(): Promise<this> {
    const users = [
      { user: "admin", password: "nats-admin-password" },
      // As deploy/nats has them: the ingress may only publish; the controller declares the stream.
      { ...NATS_USERS["github-ingress"], ...jobPublisherPermissions() },
      { ...NATS_USERS.controller, ...controllerNatsPermissions("octorun-controller") },
      { ...NATS_USERS["state-metrics"], ...stateMetricsNatsPermissions("octorun-state-metrics") },
    ];
    const natsNodes = this.options.natsNodes ?? 1;
    const [cp, nats] = await Promise.all([
      startControlPlane({
        controllerManager: true,
        kwokNodes: this.options.kwokNodes ?? 2,
        realNode: this.options.realNode === true,
        ...(this.options.autoscaling
          ? {
              aggregationLayer: true,
              hpaSyncPeriodSeconds: this.options.autoscaling.hpaSyncPeriodSeconds,
              ...(this.options.autoscaling.scaleToZero ? { featureGates: { HPAScaleToZero: true } } : {}),
            }
          : {}),
      }),
      natsNodes > 1 ? startNatsCluster({ size: natsNodes, users }) : startNatsServer({ users }).then(singleNode),
    ]);
    this.cp = cp;
    this.nats = nats;
    const core = makeReusingApiClient(cp.kubeConfig, CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: "octorun-system" } } });
    // The controller and state-metrics talk to the apiserver as their own ServiceAccounts, with
    // exactly the RBAC of deploy/, so a missing permission fails here as it would in a cluster.
    this.#kubeconfigs = {
      controller: await this.#serviceAccountKubeconfig("controller", "octorun-controller"),
      "state-metrics": await this.#serviceAccountKubeconfig("state-metrics", "octorun-state-metrics"),
    };

    await this.#startAdmissionWebhook();
    await installCrds(this.cp, { conversion: { webhookClientConfig: this.#conversion } });

    const ingressPort = await freePort();
    this.github = await new GitHubSimulator({
      webhook: { url: `http://127.0.0.1:${ingressPort}/api/github/webhooks`, secret: WEBHOOK_SECRET },
      runners: { kubeConfig: cp.kubeConfig, ignoreNodes: cp.realNode ? [cp.realNode.name] : [] },
      ...(cp.realNode ? { runnerSocket: join(this.runnerSocketDir, "github.sock") } : {}),
    }).start();
    this.github.addOrganization(this.organization);
    const { appId, privateKey } = this.github.createApp();
    const installationId = this.github.addInstallation({ appId, account: this.organization });
    const keyFile = join(this.stateDir, "github-app.pem");
    writeFileSync(keyFile, privateKey, { mode: 0o600 });
    this.#githubEnv = {
      GITHUB_API_URL: this.github.apiUrl,
      GITHUB_APP_ID: String(appId),
      GITHUB_APP_PRIVATE_KEY_FILE: keyFile,
      GITHUB_APP_INSTALLATION_ID: String(installationId),
    };

    await Promise.all([
      this.#startService(
        "github-ingress",
        {
          ...this.#natsEnv("github-ingress"),
          JOB_STREAM_MANAGE: "false",
          WEBHOOK_SECRET,
          HTTP_HOST: "127.0.0.1",
          HTTP_PORT: String(ingressPort),
        },
        { webhook: ingressPort },
      ),
      this.#startStateMetrics(),
      ...Array.from({ length: this.options.controllers ?? 1 }, (_, i) => this.startController(i)),
    ]);
    if (this.options.autoscaling) await this.#registerMetricsApi();
    return this;
  }

  /** Starts controller replica i (again, after a kill). */
  async startController(i = 0): Promise<ServiceProcess> {
    const name = i === 0 ? "controller" : `controller-${i}`;
    return this.#startService(
      name,
      {
        KUBECONFIG: this.#kubeconfigs.controller,
        ...this.#natsEnv("controller"),
        ...this.#jobStreamEnv(),
        ...this.#githubEnv,
        POD_NAME: name,
        POD_NAMESPACE: "octorun-system",
        ...this.options.env?.controller,
      },
      {},
      i > 0 || (this.options.controllers ?? 1) > 1 ? "any" : "ready",
    );
  }

  /** Sends a signal to a service's process. */
  kill(name: string, signal: NodeJS.Signals = "SIGKILL"): void {
    const pid = this.services.get(name)?.pid();
    if (pid) process.kill(pid, signal);
  }

  /** Starts a service again with the same ports and environment (with `envChanges` made to it, from then on). */
  async restart(name: string, envChanges: Record<string, string> = {}): Promise<ServiceProcess> {
    const stored = this.#env.get(name);
    const service = this.services.get(name);
    if (!stored || !service) throw new Error(`no such service: ${name}`);
    const env = { ...stored, ...envChanges };
    this.#env.set(name, env);
    await this.#group.stopOne(name, 2_000);
    return this.#launch(name, env, service.ports, "ready");
  }

  /** A RunnerSet of this system's organization on the kwok nodes, labelled `runnerset=<name>` for jobs. */
  runnerSetManifest(name: string, runners: number): string {
    return `
apiVersion: octorun.github.io/v1alpha2
kind: RunnerSet
metadata:
  name: ${name}
spec:
  runners: ${runners}
  selector:
    matchLabels:
      octorun.github.io/runnerset: ${name}
  template:
    metadata:
      labels:
        octorun.github.io/runnerset: ${name}
    spec:
      url: ${this.runnerUrl}
      image:
        name: ghcr.io/octorun/runner:${name}
      placement:
        tolerations:
          - key: kwok.x-k8s.io/node
            operator: Exists
            effect: NoSchedule
`;
  }

  /** The folder of the GitHub simulator's runner socket, which runner Pods on the real node mount. */
  get runnerSocketDir(): string {
    return join(this.stateDir, "github-runner-socket");
  }

  /**
   * What a Runner spec needs to run on the real node with the runner image built here
   * (`npm run images`): the image, the node, and the simulator's runner socket mounted where the
   * runner stand-in looks for it.
   */
  realRunnerSpec(image: string): Record<string, unknown> {
    const node = this.cp.realNode;
    if (!node) throw new Error("this system has no real node (SystemOptions.realNode)");
    return {
      image: { name: image, pullPolicy: "Never" },
      placement: { nodeSelector: node.nodeSelector },
      volumes: [{ name: "github-simulator", hostPath: { path: this.runnerSocketDir, type: "Directory" } }],
      volumeMounts: [{ name: "github-simulator", mountPath: "/var/run/github-simulator" }],
    };
  }

  /** A NATS connection with full rights, for a test to look into the stream. */
  natsAdmin(): Promise<NatsConnection> {
    return connect({ servers: this.nats.url.split(","), user: "admin", pass: "nats-admin-password" });
  }

  /** Everything a service has logged so far. */
  logs(name: string): string {
    try {
      return readFileSync(join(this.stateDir, `${name}.log`), "utf8");
    } catch {
      return "";
    }
  }

  /**
   * Log lines of a service where a request (to the apiserver, or GitHub) was refused for a reason
   * other than a lost race (404 Not Found, 409 Conflict): a missing permission, a webhook's denial,
   * an invalid object.
   */
  refusedRequests(name: string): string[] {
    return this.logs(name)
      .split("\n")
      .filter((line) => /"level":"(warn|error)"/.test(line) && /: 4(?!04|09)\d\d /.test(line));
  }

  /** Creates the objects of a manifest (YAML text, several documents; namespace `default` when none). */
  async apply(yamlText: string): Promise<KubernetesObject[]> {
    const client = KubernetesObjectApi.makeApiClient(this.cp.kubeConfig);
    const applied: KubernetesObject[] = [];
    for (const doc of parseAllDocuments(yamlText)) {
      const object = doc.toJS() as KubernetesObject | null;
      if (!object) continue;
      object.metadata ??= {};
      object.metadata.namespace ??= "default";
      applied.push(await client.create(object));
    }
    return applied;
  }

  async stop(): Promise<void> {
    // OCTORUN_E2E_LOGS=<dir> keeps every service's log after the run, for debugging (a chaos run's
    // restarted services write into the same log).
    // One folder per system, so that a run of several (the chaos benchmark's two) keeps them all.
    const keep = process.env.OCTORUN_E2E_LOGS;
    if (keep) {
      const dir = join(keep, basename(this.stateDir));
      mkdirSync(dir, { recursive: true });
      for (const name of this.services.keys()) writeFileSync(join(dir, `${name}.log`), this.logs(name));
    }
    await this.github?.stop().catch(() => {});
    await this.#group.stop(3_000);
    await Promise.all([this.nats?.stop(), this.cp?.stop(), this.#metricsPath?.stop()]);
  }

  #natsEnv(service: keyof typeof NATS_USERS): Record<string, string> {
    return {
      NATS_URL: this.nats.url,
      NATS_USER: NATS_USERS[service].user,
      NATS_PASSWORD: NATS_USERS[service].password,
    };
  }

  /** Applies a service's ServiceAccount and RBAC from deploy/ and writes a kubeconfig with a token for it. */
  async #serviceAccountKubeconfig(service: "controller" | "state-metrics", account: string): Promise<string> {
    const files = ["service-account.yaml", "rbac.yaml"].map((f) => join(root, "deploy", service, f));
    const applied = await this.cp.kubectl(["apply", ...files.flatMap((f) => ["-f", f])]);
    if (applied.code !== 0) throw new Error(`deploy/${service} RBAC: ${applied.stderr}`);
    const token = await this.cp.kubectl(["create", "token", account, "-n", "octorun-system", "--duration=24h"]);
    if (token.code !== 0) throw new Error(`a token for ${account}: ${token.stderr}`);
    const path = join(this.stateDir, `${service}.kubeconfig`);
    // The admin kubeconfig's cluster entry (server and CA), so an existing cluster works as well.
    const cluster = this.cp.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("the admin kubeconfig has no current cluster");
    const kubeconfig = {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "octorun",
          cluster: {
            server: cluster.server,
            ...(cluster.caData ? { "certificate-authority-data": cluster.caData } : {}),
            ...(cluster.caFile ? { "certificate-authority": cluster.caFile } : {}),
            ...(cluster.skipTLSVerify ? { "insecure-skip-tls-verify": true } : {}),
          },
        },
      ],
      users: [{ name: account, user: { token: token.stdout.trim() } }],
      contexts: [{ name: account, context: { cluster: "octorun", user: account } }],
      "current-context": account,
    };
    writeFileSync(path, JSON.stringify(kubeconfig), { mode: 0o600 });
    return path;
  }

  /** What the controller declares the job stream with (as deploy/ does): one replica per nats-server node. */
  #jobStreamEnv(): Record<string, string> {
    return { JOB_STREAM_MANAGE: "true", JOB_STREAM_REPLICAS: String(this.nats.nodes.length) };
  }

  async #startAdmissionWebhook(): Promise<void> {
    const port = await freePort();
    await this.#startService(
      "admission-webhook",
      {
        TLS_CERT_FILE: this.cp.webhookTls.certFile,
        TLS_KEY_FILE: this.cp.webhookTls.keyFile,
        WEBHOOK_HOST: "127.0.0.1",
        WEBHOOK_PORT: String(port),
        // CONTROLLER_USERNAMES is left at its default, the controller's ServiceAccount, as deployed: the
        // controller runs as that account here, and the tests (as admin) may not set spec.id or spec.os.
      },
      { webhook: port },
    );
    const target = { baseUrl: `https://127.0.0.1:${port}`, caPem: this.cp.ca.cert };
    const client = KubernetesObjectApi.makeApiClient(this.cp.kubeConfig);
    await client.create(mutatingWebhookConfiguration(target) as KubernetesObject);
    await client.create(validatingWebhookConfiguration(target) as KubernetesObject);
    this.#conversion = conversionClientConfig(target);
  }

  async #startStateMetrics(): Promise<void> {
    const [metricsPort, customMetricsPort] = await Promise.all([freePort(), freePort()]);
    // The serving certificate cert-manager would issue (deploy/state-metrics/certificate.yaml).
    const tls = this.options.autoscaling
      ? this.cp.issueServingCertificate("state-metrics-serving", ["octorun-state-metrics.octorun-system.svc"])
      : undefined;
    await this.#startService(
      "state-metrics",
      {
        KUBECONFIG: this.#kubeconfigs["state-metrics"],
        ...this.#natsEnv("state-metrics"),
        METRICS_HOST: "127.0.0.1",
        METRICS_PORT: String(metricsPort),
        ...(tls
          ? {
              CUSTOM_METRICS_HOST: "127.0.0.1",
              CUSTOM_METRICS_PORT: String(customMetricsPort),
              TLS_CERT_FILE: tls.certFile,
              TLS_KEY_FILE: tls.keyFile,
            }
          : {}),
      },
      { metrics: metricsPort, ...(tls ? { customMetrics: customMetricsPort } : {}) },
    );
  }

  /**
   * Registers state-metrics' custom metrics API as deploy/ does (its Service and APIServices),
   * with what a cluster would add: an endpoint of the Service (an address in a network namespace
   * of this run, forwarded to state-metrics' loopback port: endpoints refuse loopback) and the
   * CA that cert-manager's injector would put in the APIServices.
   */
  async #registerMetricsApi(): Promise<void> {
    const port = this.services.get("state-metrics")?.ports.customMetrics;
    if (!port) throw new Error("state-metrics serves no custom metrics API");
    this.#metricsPath = await startNetnsForward(port);
    const service = await this.cp.kubectl(["apply", "-f", join(root, "deploy", "state-metrics", "service.yaml")]);
    if (service.code !== 0) throw new Error(`deploy/state-metrics/service.yaml: ${service.stderr}`);
    const client = KubernetesObjectApi.makeApiClient(this.cp.kubeConfig);
    await client.create({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "octorun-state-metrics-netns",
        namespace: "octorun-system",
        labels: {
          "kubernetes.io/service-name": "octorun-state-metrics",
          "endpointslice.kubernetes.io/managed-by": "octorun-e2e",
        },
      },
      addressType: "IPv4",
      endpoints: [{ addresses: [this.#metricsPath.address], conditions: { ready: true } }],
      ports: [{ name: "https", port: this.#metricsPath.port, protocol: "TCP" }],
    } as KubernetesObject);
    const manifests = readFileSync(join(root, "deploy", "state-metrics", "apiservice.yaml"), "utf8");
    const names: string[] = [];
    for (const doc of parseAllDocuments(manifests)) {
      const apiService = doc.toJS() as KubernetesObject & { spec: { caBundle?: string } };
      apiService.spec.caBundle = Buffer.from(this.cp.ca.cert).toString("base64");
      await client.create(apiService);
      names.push(apiService.metadata?.name ?? "");
    }
    for (const name of names) {
      await waitFor(
        `APIService ${name} Available`,
        async () => {
          const current = (await client.read({
            apiVersion: "apiregistration.k8s.io/v1",
            kind: "APIService",
            metadata: { name },
          })) as KubernetesObject & { status?: { conditions?: { type: string; status: string }[] } };
          return current.status?.conditions?.some((c) => c.type === "Available" && c.status === "True");
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
    }
    // Available is not yet discoverable: the aggregator fetches the API's discovery on its own
    // schedule, and a client that reads it stale (as kube-controller-manager would) keeps it so.
    await waitFor("custom.metrics.k8s.io in the aggregated discovery", () => this.#metricsDiscoveryFresh(), {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
  }

  /** Whether the apiserver's aggregated discovery lists custom.metrics.k8s.io, every version fresh. */
  #metricsDiscoveryFresh(): Promise<boolean> {
    const user = this.cp.kubeConfig.getCurrentUser();
    const pem = (data: string | undefined) => Buffer.from(data ?? "", "base64").toString();
    const url = new URL(`${this.cp.server}/apis`);
    return new Promise((resolve) => {
      const req = httpsRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          ca: this.cp.ca.cert,
          cert: pem(user?.certData),
          key: pem(user?.keyData),
          headers: { accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" },
        },
        (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => {
            text += chunk.toString();
          });
          res.on("end", () => {
            try {
              const list = JSON.parse(text) as {
                items: { metadata: { name: string }; versions: { freshness?: string; resources?: unknown[] }[] }[];
              };
              const group = list.items.find((g) => g.metadata.name === "custom.metrics.k8s.io");
              resolve(group?.versions.every((v) => v.freshness !== "Stale" && (v.resources?.length ?? 0) > 0) === true);
            } catch {
              resolve(false);
            }
          });
        },
      );
      req.on("error", () => resolve(false));
      req.end();
    });
  }

  async #startService(
    name: string,
    env: Record<string, string>,
    ports: Record<string, number>,
    wait: "ready" | "any" = "ready",
  ): Promise<ServiceProcess> {
    const healthPort = await freePort();
    const fullEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NO_PROXY: "127.0.0.1,localhost",
      HEALTH_HOST: "127.0.0.1",
      HEALTH_PORT: String(healthPort),
      // OCTORUN_E2E_LOG_LEVEL=debug, with OCTORUN_E2E_LOGS, keeps what every service decided.
      ...(process.env.OCTORUN_E2E_LOG_LEVEL ? { LOG_LEVEL: process.env.OCTORUN_E2E_LOG_LEVEL } : {}),
      ...env,
      ...this.options.env?.[name as ServiceName],
    };
    this.#env.set(name, fullEnv);
    return this.#launch(name, fullEnv, ports, wait);
  }

  async #launch(
    name: string,
    env: NodeJS.ProcessEnv,
    ports: Record<string, number>,
    wait: "ready" | "any",
  ): Promise<ServiceProcess> {
    const serviceDir = name.startsWith("controller") ? "controller" : name;
    const child = this.#group.start(
      name,
      process.execPath,
      [...imageNodeFlags(root, serviceDir), join(root, "services", serviceDir, "src", "index.ts")],
      env,
    );
    if (this.options.echoLogs) child.stdout?.on("data", (chunk: Buffer) => process.stderr.write(chunk));
    const healthPort = Number(env.HEALTH_PORT);
    const service: ServiceProcess = { name, healthPort, ports, pid: () => child.pid };
    this.services.set(name, service);
    // A standby controller is alive but not ready until it leads: wait for /healthz only.
    const path = wait === "ready" ? "/readyz" : "/healthz";
    await waitFor(
      `${name} ${path}`,
      async () => {
        if (child.exitCode !== null)
          throw new Error(`${name} exited with ${child.exitCode}:\n${this.#group.logTail(name)}`);
        return (await fetch(`http://127.0.0.1:${healthPort}${path}`)).ok;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${this.#group.logTail(name)}`);
    });
    return service;
  }
}

/** One nats-server seen as a cluster of one node. */
function singleNode(server: NatsServer): NatsCluster {
  return { url: server.url, nodes: [server], pids: () => server.pids(), stop: () => server.stop() };
}
