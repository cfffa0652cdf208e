// deploy/ against a real kube-apiserver: the whole kustomize tree passes a server-side dry run
// (with cert-manager's real CRDs installed first), and once installed each service account can do
// its job and nothing else. Also: the NATS configuration of deploy/nats (checked by a real
// nats-server), the runner image's entrypoint (shellcheck, and run against stand-ins of the
// GitHub runner's scripts) and docker-compose.yaml (docker compose config).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import {
  BusConfigurationError,
  BusConnection,
  defaultJobStreamLimits,
  ensureJobStream,
  JOB_STREAM,
  type JobEvent,
  JobEventConsumer,
  jobPublisherPermissions,
  jobStreamExists,
  publishJobEvent,
  serviceInbox,
} from "@octorun/bus";
import { type ConfigSchema, commonSettings, mergeSchemas } from "@octorun/runtime";
import { stateMetricsNatsPermissions } from "@octorun/state-metrics";
import {
  type ControlPlane,
  cacheDir,
  createPki,
  ensureBinaries,
  freePort,
  ProcessGroup,
  startControlPlane,
  waitFor,
} from "@octorun/testkit";
import { parseAllDocuments } from "yaml";
import {
  mutatingWebhookConfiguration,
  validatingWebhookConfiguration,
} from "../../services/admission-webhook/src/index.ts";
import { controllerNatsPermissions } from "../../services/controller/src/nats-permissions.ts";

const root = join(import.meta.dirname, "..", "..");
const certManagerCrds = join(import.meta.dirname, "fixtures", "cert-manager");
const namespace = "octorun-system";
const services = ["controller", "admission-webhook", "github-ingress", "state-metrics"] as const;
type Service = (typeof services)[number];
const serviceAccount = (name: string) => `system:serviceaccount:${namespace}:${name}`;

const settingsFile = (service: Service) => join(root, "services", service, "src", "settings.ts");

/** A service's settings schema (with the settings every service has), from its settings.ts. */
async function serviceSettings(service: Service): Promise<ConfigSchema> {
  const module: Record<string, unknown> = await import(settingsFile(service));
  const schemas = Object.values(module).filter(
    (value): value is ConfigSchema => typeof value === "object" && value !== null && "properties" in value,
  );
  return mergeSchemas(commonSettings, ...schemas);
}

/** Environment names a service does not know, and required settings that are not set. */
function settingsProblems(schema: ConfigSchema, names: string[]): string[] {
  // KUBECONFIG is read by @octorun/kube's loader, not through the settings schema.
  const known = (name: string) =>
    name === "KUBECONFIG" ||
    name in schema.properties ||
    (name.endsWith("_FILE") && schema.properties[name.slice(0, -"_FILE".length)]?.secret === true);
  return [
    ...names.filter((name) => !known(name)).map((name) => `unknown setting ${name}`),
    ...(schema.required ?? [])
      .filter((name) => !names.includes(name) && !names.includes(`${name}_FILE`))
      .map((name) => `required setting ${name} is not set`),
  ];
}

/** resource → verbs, from `kubectl auth can-i --list` (resource rules only). */
type Grants = Map<string, string>;

function parseCanIList(text: string): Grants {
  const grants: Grants = new Map();
  for (const line of text.split("\n").slice(1)) {
    const match = /^(\S+)\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s*$/.exec(line);
    if (!match) continue;
    const [, resource = "", nonResource = "", names = "", verbs = ""] = match;
    if (nonResource !== "") continue;
    const key = names === "" ? resource : `${resource}[${names}]`;
    grants.set(key, verbs.split(/\s+/).filter(Boolean).sort().join(" "));
  }
  return grants;
}

/** What a service may do beyond what every authenticated user may. */
function beyond(grants: Grants, baseline: Grants): Record<string, string> {
  return Object.fromEntries([...grants].filter(([resource, verbs]) => baseline.get(resource) !== verbs).sort());
}

/** resource → verb → why the service needs it. Every verb granted must be here, with its reason. */
type GrantTable = Record<string, Record<string, string>>;

const cache = "its informer's cache (list, then watch)";
/**
 * `cluster`: in every namespace (in the namespaced install, in the listed ones only);
 * `inNamespace`: in octorun-system besides; `clusterScoped`: requests that name no namespace
 * (reviews), the same in both installs.
 */
const expectedGrants: Record<Service, { cluster: GrantTable; inNamespace: GrantTable; clusterScoped?: GrantTable }> = {
  controller: {
    cluster: {
      "controllerrevisions.apps": {
        list: cache,
        watch: cache,
        create: "a RunnerSet's template revision",
        get: "a revision that already exists: same template, or a hash collision",
        patch: "an old template used again gets a new revision number",
        delete: "pruning to revisionHistoryLimit",
      },
      "events.events.k8s.io": { create: "Events about its objects", patch: "a repeated Event's count" },
      pods: {
        list: cache,
        watch: cache,
        create: "a Runner's Pod",
        patch: "the Pod's safe-to-evict annotation follows the Runner's phase",
        delete: "a Complete, Failed or deleted Runner's Pod",
      },
      "runners.octorun.github.io": {
        list: cache,
        watch: cache,
        get: "a job event's status write met a conflict: read the Runner fresh",
        create: "a RunnerSet scales up",
        patch: "spec.id and spec.os, the finalizer, a RunnerSet adopting or releasing a Runner",
        delete: "a RunnerSet scales down or replaces a Runner",
      },
      "runners.octorun.github.io/finalizers": {
        update: "blockOwnerDeletion on the Pod's and Secret's owner reference (OwnerReferencesPermissionEnforcement)",
      },
      "runners.octorun.github.io/status": { patch: "the Runner's phase, conditions and job" },
      "runnersets.octorun.github.io": { list: cache, watch: cache },
      "runnersets.octorun.github.io/finalizers": {
        update: "blockOwnerDeletion on its Runners' and revisions' owner reference",
      },
      "runnersets.octorun.github.io/status": { patch: "the RunnerSet's counts, revisions and conditions" },
      secrets: {
        list: cache,
        watch: cache,
        get: "a Runner's GitHub credentials (spec.githubSecretRef); a JIT Secret an earlier leader may have written",
        create: "a Runner's JIT configuration or registration token",
        patch: "a registration token renewed",
        delete: "a deleted Runner's Secret",
      },
    },
    // Its leader-election Lease lives in octorun-system, and only there.
    inNamespace: {
      "leases.coordination.k8s.io": { create: "the Lease, the first time (cannot be limited to a name)" },
      "leases.coordination.k8s.io[octorun-controller]": { get: "leader election", update: "acquire and renew" },
    },
  },
  "admission-webhook": { cluster: {}, inNamespace: {} },
  "github-ingress": { cluster: {}, inNamespace: {} },
  "state-metrics": {
    cluster: {
      "runners.octorun.github.io": { list: cache, watch: cache },
      "runnersets.octorun.github.io": { list: cache, watch: cache },
    },
    clusterScoped: {
      "subjectaccessreviews.authorization.k8s.io": {
        create: "the custom metrics API authorizes each request with the apiserver (system:auth-delegator)",
      },
      "tokenreviews.authentication.k8s.io": {
        create: "comes with system:auth-delegator; unused (the front proxy's certificate authenticates requests)",
      },
    },
    inNamespace: {},
  },
};

/** The table's verbs in `kubectl auth can-i --list`'s form. */
function verbsOf(table: GrantTable): Record<string, string> {
  return Object.fromEntries(
    Object.entries(table).map(([resource, verbs]) => [resource, Object.keys(verbs).sort().join(" ")]),
  );
}

describe("deploy/ on a real apiserver", {
  skip: process.env.OCTORUN_TEST_KUBECONFIG
    ? "installs cluster-wide objects: only against the local control plane"
    : false,
}, () => {
  let cp: ControlPlane;
  const kubectl = async (args: string[], input?: string) => {
    const result = await cp.kubectl(args, input);
    assert.equal(result.code, 0, `kubectl ${args.join(" ")} failed:\n${result.stderr}`);
    return result;
  };

  before(async () => {
    cp = await startControlPlane();
    // cert-manager's own CRDs, so that Certificates and Issuers are checked by their real schema.
    await kubectl(["apply", "--server-side", "-f", certManagerCrds]);
    await kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/certificates.cert-manager.io",
      "crd/issuers.cert-manager.io",
    ]);
    // A dry run creates nothing, so the objects inside the namespace need it to exist already.
    await kubectl(["apply", "--server-side", "-k", join(root, "deploy", "namespace")]);
  });
  after(async () => {
    await cp?.stop();
  });

  test("a server-side dry run of the whole tree succeeds, with no Pod Security warning", async () => {
    const { stdout, stderr } = await kubectl([
      "apply",
      "-k",
      join(root, "deploy"),
      "--server-side",
      "--dry-run=server",
    ]);
    assert.doesNotMatch(stderr, /warning/i, "the apiserver warned about the tree");
    const applied = stdout.trim().split("\n");
    assert.ok(
      applied.every((line) => line.endsWith("serverside-applied (server dry run)")),
      stdout,
    );
    for (const object of [
      "customresourcedefinition.apiextensions.k8s.io/runners.octorun.github.io",
      "customresourcedefinition.apiextensions.k8s.io/runnersets.octorun.github.io",
      "mutatingwebhookconfiguration.admissionregistration.k8s.io/octorun-admission-webhook",
      "validatingwebhookconfiguration.admissionregistration.k8s.io/octorun-admission-webhook",
      "statefulset.apps/octorun-nats",
      "issuer.cert-manager.io/octorun-ca",
      "certificate.cert-manager.io/octorun-admission-webhook",
      "certificate.cert-manager.io/octorun-state-metrics-tls",
      "apiservice.apiregistration.k8s.io/v1beta2.custom.metrics.k8s.io",
      "apiservice.apiregistration.k8s.io/v1beta1.custom.metrics.k8s.io",
      ...services.flatMap((s) => [
        `deployment.apps/octorun-${s}`,
        `serviceaccount/octorun-${s}`,
        `service/octorun-${s}`,
        `poddisruptionbudget.policy/octorun-${s}`,
        `networkpolicy.networking.k8s.io/octorun-${s}`,
      ]),
    ])
      assert.ok(
        applied.some((line) => line.startsWith(`${object} `)),
        `${object} is not in the tree`,
      );
  });

  test("a client-side apply (plain `kubectl apply -k deploy`) is accepted too", async () => {
    // (The CRDs are large: their last-applied annotation must still fit in 256 KiB.)
    const { stderr } = await kubectl(["apply", "-k", join(root, "deploy"), "--dry-run=server"]);
    // The namespace folder was applied server-side in before(): kubectl notes it has no annotation.
    const warnings = stderr
      .split("\n")
      .filter((line) => line.trim() && !/missing the kubectl\.kubernetes\.io\/last-applied/.test(line));
    assert.deepEqual(warnings, []);
  });

  describe("installed", () => {
    let baseline: { cluster: Grants; inNamespace: Grants };
    const grants = async (user: string, ns: string) =>
      parseCanIList((await kubectl(["auth", "can-i", "--list", `--as=${user}`, "-n", ns])).stdout);
    const can = async (user: string, args: string[]) => {
      const result = await cp.kubectl(["auth", "can-i", ...args, `--as=${serviceAccount(user)}`]);
      assert.ok(result.code === 0 || result.code === 1, result.stderr);
      return result.code === 0;
    };

    before(async () => {
      await kubectl(["apply", "-k", join(root, "deploy"), "--server-side"]);
      // What any authenticated user may do anyway: compared against, not granted by octorun.
      baseline = {
        cluster: await grants(serviceAccount("nobody"), "default"),
        inNamespace: await grants(serviceAccount("nobody"), namespace),
      };
    });

    for (const service of services) {
      test(`octorun-${service} is granted exactly what its job needs`, async () => {
        const user = serviceAccount(`octorun-${service}`);
        const expected = expectedGrants[service];
        assert.deepEqual(beyond(await grants(user, "default"), baseline.cluster), {
          ...verbsOf(expected.cluster),
          ...verbsOf(expected.clusterScoped ?? {}),
        });
        assert.deepEqual(beyond(await grants(user, namespace), baseline.inNamespace), {
          ...verbsOf(expected.cluster),
          ...verbsOf(expected.clusterScoped ?? {}),
          ...verbsOf(expected.inNamespace),
        });
      });
    }

    test("the controller can reconcile: status, finalizers, runner Pods and Secrets, its Lease", async () => {
      const needed = [
        ["patch", "runners.octorun.github.io", "--subresource=status", "-n", "team-a"],
        ["update", "runners.octorun.github.io", "--subresource=finalizers", "-n", "team-a"],
        ["patch", "runnersets.octorun.github.io", "--subresource=status", "-n", "team-a"],
        ["watch", "runners.octorun.github.io", "--all-namespaces"],
        ["create", "pods", "-n", "team-a"],
        ["delete", "pods", "-n", "team-a"],
        ["create", "secrets", "-n", "team-a"],
        ["create", "controllerrevisions.apps", "-n", "team-a"],
        ["create", "events.events.k8s.io", "-n", "team-a"],
        ["create", "leases.coordination.k8s.io", "-n", namespace],
        ["update", "leases.coordination.k8s.io/octorun-controller", "-n", namespace],
      ];
      const answers = await Promise.all(needed.map((args) => can("octorun-controller", args)));
      for (const [i, args] of needed.entries()) assert.ok(answers[i], `the controller cannot ${args.join(" ")}`);
    });

    test("no service can do what is not its job", async () => {
      const denied: [string, string[]][] = [
        ["octorun-controller", ["create", "pods", "--subresource=exec", "-n", "team-a"]],
        ["octorun-controller", ["create", "leases.coordination.k8s.io", "-n", "default"]],
        ["octorun-controller", ["update", "leases.coordination.k8s.io/someone-else", "-n", namespace]],
        ["octorun-controller", ["create", "runnersets.octorun.github.io", "-n", "team-a"]],
        ["octorun-controller", ["patch", "runnersets.octorun.github.io", "-n", "team-a"]],
        ["octorun-controller", ["get", "pods", "-n", "team-a"]],
        ["octorun-controller", ["update", "secrets", "-n", "team-a"]],
        ["octorun-controller", ["create", "deployments.apps", "-n", namespace]],
        ["octorun-controller", ["update", "customresourcedefinitions.apiextensions.k8s.io"]],
        ["octorun-controller", ["create", "clusterrolebindings.rbac.authorization.k8s.io"]],
        ["octorun-controller", ["delete", "namespaces"]],
        ["octorun-github-ingress", ["get", "secrets", "-n", namespace]],
        ["octorun-github-ingress", ["list", "runners.octorun.github.io", "--all-namespaces"]],
        ["octorun-github-ingress", ["create", "pods", "-n", "team-a"]],
        ["octorun-state-metrics", ["create", "runners.octorun.github.io", "-n", "team-a"]],
        ["octorun-state-metrics", ["patch", "runners.octorun.github.io", "--subresource=status", "-n", "team-a"]],
        ["octorun-state-metrics", ["delete", "runnersets.octorun.github.io", "-n", "team-a"]],
        ["octorun-state-metrics", ["get", "secrets", "-n", "team-a"]],
        ["octorun-state-metrics", ["list", "pods", "-n", "team-a"]],
        ["octorun-admission-webhook", ["get", "runners.octorun.github.io", "-n", "team-a"]],
        ["octorun-admission-webhook", ["get", "secrets", "-n", namespace]],
      ];
      const answers = await Promise.all(denied.map(([user, args]) => can(user, args)));
      for (const [i, [user, args]] of denied.entries())
        assert.equal(answers[i], false, `${user} can ${args.join(" ")}`);
    });

    for (const service of services) {
      test(`octorun-${service}'s environment names only settings the service has, and every required one`, {
        skip: existsSync(settingsFile(service)) ? false : `services/${service}/src/settings.ts does not exist yet`,
      }, async () => {
        const { stdout } = await kubectl(["get", "deployment", `octorun-${service}`, "-n", namespace, "-o", "json"]);
        const [container] = JSON.parse(stdout).spec.template.spec.containers;
        const names: string[] = (container.env ?? []).map((variable: { name: string }) => variable.name);
        assert.deepEqual(settingsProblems(await serviceSettings(service), names), [], service);
      });
    }

    test("the ingress and the webhook get no API token; the others do", async () => {
      for (const service of services) {
        const { stdout } = await kubectl(["get", "deployment", `octorun-${service}`, "-n", namespace, "-o", "json"]);
        const spec = JSON.parse(stdout).spec.template.spec;
        const holdsNoCredentials = service === "github-ingress" || service === "admission-webhook";
        assert.equal(spec.automountServiceAccountToken, !holdsNoCredentials, service);
        assert.equal(spec.serviceAccountName, `octorun-${service}`);
      }
    });

    test("every workload is hardened: non-root, read-only root, no capabilities, RuntimeDefault, probes, resources", async () => {
      const workloads = [...services.map((s) => ["deployment", `octorun-${s}`]), ["statefulset", "octorun-nats"]];
      for (const [kind, name] of workloads) {
        const { stdout } = await kubectl(["get", kind ?? "", name ?? "", "-n", namespace, "-o", "json"]);
        const pod = JSON.parse(stdout).spec.template.spec;
        assert.equal(pod.securityContext.runAsNonRoot, true, `${name}: runAsNonRoot`);
        assert.equal(pod.securityContext.seccompProfile?.type, "RuntimeDefault", `${name}: seccomp`);
        // Sidecars (init containers that keep running) are held to the same, but need no probes.
        const sidecars = (pod.initContainers ?? []).filter(
          (c: { restartPolicy?: string }) => c.restartPolicy === "Always",
        );
        assert.equal(
          sidecars.length,
          (pod.initContainers ?? []).length,
          `${name}: only sidecars among init containers`,
        );
        for (const container of [...pod.containers, ...sidecars]) {
          const where = `${name}/${container.name}`;
          assert.equal(container.securityContext.readOnlyRootFilesystem, true, `${where}: read-only root`);
          assert.equal(container.securityContext.allowPrivilegeEscalation, false, `${where}: privilege escalation`);
          assert.deepEqual(container.securityContext.capabilities.drop, ["ALL"], `${where}: capabilities`);
          assert.ok(container.resources.requests?.cpu && container.resources.requests?.memory, `${where}: requests`);
          assert.ok(container.resources.limits?.memory, `${where}: memory limit`);
          if (sidecars.includes(container)) continue;
          // nats-server's monitoring answers inside the Pod only: its probes run there (exec).
          const probe = (p?: { httpGet?: unknown; exec?: unknown }) => Boolean(p?.httpGet || p?.exec);
          assert.ok(probe(container.livenessProbe) && probe(container.readinessProbe), `${where}: probes`);
          if (kind === "deployment") {
            assert.equal(container.livenessProbe.httpGet.path, "/healthz", `${where}: liveness`);
            assert.equal(container.readinessProbe.httpGet.path, "/readyz", `${where}: readiness`);
            const health = container.ports.find((p: { name: string }) => p.name === "health");
            assert.equal(health?.containerPort, 8081, `${where}: health port`);
          }
        }
      }
    });

    test("every reference inside the tree resolves: Secrets, ConfigMaps, Issuers, selectors, named ports", async () => {
      const list = async (kinds: string) =>
        JSON.parse((await kubectl(["get", kinds, "-n", namespace, "-o", "json"])).stdout).items as Array<{
          kind: string;
          metadata: { name: string; labels?: Record<string, string> };
          // biome-ignore lint/suspicious/noExplicitAny: a Kubernetes object of any kind
          spec: any;
        }>;
      const workloads = await list("deployments,statefulsets");
      const certificates = await list("certificates.cert-manager.io");
      const issuers = new Set((await list("issuers.cert-manager.io")).map((i) => i.metadata.name));
      const configMaps = new Set((await list("configmaps")).map((c) => c.metadata.name));
      // Secrets cert-manager writes, and the two the cluster operator creates (deploy/README.md).
      const secrets = new Set([
        ...certificates.map((c) => c.spec.secretName as string),
        "octorun-github",
        "octorun-github-webhook",
      ]);
      for (const certificate of certificates)
        assert.ok(issuers.has(certificate.spec.issuerRef.name), `${certificate.metadata.name}: no such Issuer`);
      const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
        Object.entries(selector).every(([key, value]) => labels[key] === value);
      for (const workload of workloads) {
        const pod = workload.spec.template.spec;
        const where = workload.metadata.name;
        assert.ok(matches(workload.spec.selector.matchLabels, workload.spec.template.metadata.labels), where);
        for (const volume of pod.volumes ?? []) {
          if (volume.secret)
            assert.ok(secrets.has(volume.secret.secretName), `${where}: Secret ${volume.secret.secretName}`);
          if (volume.configMap)
            assert.ok(configMaps.has(volume.configMap.name), `${where}: ConfigMap ${volume.configMap.name}`);
        }
        for (const container of pod.containers) {
          const mounted = new Set((container.volumeMounts ?? []).map((m: { name: string }) => m.name));
          const declared = new Set([
            ...(pod.volumes ?? []).map((v: { name: string }) => v.name),
            ...(workload.spec.volumeClaimTemplates ?? []).map((t: { metadata: { name: string } }) => t.metadata.name),
          ]);
          for (const name of mounted) assert.ok(declared.has(name), `${where}: volume ${name}`);
          for (const variable of container.env ?? []) {
            const ref = variable.valueFrom?.secretKeyRef;
            if (ref) assert.ok(secrets.has(ref.name), `${where}: Secret ${ref.name} of ${variable.name}`);
            const configMap = variable.valueFrom?.configMapKeyRef;
            if (configMap)
              assert.ok(configMaps.has(configMap.name), `${where}: ConfigMap ${configMap.name} of ${variable.name}`);
          }
        }
      }
      const podsOf = (selector: Record<string, string>) =>
        workloads.filter((w) => matches(selector, w.spec.template.metadata.labels));
      for (const service of await list("services")) {
        const [workload, ...more] = podsOf(service.spec.selector);
        assert.ok(workload && more.length === 0, `Service ${service.metadata.name} selects one workload`);
        const ports = workload.spec.template.spec.containers.flatMap((c: { ports?: { name: string }[] }) =>
          (c.ports ?? []).map((p) => p.name),
        );
        for (const port of service.spec.ports)
          if (typeof port.targetPort === "string")
            assert.ok(ports.includes(port.targetPort), `Service ${service.metadata.name}: port ${port.targetPort}`);
      }
      for (const budget of await list("poddisruptionbudgets"))
        assert.equal(podsOf(budget.spec.selector.matchLabels).length, 1, `PDB ${budget.metadata.name}`);
      for (const policy of await list("networkpolicies")) {
        const selector = policy.spec.podSelector.matchLabels;
        if (selector) assert.equal(podsOf(selector).length, 1, `NetworkPolicy ${policy.metadata.name}`);
      }
      // The NATS servers' certificate is valid for the name the services connect to.
      const natsNames: string[] = certificates.find((c) => c.metadata.name === "octorun-nats")?.spec.dnsNames ?? [];
      for (const workload of workloads)
        for (const container of workload.spec.template.spec.containers)
          for (const variable of container.env ?? [])
            if (variable.name === "NATS_URL")
              for (const url of String(variable.value).split(","))
                assert.ok(natsNames.includes(new URL(url).hostname), `${workload.metadata.name}: ${url}`);
      // The webhook's certificate is valid for the name the apiserver calls.
      const webhookCertificate = certificates.find((c) => c.metadata.name === "octorun-admission-webhook");
      assert.ok(webhookCertificate?.spec.dnsNames.includes(`octorun-admission-webhook.${namespace}.svc`));
    });

    test("custom.metrics.k8s.io: the APIServices reach state-metrics' https port with a certificate for that name; state-metrics may read the front-proxy CA and review access", async () => {
      const json = async (args: string[]) => JSON.parse((await kubectl([...args, "-o", "json"])).stdout);
      const service = await json(["get", "service", "octorun-state-metrics", "-n", namespace]);
      const deployment = await json(["get", "deployment", "octorun-state-metrics", "-n", namespace]);
      const certificate = await json([
        "get",
        "certificate.cert-manager.io",
        "octorun-state-metrics-tls",
        "-n",
        namespace,
      ]);
      const container = deployment.spec.template.spec.containers[0];
      const env = Object.fromEntries(
        container.env.map((v: { name: string; value: string }) => [v.name, v.value]),
      ) as Record<string, string>;
      for (const version of ["v1beta2", "v1beta1"]) {
        const apiService = await json(["get", "apiservice", `${version}.custom.metrics.k8s.io`]);
        assert.equal(
          apiService.metadata.annotations["cert-manager.io/inject-ca-from"],
          `${namespace}/octorun-state-metrics-tls`,
        );
        assert.deepEqual(apiService.spec.service, { name: "octorun-state-metrics", namespace, port: 443 });
        assert.equal(apiService.spec.insecureSkipTLSVerify, undefined, "the aggregator verifies state-metrics");
        const port = service.spec.ports.find((p: { port: number }) => p.port === apiService.spec.service.port);
        const containerPort = container.ports.find((p: { name: string }) => p.name === port?.targetPort);
        assert.equal(
          String(containerPort?.containerPort),
          env.CUSTOM_METRICS_PORT,
          `${version}: Service port → CUSTOM_METRICS_PORT`,
        );
      }
      assert.ok(certificate.spec.dnsNames.includes(`octorun-state-metrics.${namespace}.svc`));
      assert.ok(certificate.spec.usages.includes("server auth"));
      const tlsVolume = deployment.spec.template.spec.volumes.find(
        (v: { secret?: { secretName: string } }) => v.secret?.secretName === certificate.spec.secretName,
      );
      const mount = container.volumeMounts.find((m: { name: string }) => m.name === tlsVolume?.name);
      assert.deepEqual(
        [env.TLS_CERT_FILE, env.TLS_KEY_FILE],
        [`${mount?.mountPath}/tls.crt`, `${mount?.mountPath}/tls.key`],
      );
      const allowed = [
        ["get", "configmaps/extension-apiserver-authentication", "-n", "kube-system"],
        ["create", "subjectaccessreviews.authorization.k8s.io"],
      ];
      for (const args of allowed)
        assert.ok(await can("octorun-state-metrics", args), `state-metrics cannot ${args.join(" ")}`);
      for (const args of [
        ["get", "configmaps/coredns", "-n", "kube-system"],
        ["get", "secrets", "-n", "kube-system"],
      ])
        assert.equal(await can("octorun-state-metrics", args), false, `state-metrics can ${args.join(" ")}`);
      // The example HPA scales a RunnerSet on the metrics this API serves.
      const hpa = await cp.kubectl([
        "apply",
        "--dry-run=server",
        "-n",
        "default",
        "-f",
        join(root, "deploy/samples/hpa.yaml"),
      ]);
      assert.equal(hpa.code, 0, hpa.stderr);
    });

    test("the webhooks fail closed, quickly, without side effects, and leave kube-system and octorun-system alone", async () => {
      for (const kind of ["mutatingwebhookconfiguration", "validatingwebhookconfiguration"]) {
        const { stdout } = await kubectl(["get", kind, "octorun-admission-webhook", "-o", "json"]);
        const configuration = JSON.parse(stdout);
        assert.equal(
          configuration.metadata.annotations["cert-manager.io/inject-ca-from"],
          `${namespace}/octorun-admission-webhook`,
        );
        assert.deepEqual(
          configuration.webhooks.map((w: { name: string }) => w.name).sort(),
          kind.startsWith("mutating")
            ? ["mrunner.octorun.github.io", "mrunnerset.octorun.github.io"]
            : ["vrunner.octorun.github.io", "vrunnerset.octorun.github.io"],
        );
        // The same registrations the admission webhook's own tests run against (names, paths, rules).
        const service = { name: "octorun-admission-webhook", namespace, port: 443 };
        const own = kind.startsWith("mutating")
          ? mutatingWebhookConfiguration({ service })
          : validatingWebhookConfiguration({ service });
        const essentials = (w: Record<string, unknown> & { rules: Record<string, unknown>[] }) => ({
          name: w.name,
          clientConfig: w.clientConfig,
          matchPolicy: w.matchPolicy,
          matchConditions: w.matchConditions,
          rules: w.rules.map(({ scope: _scope, ...rule }) => rule),
        });
        assert.deepEqual(configuration.webhooks.map(essentials), own.webhooks.map(essentials));
        for (const webhook of configuration.webhooks) {
          assert.equal(webhook.failurePolicy, "Fail", webhook.name);
          assert.equal(webhook.sideEffects, "None", webhook.name);
          assert.ok(webhook.timeoutSeconds > 0 && webhook.timeoutSeconds <= 10, webhook.name);
          assert.deepEqual(webhook.admissionReviewVersions, ["v1"]);
          assert.deepEqual(webhook.clientConfig.service, {
            name: "octorun-admission-webhook",
            namespace,
            path: webhook.clientConfig.service.path,
            port: 443,
          });
          assert.deepEqual(webhook.namespaceSelector, {
            matchExpressions: [
              { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", namespace] },
            ],
          });
        }
      }
      for (const crd of ["runners.octorun.github.io", "runnersets.octorun.github.io"]) {
        const { stdout } = await kubectl(["get", "crd", crd, "-o", "json"]);
        const { metadata, spec } = JSON.parse(stdout);
        assert.equal(metadata.annotations["cert-manager.io/inject-ca-from"], `${namespace}/octorun-admission-webhook`);
        assert.equal(spec.conversion.strategy, "Webhook");
        assert.deepEqual(spec.conversion.webhook.clientConfig.service, {
          name: "octorun-admission-webhook",
          namespace,
          path: "/convert",
          port: 443,
        });
      }
    });

    test("a Runner in a user namespace is sent to the webhook, which fails closed while it is not running", async () => {
      await kubectl(["create", "namespace", "team-a"]);
      const runner = `apiVersion: octorun.github.io/v1alpha2
kind: Runner
metadata: {name: r1, namespace: team-a}
spec: {url: "https://github.com/octo/repo", image: {name: "ghcr.io/octorun/runner:2"}}
`;
      const result = await cp.kubectl(["create", "-f", "-"], runner);
      assert.notEqual(result.code, 0, "a Runner was admitted without the admission webhook");
      assert.match(result.stderr, /octorun\.github\.io|octorun-admission-webhook/);
    });
  });
});

describe("deploy/namespaced on a real apiserver: the controller, state-metrics and webhooks in the listed namespaces only", {
  skip: process.env.OCTORUN_TEST_KUBECONFIG
    ? "installs cluster-wide objects: only against the local control plane"
    : false,
}, () => {
  let overlay: string;
  const watched = ["team-a", "team-b"];
  let cp: ControlPlane;
  let built: Array<{
    kind: string;
    metadata: { name: string; namespace?: string };
    roleRef?: { name: string };
    // biome-ignore lint/suspicious/noExplicitAny: the spec of a Kubernetes object of any kind
    spec?: any;
    webhooks?: { name: string; namespaceSelector?: unknown }[];
  }>;
  const kubectl = async (args: string[], input?: string) => {
    const result = await cp.kubectl(args, input);
    assert.equal(result.code, 0, `kubectl ${args.join(" ")} failed:\n${result.stderr}`);
    return result;
  };
  const can = async (user: string, args: string[]) => {
    const result = await cp.kubectl(["auth", "can-i", ...args, `--as=${serviceAccount(user)}`]);
    assert.ok(result.code === 0 || result.code === 1, result.stderr);
    return result.code === 0;
  };
  const grants = async (user: string, ns: string) =>
    parseCanIList((await kubectl(["auth", "can-i", "--list", `--as=${user}`, "-n", ns])).stdout);

  before(async () => {
    cp = await startControlPlane();
    await kubectl(["apply", "--server-side", "-f", certManagerCrds]);
    await kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/certificates.cert-manager.io",
      "crd/issuers.cert-manager.io",
    ]);
    await kubectl(["apply", "--server-side", "-k", join(root, "deploy", "namespace")]);
    for (const ns of [...watched, "team-c"]) await kubectl(["create", "namespace", ns]);
    // What a user writes: deploy/ with the component (kustomize takes relative paths only).
    overlay = mkdtempSync(join(tmpdir(), "octorun-namespaced-"));
    const deploy = relative(overlay, join(root, "deploy"));
    writeFileSync(
      join(overlay, "kustomization.yaml"),
      `resources: [${deploy}]\ncomponents: [${join(deploy, "namespaced")}]\n`,
    );
    built = parseAllDocuments((await kubectl(["kustomize", overlay])).stdout).map((d) => d.toJS());
  });
  after(async () => {
    await cp?.stop();
    if (overlay) rmSync(overlay, { recursive: true, force: true });
  });

  test("a server-side dry run succeeds with no warning, and the apply", async () => {
    const { stderr } = await kubectl(["apply", "-k", overlay, "--server-side", "--dry-run=server"]);
    assert.doesNotMatch(stderr, /warning/i);
    await kubectl(["apply", "-k", overlay, "--server-side"]);
  });

  test("the namespaces are the same in the RoleBindings, WATCH_NAMESPACES and the webhooks' namespaceSelector", () => {
    const find = (kind: string, name: string) => built.find((o) => o.kind === kind && o.metadata.name === name);
    // (A cluster-scoped need of its own, as an aggregated API's auth delegation, may keep a ClusterRoleBinding.)
    assert.deepEqual(
      built
        .filter(
          (o) => o.kind === "ClusterRoleBinding" && /^octorun-(controller|state-metrics)$/.test(o.roleRef?.name ?? ""),
        )
        .map((o) => o.metadata.name),
      [],
      "the services' roles are still bound cluster-wide",
    );
    for (const service of ["controller", "state-metrics"]) {
      const bound = built
        .filter((o) => o.kind === "RoleBinding" && o.metadata.name === `octorun-${service}`)
        .map((o) => o.metadata.namespace)
        .sort();
      assert.deepEqual(bound, watched, `${service}'s RoleBindings`);
      const env = find("Deployment", `octorun-${service}`)?.spec.template.spec.containers[0].env;
      const setting = env.find((v: { name: string }) => v.name === "WATCH_NAMESPACES")?.value;
      assert.deepEqual(String(setting).split(",").sort(), watched, `${service}'s WATCH_NAMESPACES`);
    }
    for (const kind of ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]) {
      const webhooks = find(kind, "octorun-admission-webhook")?.webhooks ?? [];
      assert.equal(webhooks.length, 2, kind);
      for (const webhook of webhooks)
        assert.deepEqual(
          webhook.namespaceSelector,
          { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: watched }] },
          webhook.name,
        );
    }
  });

  test("each service's environment names only settings it has", async () => {
    for (const service of services) {
      const deployment = built.find((o) => o.kind === "Deployment" && o.metadata.name === `octorun-${service}`);
      const env: { name: string }[] = deployment?.spec.template.spec.containers[0].env ?? [];
      const names = env.map((variable) => variable.name);
      assert.deepEqual(settingsProblems(await serviceSettings(service), names), [], service);
    }
  });

  test("in a listed namespace the controller and state-metrics have their whole role; elsewhere nothing", async () => {
    const baseline = {
      cluster: await grants(serviceAccount("nobody"), "team-c"),
      inNamespace: await grants(serviceAccount("nobody"), namespace),
    };
    for (const service of ["controller", "state-metrics"] as const) {
      const user = serviceAccount(`octorun-${service}`);
      const expected = expectedGrants[service];
      // What a listed namespace adds to what the service holds anyway (in team-c) is its whole role.
      const elsewhere = beyond(await grants(user, "team-c"), baseline.cluster);
      for (const ns of watched)
        assert.deepEqual(
          beyond(
            new Map(Object.entries(beyond(await grants(user, ns), baseline.cluster))),
            new Map(Object.entries(elsewhere)),
          ),
          verbsOf(expected.cluster),
          `${service} in ${ns}`,
        );
      // Elsewhere only what names no namespace (the metrics API's reviews).
      assert.deepEqual(elsewhere, verbsOf(expected.clusterScoped ?? {}), `${service} in team-c`);
      const inSystem = beyond(await grants(user, namespace), baseline.inNamespace);
      for (const resource of Object.keys(expected.cluster))
        assert.equal(inSystem[resource], undefined, `${service} in ${namespace}: ${resource}`);
    }
    // The controller holds nothing at all outside: in team-c nothing, in octorun-system its Lease only.
    const controller = serviceAccount("octorun-controller");
    assert.deepEqual(beyond(await grants(controller, "team-c"), baseline.cluster), {});
    assert.deepEqual(
      beyond(await grants(controller, namespace), baseline.inNamespace),
      verbsOf(expectedGrants.controller.inNamespace),
    );
  });

  test("kubectl auth can-i: the controller reads Secrets and creates Pods in team-a and team-b, nowhere else", async () => {
    const allowed = [
      ["get", "secrets", "-n", "team-a"],
      ["create", "pods", "-n", "team-a"],
      ["get", "secrets", "-n", "team-b"],
      ["create", "pods", "-n", "team-b"],
      ["watch", "runners.octorun.github.io", "-n", "team-b"],
      ["update", "leases.coordination.k8s.io/octorun-controller", "-n", namespace],
    ];
    const refused = [
      // octorun-system holds the NATS CA's key and every service's client key.
      ["get", "secrets/octorun-ca", "-n", namespace],
      ["list", "secrets", "-n", namespace],
      ["create", "pods", "-n", namespace],
      ["get", "secrets", "-n", "team-c"],
      ["create", "pods", "-n", "team-c"],
      ["get", "secrets", "-n", "kube-system"],
      ["create", "pods", "-n", "kube-system"],
      ["create", "pods", "-n", "default"],
      ["list", "secrets", "--all-namespaces"],
      ["watch", "runners.octorun.github.io", "--all-namespaces"],
    ];
    const [yes, no] = await Promise.all([
      Promise.all(allowed.map((args) => can("octorun-controller", args))),
      Promise.all(refused.map((args) => can("octorun-controller", args))),
    ]);
    for (const [i, args] of allowed.entries()) assert.ok(yes[i], `the controller cannot ${args.join(" ")}`);
    for (const [i, args] of refused.entries()) assert.equal(no[i], false, `the controller can ${args.join(" ")}`);
    assert.equal(await can("octorun-state-metrics", ["list", "runners.octorun.github.io", "-n", "team-a"]), true);
    assert.equal(await can("octorun-state-metrics", ["list", "runners.octorun.github.io", "-n", "team-c"]), false);
  });
});

/** The users of deploy/nats/nats.conf and their publish/subscribe allow-lists. */
function natsUsers(conf: string): Map<string, { publish: string[]; subscribe: string[] }> {
  const users = new Map<string, { publish: string[]; subscribe: string[] }>();
  const authorization = conf.slice(conf.indexOf("authorization {"));
  for (const block of authorization.split(/\buser: /).slice(1)) {
    const name = /^"([^"]+)"/.exec(block)?.[1] ?? "";
    const list = (kind: string) =>
      [...(new RegExp(`${kind}: \\{ allow: \\[([^\\]]*)\\]`).exec(block)?.[1] ?? "").matchAll(/"([^"]+)"/g)].map(
        (m) => m[1] ?? "",
      );
    users.set(name, { publish: list("publish"), subscribe: list("subscribe") });
  }
  return users;
}

/**
 * The serial number of the certificate a nats-server presents to a client that connects now: the
 * server greets in plain text (INFO), then the client upgrades the connection to TLS.
 */
function serverCertificate(port: number, caFile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("error", reject);
    socket.once("data", () => {
      const secure = tlsConnect({ socket, ca: readFileSync(caFile), servername: "localhost" }, () => {
        const serial = secure.getPeerX509Certificate()?.serialNumber ?? "";
        secure.destroy();
        resolve(serial);
      });
      secure.once("error", reject);
    });
  });
}

/** Signs a client certificate for `cn` with the test CA (as cert-manager does for each service). */
function clientCertificate(dir: string, cn: string): { certFile: string; keyFile: string } {
  return signCertificate(dir, cn, "clientAuth");
}

/** Signs a certificate for `cn` with the test CA, for these extended key usages and subject names. */
function signCertificate(dir: string, cn: string, usage: string, san?: string): { certFile: string; keyFile: string } {
  const id = `${cn}-${randomBytes(4).toString("hex")}`;
  const keyFile = join(dir, `${id}.key`);
  const certFile = join(dir, `${id}.crt`);
  const csr = join(dir, `${id}.csr`);
  const ext = join(dir, `${id}.ext`);
  writeFileSync(
    ext,
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=${usage}\n${
      san ? `subjectAltName=${san}\n` : ""
    }`,
  );
  const openssl = (args: string[]) => {
    const result = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
  };
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyFile]);
  openssl(["req", "-new", "-key", keyFile, "-subj", `/CN=${cn}`, "-out", csr]);
  openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-sha256",
    "-extfile",
    ext,
    "-out",
    certFile,
  ]);
  return { certFile, keyFile };
}

/** The first of the commands whose probe (`<command> <probe>`) exits 0, or undefined. */
function findTool(candidates: string[][], probe = "--version"): string[] | undefined {
  return candidates.find(
    ([command, ...args]) => spawnSync(command ?? "", [...args, probe], { stdio: "ignore" }).status === 0,
  );
}

describe("the service images", () => {
  // What can drift is checked here; e2e/test/images.test.ts builds and runs the images themselves.
  const rootPackage = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  for (const service of services) {
    test(`services/${service}/Dockerfile: pinned Node and pnpm, production dependencies only, non-root, runs the composition root`, () => {
      const dockerfile = readFileSync(join(root, "services", service, "Dockerfile"), "utf8");
      assert.match(
        dockerfile,
        new RegExp(`^ARG NODE_VERSION=${rootPackage.devDependencies.node.replaceAll(".", "\\.")}$`, "m"),
      );
      // The official Node image unless a build passes another base (npm run images does).
      assert.match(dockerfile, /^ARG NODE_IMAGE=node:\$\{NODE_VERSION\}-bookworm-slim$/m);
      assert.match(
        dockerfile.match(/^FROM .*/gm)?.join("|") ?? "",
        /^FROM \$\{NODE_IMAGE\} AS build\|FROM \$\{NODE_IMAGE\}$/,
      );
      assert.ok(dockerfile.includes(`pnpm@${rootPackage.packageManager.replace(/^pnpm@/, "")}`), "pnpm version");
      assert.ok(
        dockerfile.includes(`--prod --filter "@octorun/${service}..."`),
        "production dependencies of this service",
      );
      assert.match(dockerfile, /^USER 65532:65532$/m);
      // Node flags may come before the file (state-metrics sizes its young generation).
      assert.match(
        dockerfile,
        new RegExp(`^CMD \\["node"(, "--[^"]+")*, "services/${service}/src/index\\.ts"\\]$`, "m"),
      );
      assert.ok(existsSync(join(root, "services", service, "src", "index.ts")), "the composition root exists");
    });
  }
});

describe("the service images' contents", () => {
  // What each Dockerfile's build stage does, done here without Docker: the build context
  // (.dockerignore's selection), `pnpm install --offline --frozen-lockfile --prod --filter
  // @octorun/<service>...`, the other services removed; then the service must load with that
  // alone — a runtime import of a devDependency would fail here. Its configuration check (no
  // settings given) is the first thing it does after loading every module.
  const rootPackage = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const pnpmVersion = rootPackage.packageManager.replace(/^pnpm@/, "");
  const pnpm = [join(cacheDir(), `pnpm-${pnpmVersion}`, "node_modules", ".bin", "pnpm"), "pnpm"].find(
    (candidate) => spawnSync(candidate, ["--version"], { encoding: "utf8" }).stdout?.trim() === pnpmVersion,
  );
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "octorun-images-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const buildContext = (target: string) => {
    mkdirSync(target, { recursive: true });
    for (const file of ["package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml", ".npmrc"])
      if (existsSync(join(root, file))) cpSync(join(root, file), join(target, file));
    mkdirSync(join(target, "e2e"));
    cpSync(join(root, "e2e", "package.json"), join(target, "e2e", "package.json"));
    cpSync(join(root, "patches"), join(target, "patches"), { recursive: true });
    for (const folder of ["libs", "services"])
      cpSync(join(root, folder), join(target, folder), {
        recursive: true,
        filter: (source) => {
          const path = relative(root, source).split(sep);
          return (
            !path.includes("node_modules") &&
            !path.includes("test") &&
            path[2] !== "scripts" &&
            !(path[1] === "testkit" && path[2] === "src")
          );
        },
      });
  };
  const run = (command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (chunk) => (output += chunk));
      child.stderr.on("data", (chunk) => (output += chunk));
      child.on("exit", (code) => resolve({ code, output }));
    });

  test("each service loads with only its production dependencies, in the image's layout", {
    skip: pnpm ? false : `pnpm ${pnpmVersion} is not installed (npm run setup)`,
  }, async () => {
    const store = spawnSync(pnpm ?? "", ["store", "path"], { cwd: root, encoding: "utf8" }).stdout.trim();
    await Promise.all(
      services.map(async (service) => {
        const app = join(dir, service);
        buildContext(app);
        const install = await run(
          pnpm ?? "",
          [
            "install",
            "--offline",
            "--frozen-lockfile",
            "--prod",
            "--filter",
            `@octorun/${service}...`,
            "--store-dir",
            store,
          ],
          app,
          { ...process.env, CI: "true" },
        );
        assert.equal(install.code, 0, `${service}: pnpm install failed\n${install.output}`);
        for (const other of services) if (other !== service) rmSync(join(app, "services", other), { recursive: true });
        rmSync(join(app, "libs", "testkit"), { recursive: true });
        assert.equal(existsSync(join(app, "services", service, "node_modules", "@octorun", "testkit")), false);
        const started = await run(process.execPath, [`services/${service}/src/index.ts`], app, {
          PATH: process.env.PATH,
        });
        assert.equal(started.code, 1, `${service}:\n${started.output}`);
        assert.match(
          started.output,
          /"message":"invalid configuration: /,
          `${service} did not load:\n${started.output}`,
        );
      }),
    );
  });
});

describe("runner/entrypoint.sh", () => {
  const entrypoint = join(root, "runner", "entrypoint.sh");
  const shellcheck = findTool([["shellcheck"]]);

  test("passes shellcheck", {
    skip: shellcheck ? false : "shellcheck is not installed (apt-get install shellcheck)",
  }, () => {
    const result = spawnSync("shellcheck", ["--shell=bash", "--severity=style", entrypoint], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  // Stand-ins for the GitHub runner's run.sh and config.sh: they record how they were called.
  // run.sh exits with FAKE_RUN_EXIT, or runs until SIGTERM (143); `config.sh remove` fails
  // FAKE_REMOVE_FAILURES times before it succeeds.
  const runSh = `#!/usr/bin/env bash
echo "run.sh args=[$*] jit=[\${ACTIONS_RUNNER_INPUT_JITCONFIG:-}] token-env=[\${RUNNER_TOKEN:-}]" >> "$FAKE_LOG"
if [[ -n "\${FAKE_RUN_EXIT:-}" ]]; then exit "$FAKE_RUN_EXIT"; fi
sleep 60 &
trap 'kill $!; echo "run.sh got SIGTERM" >> "$FAKE_LOG"; exit 143' TERM
wait
`;
  const configSh = `#!/usr/bin/env bash
echo "config.sh $*" >> "$FAKE_LOG"
if [[ "$1" == remove ]]; then
  count=$(cat "$FAKE_LOG.removes" 2>/dev/null || echo 0); echo $((count + 1)) > "$FAKE_LOG.removes"
  if (( count < \${FAKE_REMOVE_FAILURES:-0} )); then exit 1; fi
fi
`;

  let dir: string;
  let secrets: string;
  let log: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "octorun-entrypoint-"));
    mkdirSync(join(dir, "home"));
    writeFileSync(join(dir, "home", "run.sh"), runSh);
    writeFileSync(join(dir, "home", "config.sh"), configSh);
    chmodSync(join(dir, "home", "run.sh"), 0o755);
    chmodSync(join(dir, "home", "config.sh"), 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  let run = 0;
  function start(env: Record<string, string>, files: Record<string, string> = {}) {
    run += 1;
    secrets = join(dir, `secret-${run}`);
    mkdirSync(secrets);
    for (const [name, content] of Object.entries(files)) writeFileSync(join(secrets, name), content);
    log = join(dir, `log-${run}`);
    const child = spawn("bash", [entrypoint], {
      env: {
        PATH: process.env.PATH,
        RUNNER_HOME: join(dir, "home"),
        RUNNER_SECRET_DIR: secrets,
        FAKE_LOG: log,
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
      child.on("exit", (code) => resolve({ code, stderr })),
    );
    return { child, exited };
  }
  const calls = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
  const until = async (what: string, predicate: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${calls().join(" | ")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  test("JIT mode: starts run.sh from the Secret's jitconfig, hands it over out of the argument list, never runs config.sh", async () => {
    const { exited } = start({ FAKE_RUN_EXIT: "0", RUNNER_NAME: "r1" }, { jitconfig: "eyJqaXQiOiJjb25maWcifQ==\n" });
    assert.equal((await exited).code, 0);
    assert.deepEqual(calls(), ["run.sh args=[] jit=[eyJqaXQiOiJjb25maWcifQ==] token-env=[]"]);
  });

  test("JIT mode: SIGTERM stops the runner and the entrypoint exits with its status", async () => {
    const { child, exited } = start({}, { jitconfig: "eyJqaXQi" });
    await until("run.sh", () => calls().length === 1);
    child.kill("SIGTERM");
    assert.equal((await exited).code, 143);
    assert.deepEqual(calls().slice(1), ["run.sh got SIGTERM"]);
  });

  test("token mode: registers an ephemeral runner with the runner-pod.md settings, then runs it", async () => {
    const { exited } = start(
      {
        FAKE_RUN_EXIT: "0",
        URL: "https://github.com/octo/repo",
        RUNNER_NAME: "r2",
        RUNNER_LABELS: "runner=r2,size=large",
        RUNNER_WORKDIR: "/work",
      },
      { token: "AABBCC\n" },
    );
    assert.equal((await exited).code, 0);
    assert.deepEqual(calls(), [
      "config.sh --unattended --url https://github.com/octo/repo --name r2 --token AABBCC --labels runner=r2,size=large --runnergroup Default --work /work --replace --ephemeral",
      "run.sh args=[] jit=[] token-env=[]",
    ]);
  });

  test("token mode: SIGTERM stops the runner and removes its registration, retrying with the renewed token", async () => {
    const { child, exited } = start(
      {
        URL: "https://github.com/octo",
        RUNNER_NAME: "r3",
        FAKE_REMOVE_FAILURES: "1",
        RUNNER_REMOVE_RETRY_SECONDS: "1",
      },
      { token: "OLD" },
    );
    await until("run.sh", () => calls().length === 2);
    child.kill("SIGTERM");
    await until("the first removal", () => calls().some((line) => line.startsWith("config.sh remove")));
    // The controller renews the token in the Secret; the retry reads it again.
    writeFileSync(join(secrets, "token"), "NEW");
    const { code } = await exited;
    assert.equal(code, 0);
    assert.deepEqual(calls().slice(2), [
      "run.sh got SIGTERM",
      "config.sh remove --unattended --token OLD",
      "config.sh remove --unattended --token NEW",
    ]);
  });

  test("without a JIT configuration or a token it stops with a message naming both", async () => {
    const { exited } = start({ URL: "https://github.com/octo", RUNNER_NAME: "r4" });
    const { code, stderr } = await exited;
    assert.equal(code, 1);
    assert.match(stderr, /neither a JIT configuration .*jitconfig.* nor a registration token .*token/);
    assert.deepEqual(calls(), []);
  });

  test("token mode without URL stops with a message naming it", async () => {
    const { exited } = start({ RUNNER_NAME: "r5" }, { token: "T" });
    const { code, stderr } = await exited;
    assert.equal(code, 1);
    assert.match(stderr, /URL is not set/);
  });
});

describe("deploy/nats: the NATS configuration on a real nats-server", () => {
  const conf = readFileSync(join(root, "deploy", "nats", "nats.conf"), "utf8");
  let dir: string;
  let group: ProcessGroup;
  let url: string;
  let caFile: string;
  const connections: BusConnection[] = [];
  const consumers: JobEventConsumer[] = [];

  interface LocalNode {
    /** Holds tls.crt, tls.key and ca.crt, as the Secret is mounted. */
    tls: string;
    /** The JetStream store and the pid file. */
    state: string;
    ports: { client: number; monitor: number; cluster: number };
    /** Cluster ports of the peers; "as deployed" keeps deploy's routes; none leaves the node alone. */
    routes?: number[] | "as deployed";
  }
  /** deploy's configuration with this machine's paths and free loopback ports. */
  const localConf = (node: LocalNode) => {
    let text = conf
      .replaceAll("/etc/nats/tls/", `${node.tls}/`)
      .replace("/data/jetstream", join(node.state, "jetstream"))
      .replace("/var/run/nats/nats.pid", join(node.state, "nats.pid"))
      .replace('listen: "0.0.0.0:4222"', `listen: "127.0.0.1:${node.ports.client}"`)
      // The monitoring address stays as deploy has it; only the port is this machine's.
      .replace(/http: "([^"]+):8222"/, (_, host) => `http: "${host}:${node.ports.monitor}"`)
      .replace('listen: "0.0.0.0:6222"', `listen: "127.0.0.1:${node.ports.cluster}"`);
    const { routes } = node;
    // Alone, a node does not wait for a quorum with peers that are not there.
    if (!routes) text = text.replace(/\ncluster \{[\s\S]*?\n\}\n/, "\n");
    else if (routes !== "as deployed")
      // By name: a route's certificate is checked against the DNS names of the routes.
      text = text.replace(/routes: \[[^\]]*\]/, `routes: [${routes.map((p) => `"tls://localhost:${p}"`).join(", ")}]`);
    return text;
  };
  /** A directory as the Secret octorun-nats-tls is mounted, with a certificate for `name`. */
  const tlsDir = (path: string, name: string, usage = "serverAuth,clientAuth", san = "IP:127.0.0.1,DNS:localhost") => {
    mkdirSync(path, { recursive: true });
    const { certFile, keyFile } = signCertificate(join(dir, "pki"), name, usage, san);
    cpSync(certFile, join(path, "tls.crt"));
    cpSync(keyFile, join(path, "tls.key"));
    cpSync(caFile, join(path, "ca.crt"));
    return path;
  };
  /** Starts a node and waits until its monitoring port answers. */
  const startNode = async (name: string, node: LocalNode, healthPath = "/healthz?js-enabled-only=true") => {
    mkdirSync(node.state, { recursive: true });
    const file = join(node.state, "nats.conf");
    writeFileSync(file, localConf(node));
    group.start(name, natsServer(), ["-c", file], { ...process.env, POD_NAME: name });
    await waitFor(
      name,
      async () => (await fetch(`http://127.0.0.1:${node.ports.monitor}${healthPath}`).catch(() => undefined))?.ok,
      { timeoutMs: 20_000 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${group.logTail(name)}`);
    });
  };
  const freePorts = async () => ({ client: await freePort(), monitor: await freePort(), cluster: await freePort() });
  let node: LocalNode;
  const natsServer = () => ensureBinaries(["nats-server"]).natsServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "octorun-deploy-nats-"));
    // createPki's serving certificate is for 127.0.0.1/localhost, like the Service names in deploy/.
    const pki = createPki(join(dir, "pki"));
    caFile = pki.ca.certFile;
    mkdirSync(join(dir, "processes"));
    group = new ProcessGroup(join(dir, "processes"));
    node = { tls: tlsDir(join(dir, "tls"), "octorun-nats"), state: join(dir, "node"), ports: await freePorts() };
    await startNode("octorun-nats-0", node);
    url = `tls://127.0.0.1:${node.ports.client}`;
  });
  after(async () => {
    for (const consumer of consumers) await consumer.stop();
    for (const connection of connections) await connection.close();
    await group?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const connectAs = async (cn: string) => {
    const bus = new BusConnection({
      servers: [url],
      name: cn,
      tls: { caFile, ...clientCertificate(join(dir, "pki"), cn) },
      // As busConnectionOptions sets it for the service.
      inboxPrefix: serviceInbox(cn),
      reconnectWaitMs: 100,
    });
    connections.push(bus);
    await bus.ready(10_000);
    return bus;
  };
  let delivery = 0;
  const jobEvent = (): JobEvent => ({
    version: 1,
    deliveryId: `deploy-test-${process.pid}-${++delivery}`,
    action: "queued",
    job: {
      id: 1000 + delivery,
      runId: 77,
      runAttempt: 1,
      name: "build",
      workflowName: "CI",
      labels: ["self-hosted"],
      conclusion: null,
      createdAt: "2026-01-01T00:00:00Z",
      startedAt: null,
      completedAt: null,
      htmlUrl: "https://github.com/octo/repo/actions/runs/77/job/1",
    },
    runner: { id: null, name: null, groupId: null, groupName: null },
    repository: { fullName: "octo/repo", url: "https://github.com/octo/repo" },
    owner: { login: "octo", type: "Organization", url: "https://github.com/octo" },
    installationId: null,
  });

  test("nats-server accepts the whole configuration, cluster included (nats-server -t)", async () => {
    const file = join(dir, "nats-cluster.conf");
    writeFileSync(file, localConf({ ...node, ports: await freePorts(), routes: "as deployed" }));
    const result = spawnSync(natsServer(), ["-t", "-c", file], {
      env: { ...process.env, POD_NAME: "octorun-nats-0" },
      encoding: "utf8",
    });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  test("each service's NATS user has exactly the permissions @octorun/bus says its role needs", () => {
    const users = natsUsers(conf);
    assert.deepEqual([...users.keys()].sort(), [
      "CN=octorun-controller",
      "CN=octorun-github-ingress",
      "CN=octorun-state-metrics",
    ]);
    assert.deepEqual(users.get("CN=octorun-github-ingress"), jobPublisherPermissions());
    assert.deepEqual(users.get("CN=octorun-controller"), controllerNatsPermissions("octorun-controller"));
    assert.deepEqual(users.get("CN=octorun-state-metrics"), stateMetricsNatsPermissions("octorun-state-metrics"));
  });

  test("the controller declares the stream, the ingress stores events; each reader gets them through its own consumer", async () => {
    const controller = await connectAs("octorun-controller");
    assert.equal(await ensureJobStream(await controller.jetstreamManager()), "created");
    const ingress = await connectAs("octorun-github-ingress");
    // As github-ingress asks (JOB_STREAM_MANAGE=false in deploy/): is the stream there?
    assert.equal(await jobStreamExists(await ingress.jetstreamManager({ checkAPI: false })), true);
    const event = jobEvent();
    await publishJobEvent(ingress.jetstream(), event);
    for (const reader of ["octorun-controller", "octorun-state-metrics"]) {
      const bus = await connectAs(reader);
      const received: string[] = [];
      const consumer = new JobEventConsumer({
        bus,
        durable: reader,
        handler: async (message) => {
          received.push(message.event.deliveryId);
          await message.ack();
        },
      });
      consumers.push(consumer);
      await consumer.start();
      await waitFor(`${reader} receives the event`, async () => received.includes(event.deliveryId), {
        timeoutMs: 10_000,
      });
    }
  });

  test("github-ingress may publish job events and nothing else: it can neither create nor change the stream", async () => {
    const ingress = await connectAs("octorun-github-ingress");
    const jsm = await ingress.jetstreamManager({ checkAPI: false });
    // Different limits: an update, refused.
    await assert.rejects(ensureJobStream(jsm, { ...defaultJobStreamLimits, maxMessages: 1 }), BusConfigurationError);
    await assert.rejects(jsm.streams.purge(JOB_STREAM), /permission|timeout|503/i);
    await assert.rejects(
      jsm.streams.add({ name: "OCTORUN_OTHER", subjects: ["octorun.other.>"] }),
      /permission|timeout|503/i,
    );
    const info = await (await (await connectAs("octorun-controller")).jetstreamManager()).streams.info(JOB_STREAM);
    assert.equal(info.config.max_msgs, defaultJobStreamLimits.maxMessages, "the ingress changed the stream");
  });

  test("no service can do another's part: readers cannot publish, nobody reads another's consumer", async () => {
    const ingress = await connectAs("octorun-github-ingress");
    const controller = await connectAs("octorun-controller");
    const metrics = await connectAs("octorun-state-metrics");
    for (const reader of [controller, metrics])
      await assert.rejects(publishJobEvent(reader.jetstream(), jobEvent()), BusConfigurationError);
    // state-metrics may not declare (or take over) the controller's consumer, nor delete the stream.
    const stolen = new JobEventConsumer({ bus: metrics, durable: "octorun-controller", handler: async () => {} });
    await assert.rejects(stolen.start(), /permission|timeout|503/i);
    await assert.rejects((await controller.jetstreamManager()).streams.delete(JOB_STREAM), /permission|timeout|503/i);
    await assert.rejects(
      (await ingress.jetstreamManager({ checkAPI: false })).streams.delete(JOB_STREAM),
      /permission|timeout|503/i,
    );
  });

  test("replies are per service: each may subscribe to its own inbox only, not to another's nor to _INBOX.>", async () => {
    const services = ["octorun-github-ingress", "octorun-controller", "octorun-state-metrics"];
    /** Whether nats-server lets `cn` subscribe to `subject` (a refusal ends the subscription with an error). */
    const maySubscribe = async (bus: BusConnection, subject: string) => {
      const subscription = bus.connection().subscribe(subject);
      const refused = (async () => {
        for await (const _ of subscription);
      })().then(
        () => false,
        (error: Error) => /permissions violation/i.test(error.message),
      );
      const verdict = await Promise.race([
        refused,
        new Promise((resolve) => setTimeout(() => resolve("allowed"), 1_500)),
      ]);
      subscription.unsubscribe();
      return verdict === "allowed";
    };
    for (const cn of services) {
      const bus = await connectAs(cn);
      assert.equal(await maySubscribe(bus, `${serviceInbox(cn)}.x`), true, `${cn} on its own inbox`);
      for (const other of services.filter((o) => o !== cn))
        assert.equal(await maySubscribe(bus, `${serviceInbox(other)}.>`), false, `${cn} reads ${other}'s replies`);
      assert.equal(await maySubscribe(bus, "_INBOX.>"), false, `${cn} reads every reply`);
    }
  });

  test("a client without a certificate, or with one of no known user, is refused", async () => {
    const { connect } = await import("nats");
    await assert.rejects(connect({ servers: url, tls: { caFile }, reconnect: false, timeout: 3_000 }));
    await assert.rejects(
      connect({
        servers: url,
        tls: { caFile, ...clientCertificate(join(dir, "pki"), "intruder") },
        reconnect: false,
        timeout: 3_000,
      }),
      /authorization/i,
    );
  });

  test("monitoring answers inside the Pod only: on 127.0.0.1, not on another address of the host", async () => {
    const monitor = async (host: string) =>
      (await fetch(`http://${host}:${node.ports.monitor}/varz`).catch(() => undefined))?.ok ?? false;
    assert.equal(await monitor("127.0.0.1"), true);
    assert.equal(await monitor("127.0.0.2"), false, "the monitoring port answers beyond the Pod");
    // Clients still reach the client port at any address.
    assert.match(conf, /^listen: "0\.0\.0\.0:4222"$/m);
  });

  test("routes as deployed: each route's name matches a DNS name of the servers' certificate, as nats-server checks it", () => {
    const routes = [...(/routes: \[([^\]]*)\]/.exec(conf)?.[1] ?? "").matchAll(/"tls:\/\/([^:"]+):\d+"/g)].map(
      (m) => m[1] ?? "",
    );
    const certificate = readFileSync(join(root, "deploy", "nats", "certificate.yaml"), "utf8");
    const dnsNames = [...certificate.matchAll(/^ {4}- "?([^"\n]+)"?$/gm)].map((m) => m[1] ?? "");
    // nats-server's rule (verify_cert_and_check_known_urls): same number of labels, a wildcard only leftmost.
    const matches = (name: string, host: string) => {
      const [n, h] = [name.split("."), host.split(".")];
      return n.length === h.length && n.every((label, i) => label === h[i] || (i === 0 && label === "*"));
    };
    assert.equal(routes.length, 3);
    for (const host of routes)
      assert.ok(
        dnsNames.some((name) => matches(name, host)),
        `${host} in ${dnsNames}`,
      );
  });

  test("routes: the servers' own certificates form the cluster; a service's client certificate of the same CA is refused", async () => {
    const [a, b, c] = [await freePorts(), await freePorts(), await freePorts()];
    const peer = (name: string, ports: typeof a, routes: number[], tls = join(dir, "tls")): LocalNode => ({
      tls,
      state: join(dir, name),
      ports,
      routes,
    });
    // Two servers with their own certificate (for 127.0.0.1, like *.octorun-nats-headless… in the cluster).
    await Promise.all([
      startNode("route-a", peer("route-a", a, [b.cluster]), "/varz"),
      startNode("route-b", peer("route-b", b, [a.cluster]), "/varz"),
    ]);
    const routesOf = async (ports: typeof a) => {
      const routez = (await (await fetch(`http://127.0.0.1:${ports.monitor}/routez`)).json()) as {
        routes?: { remote_name?: string }[];
      };
      return new Set((routez.routes ?? []).map((r) => r.remote_name));
    };
    await waitFor("route-a and route-b routed", async () => (await routesOf(a)).has("route-b"), { timeoutMs: 20_000 });
    // A third server presenting the controller's client certificate (same CA, no server name) as its route certificate.
    const intruderTls = tlsDir(join(dir, "intruder-tls"), "octorun-controller", "clientAuth", "");
    await startNode("route-intruder", peer("route-intruder", c, [a.cluster, b.cluster], intruderTls), "/varz");
    // Until route-a has refused it (or, with a configuration that lets it in, routed it).
    await waitFor(
      "the intruder's route attempt",
      async () => (await routesOf(a)).has("route-intruder") || /authentication error/.test(group.logTail("route-a")),
      { timeoutMs: 20_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.deepEqual([...(await routesOf(a))], ["route-b"], "route-a accepted a route from the intruder");
    // (The intruder's own view may list a route for the moment before route-a closes it.)
    assert.deepEqual([...(await routesOf(b))], ["route-a"], "route-b accepted a route from the intruder");
    await Promise.all(["route-a", "route-b", "route-intruder"].map((name) => group.stopOne(name)));
  });

  test("certificates rotated under a running server: the reloader signals it, and a client connecting afterwards gets the new one", async () => {
    const served = () => serverCertificate(node.ports.client, caFile);
    const before = await served();
    const script = join(root, "deploy", "nats", "reload-certificates.sh");
    group.start("reload-certificates", "/bin/sh", [script], {
      PATH: `${dirname(natsServer())}:${process.env.PATH}`,
      TLS_DIR: node.tls,
      NATS_PID_FILE: join(node.state, "nats.pid"),
      CHECK_EVERY_SECONDS: "1",
    });
    await waitFor("the reloader watches", () => group.logTail("reload-certificates").includes("watching"));
    // What cert-manager and the kubelet do: a new key and certificate in place of the old ones.
    const renewed = tlsDir(join(dir, "renewed"), "octorun-nats");
    for (const file of ["tls.key", "tls.crt"]) {
      cpSync(join(renewed, file), join(node.tls, `.${file}.new`));
      renameSync(join(node.tls, `.${file}.new`), join(node.tls, file));
    }
    const expected = new X509Certificate(readFileSync(join(renewed, "tls.crt"))).serialNumber;
    assert.notEqual(before, expected);
    await waitFor("a new connection gets the renewed certificate", async () => (await served()) === expected, {
      timeoutMs: 15_000,
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${group.logTail("reload-certificates")}\n${group.logTail("octorun-nats-0")}`);
    });
    // And it still serves clients, with their certificates checked against the same CA.
    await connectAs("octorun-controller");
  });
});

describe("docker-compose.yaml", () => {
  // `docker compose` (v2) where the plugin is installed, else the standalone `docker-compose`.
  const compose = findTool([["docker", "compose"], ["docker-compose"]], "version");
  const expectedServices = [
    "admission-webhook",
    "controller",
    "github-ingress",
    "github-simulator",
    "nats",
    "state-metrics",
  ];

  test("docker compose config accepts it, with NATS, the four services and the GitHub simulator", {
    skip: compose
      ? false
      : "neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose)",
  }, async () => {
    const [command = "", ...prefix] = compose ?? [];
    const run = (args: string[]) =>
      spawnSync(command, [...prefix, "-f", join(root, "docker-compose.yaml"), ...args], {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, OCTORUN_KUBECONFIG: join(root, "README.md") },
      });
    const config = run(["config"]);
    assert.equal(config.status, 0, config.stderr);
    // The resolved file: the top-level keys under `services:`.
    const resolved = /^services:\n((?:[ \t].*\n|\n)*)/m.exec(config.stdout)?.[1] ?? "";
    assert.deepEqual([...resolved.matchAll(/^ {2}([\w-]+):/gm)].map((m) => m[1]).sort(), expectedServices);
    // Each octorun service's environment: only settings it has, every required one.
    for (const service of services) {
      const section = new RegExp(`^ {2}${service}:\\n((?: {3,}.*\\n)*)`, "m").exec(resolved)?.[1] ?? "";
      const environment = /^ {4}environment:\n((?: {6,}.*\n)*)/m.exec(section)?.[1] ?? "";
      const names = [...environment.matchAll(/^ {6}([A-Z0-9_]+):/gm)].map((m) => m[1] ?? "");
      assert.ok(names.length > 0, `${service}: no environment found in the resolved file`);
      if (existsSync(settingsFile(service)))
        assert.deepEqual(settingsProblems(await serviceSettings(service), names), [], service);
    }
  });

  test("its single NATS node has one user per service with the same permissions as deploy/nats", () => {
    const conf = readFileSync(join(root, "deploy", "compose", "nats.conf"), "utf8");
    const users = natsUsers(conf);
    assert.deepEqual([...users.keys()].sort(), ["controller", "github-ingress", "state-metrics"]);
    assert.deepEqual(users.get("github-ingress"), jobPublisherPermissions());
    assert.deepEqual(users.get("controller"), controllerNatsPermissions("octorun-controller"));
    assert.deepEqual(users.get("state-metrics"), stateMetricsNatsPermissions("octorun-state-metrics"));
    const dir = mkdtempSync(join(tmpdir(), "octorun-compose-nats-"));
    try {
      const file = join(dir, "nats.conf");
      writeFileSync(file, conf.replace("/data/jetstream", join(dir, "jetstream")));
      const result = spawnSync(ensureBinaries(["nats-server"]).natsServer, ["-t", "-c", file], {
        encoding: "utf8",
        env: {
          ...process.env,
          NATS_INGRESS_PASSWORD: "a",
          NATS_CONTROLLER_PASSWORD: "b",
          NATS_STATE_METRICS_PASSWORD: "c",
        },
      });
      assert.equal(result.status, 0, result.stdout + result.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
