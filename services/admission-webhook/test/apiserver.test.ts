// The webhook as the real kube-apiserver uses it: deploy/crds installed with the conversion webhook, the
// Mutating/ValidatingWebhookConfigurations registered, the apiserver calling this service over TLS.

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createLogger, createMetricsRegistry } from "@octorun/runtime";
import { type ControlPlane, installCrds, startControlPlane, waitFor } from "@octorun/testkit";
import {
  AdmissionWebhookServer,
  conversionClientConfig,
  mutatingWebhookConfiguration,
  validatingWebhookConfiguration,
} from "../src/index.ts";

const FIXTURES = join(import.meta.dirname, "..", "..", "..", "libs", "api", "test", "fixtures");
const CONTROLLER = "octorun-test-controller";
const NS = "octorun-test";

let cp: ControlPlane;
let webhook: AdmissionWebhookServer;
const registry = createMetricsRegistry();

interface ApiResult {
  code: number;
  body: Record<string, unknown>;
}

/** A raw apiserver call as the admin (or impersonating), to read Status bodies exactly. */
async function api(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResult> {
  const server = new URL(cp.server);
  const options: RequestOptions = {
    method,
    hostname: server.hostname,
    port: server.port,
    path,
    headers: { "content-type": method === "PATCH" ? "application/merge-patch+json" : "application/json", ...headers },
  };
  await cp.kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({ code: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || "{}") }),
      );
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const path = (plural: string, version = "v1alpha2", name = "", sub = "") =>
  `/apis/octorun.github.io/${version}/namespaces/${NS}/${plural}${name ? `/${name}` : ""}${sub ? `/${sub}` : ""}`;

async function kubectl(args: string[], input?: string): Promise<string> {
  const result = await cp.kubectl(args, input);
  assert.equal(result.code, 0, `kubectl ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/**
 * The fields a refusal names. Without the apiserver's notice that it skipped the CRDs' CEL rules
 * because the schema already refused the object (a cause with no field).
 */
function causes(result: ApiResult): string[] {
  const details = result.body["details"] as { causes?: Array<{ field?: string; message?: string }> } | undefined;
  return (details?.causes ?? [])
    .filter((cause) => !/some validation rules were not checked/.test(cause.message ?? ""))
    .map((cause) => cause.field ?? "");
}

const runner = (name: string, spec: Record<string, unknown> = {}, labels?: Record<string, string>) => ({
  apiVersion: "octorun.github.io/v1alpha2",
  kind: "Runner",
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: { url: "https://github.com/octorun/test-repo", image: { name: "ghcr.io/octorun/runner:v2.288.1" }, ...spec },
});

before(async () => {
  cp = await startControlPlane();
  const dir = mkdtempSync(join(tmpdir(), "octorun-webhook-"));
  writeFileSync(join(dir, "tls.crt"), cp.webhookTls.cert);
  writeFileSync(join(dir, "tls.key"), cp.webhookTls.key);
  webhook = new AdmissionWebhookServer({
    certFile: join(dir, "tls.crt"),
    keyFile: join(dir, "tls.key"),
    host: "127.0.0.1",
    port: 0,
    policy: { enterpriseHosts: ["ghes.example.com"], controllerUsernames: [CONTROLLER], controllerGroups: [] },
    registry,
    logger: createLogger({ service: "admission-webhook-test", level: "error" }),
  });
  const port = await webhook.start();
  const target = { baseUrl: `https://127.0.0.1:${port}`, caPem: cp.ca.cert };
  await installCrds(cp, { conversion: { webhookClientConfig: conversionClientConfig(target) } });
  await kubectl(["apply", "-f", "-"], JSON.stringify(mutatingWebhookConfiguration(target)));
  await kubectl(["apply", "-f", "-"], JSON.stringify(validatingWebhookConfiguration(target)));
  await kubectl(["create", "namespace", NS]);
  // The apiserver picks up webhook configurations asynchronously: wait until a dry run is defaulted and validated.
  await waitFor(
    "the webhooks to be in effect",
    async () => {
      const defaulted = await api("POST", `${path("runners")}?dryRun=All`, runner("probe"));
      const refused = await api(
        "POST",
        `${path("runners")}?dryRun=All`,
        runner("probe", { url: "https://gitlab.com/x" }),
      );
      const labels = (defaulted.body["metadata"] as { labels?: Record<string, string> } | undefined)?.labels;
      return labels?.["octorun.github.io/runner"] === "probe" && refused.code === 422;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
});

after(async () => {
  await webhook?.stop();
  await cp?.stop();
});

describe("the CRDs", () => {
  test("kubectl get runners shows octorun's printer columns", async () => {
    await kubectl(["apply", "-n", NS, "-f", "-"], JSON.stringify(runner("columns")));
    const table = await kubectl(["get", "runners", "-n", NS, "-o", "wide"]);
    assert.match(table.split("\n")[0] ?? "", /^NAME\s+RUNNERID\s+STATUS\s+ONLINE\s+URL\s+RUNNERGROUP\s+AGE/);
    assert.match(table, /columns\s+.*https:\/\/github\.com\/octorun\/test-repo\s+Default/);
    await kubectl(
      ["apply", "-n", NS, "-f", "-"],
      JSON.stringify({
        apiVersion: "octorun.github.io/v1alpha2",
        kind: "RunnerSet",
        metadata: { name: "columns" },
        spec: {
          selector: { matchLabels: { "octorun.github.io/runnerset": "columns" } },
          template: { spec: { url: "https://github.com/octorun" } },
        },
      }),
    );
    await kubectl([
      "patch",
      "runnerset",
      "columns",
      "-n",
      NS,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { runners: 3, idleRunners: 2, activeRunners: 1 } }),
    ]);
    const sets = await kubectl(["get", "runnersets", "-n", NS]);
    assert.match(sets, /^NAME\s+RUNNERS\s+IDLE\s+ACTIVE\s+AGE\n/);
    assert.match(sets, /\ncolumns\s+3\s+2\s+1\s+/);
  });

  test("kubectl explain reaches into the embedded Kubernetes types", async () => {
    const affinity = await kubectl(["explain", "runner.spec.placement.affinity"]);
    assert.match(affinity, /nodeAffinity\s+<NodeAffinity>|nodeAffinity\s+<Object>/);
    assert.match(affinity, /podAntiAffinity/);
    const volumes = await kubectl(["explain", "runnerset.spec.template.spec.volumes.ephemeral"]);
    assert.match(volumes, /volumeClaimTemplate/);
  });

  test("pruning keeps every real field of the embedded types", async () => {
    const spec = {
      placement: {
        nodeSelector: { "kubernetes.io/os": "linux" },
        tolerations: [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }, { operator: "Exists" }],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }] }],
            },
          },
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              {
                weight: 10,
                podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { a: "b" } } },
              },
            ],
          },
        },
      },
      resources: { limits: { cpu: 2, memory: "4Gi" }, requests: { cpu: "500m" } },
      securityContext: {
        capabilities: { add: ["SYS_ADMIN"] },
        privileged: false,
        seccompProfile: { type: "RuntimeDefault" },
        runAsUser: 1000,
      },
      volumes: [
        { name: "work", emptyDir: { medium: "Memory", sizeLimit: "1Gi" } },
        {
          name: "cache",
          ephemeral: {
            volumeClaimTemplate: {
              metadata: { labels: { a: "b" } },
              spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } },
            },
          },
        },
        {
          name: "cfg",
          projected: {
            sources: [
              { configMap: { name: "c", items: [{ key: "k", path: "p" }] } },
              { serviceAccountToken: { path: "t", expirationSeconds: 600 } },
            ],
          },
        },
      ],
      volumeMounts: [{ name: "work", mountPath: "/work", subPath: "x", readOnly: true }],
      serviceAccountName: "runner",
      runtimeClassName: "gvisor",
    };
    const created = await api("POST", path("runners"), runner("full", spec));
    assert.equal(created.code, 201, JSON.stringify(created.body));
    const read = await api("GET", path("runners", "v1alpha2", "full"));
    const readSpec = read.body["spec"] as Record<string, unknown>;
    for (const [key, value] of Object.entries(spec)) assert.deepEqual(readSpec[key], value, key);
  });
});

describe("the original octorun's example manifests", () => {
  for (const version of ["v1alpha1", "v1alpha2"]) {
    test(`the ${version} samples apply unchanged, get their defaults and read back in both versions`, async () => {
      const ns = `samples-${version}`;
      await kubectl(["create", "namespace", ns]);
      for (const file of [`runner-sample.${version}.yaml`, `runnerset-sample.${version}.yaml`]) {
        await kubectl(["apply", "-n", ns, "-f", join(FIXTURES, file)]);
      }
      const runnerV2 = JSON.parse(
        await kubectl(["get", "runners.v1alpha2.octorun.github.io", "runner-sample", "-n", ns, "-o", "json"]),
      );
      assert.equal(runnerV2.apiVersion, "octorun.github.io/v1alpha2");
      assert.deepEqual(runnerV2.metadata.labels, { "octorun.github.io/runner": "myrunner" });
      assert.deepEqual(runnerV2.spec, {
        url: "https://github.com/octorun/test-repo",
        image: { name: "ghcr.io/octorun/runner:v2.288.1" },
        group: "Default",
        workdir: "_work",
        evictionPolicy: "IfNotActive",
      });
      const runnerV1 = JSON.parse(
        await kubectl(["get", "runners.v1alpha1.octorun.github.io", "runner-sample", "-n", ns, "-o", "json"]),
      );
      assert.equal(runnerV1.apiVersion, "octorun.github.io/v1alpha1");
      assert.deepEqual(runnerV1.spec, {
        url: "https://github.com/octorun/test-repo",
        image: { name: "ghcr.io/octorun/runner:v2.288.1" },
        group: "Default",
        workdir: "_work",
      });

      const setV2 = JSON.parse(
        await kubectl(["get", "runnersets.v1alpha2.octorun.github.io", "runnerset-sample", "-n", ns, "-o", "json"]),
      );
      assert.equal(setV2.spec.runners, 3);
      assert.equal(setV2.spec.revisionHistoryLimit, 10);
      assert.deepEqual(setV2.spec.updateStrategy, { type: "OnDelete" });
      assert.deepEqual(setV2.spec.template.metadata.labels, { "octorun.github.io/runnerset": "myrunnerset" });
      assert.equal(setV2.spec.template.spec.evictionPolicy, "IfNotActive");
      const setV1 = JSON.parse(
        await kubectl(["get", "runnersets.v1alpha1.octorun.github.io", "runnerset-sample", "-n", ns, "-o", "json"]),
      );
      assert.equal(setV1.spec.runners, 3);
      assert.equal(setV1.spec.updateStrategy, undefined);
      assert.deepEqual(setV1.spec.selector, { matchLabels: { "octorun.github.io/runnerset": "myrunnerset" } });
      // Applying the same manifest again is a no-op update, which the webhooks allow.
      await kubectl(["apply", "-n", ns, "-f", join(FIXTURES, `runner-sample.${version}.yaml`)]);
    });
  }

  test("a RunnerSet without the runnerset label in its template gets it (named after the RunnerSet)", async () => {
    const created = await api("POST", path("runnersets"), {
      apiVersion: "octorun.github.io/v1alpha2",
      kind: "RunnerSet",
      metadata: { name: "bare" },
      spec: {
        selector: { matchLabels: { team: "a" } },
        template: { metadata: { labels: { team: "a" } }, spec: { url: "https://github.com/octorun" } },
      },
    });
    assert.equal(created.code, 201, JSON.stringify(created.body));
    const template = (created.body["spec"] as { template: { metadata: { labels: Record<string, string> } } }).template;
    assert.deepEqual(template.metadata.labels, { team: "a", "octorun.github.io/runnerset": "bare" });
  });
});

describe("validation through the apiserver", () => {
  const refusedRunners: Array<[string, Record<string, unknown>, string[]]> = [
    [
      "a URL outside github.com and the configured GHES hosts",
      runner("bad-host", { url: "https://gitlab.com/octorun" }),
      ["spec.url"],
    ],
    ["spec.id set by a user", runner("bad-id", { id: 7 }), ["spec.id"]],
    [
      "labels GitHub would take for one",
      runner("bad-labels", {}, { "octorun.github.io/gpu": "A", "octorun.github.io/GPU": "a" }),
      ["metadata.labels[octorun.github.io/gpu]"],
    ],
    ["plain labels GitHub would take for one", runner("bad-plain", { labels: ["gpu", "Gpu"] }), ["spec.labels[1]"]],
  ];
  for (const [name, object, fields] of refusedRunners) {
    test(`a Runner with ${name} is refused naming ${fields.join(", ")}`, async () => {
      const result = await api("POST", path("runners"), object);
      assert.equal(result.code, 422, JSON.stringify(result.body));
      assert.equal(result.body["reason"], "Invalid");
      assert.deepEqual(causes(result), fields);
      assert.match(
        String(result.body["message"]),
        /admission webhook "vrunner\.octorun\.github\.io" denied the request/,
      );
    });
  }

  test("a URL that is no scope is refused by the CRD's own rule, before the webhook, naming spec.url", async () => {
    const result = await api("POST", path("runners"), runner("bad-scope", { url: "https://github.com/a/b/c" }));
    assert.equal(result.code, 422, JSON.stringify(result.body));
    assert.deepEqual(causes(result), ["spec.url"]);
    assert.match(
      String(result.body["message"]),
      /spec\.url: Invalid value: "https:\/\/github\.com\/a\/b\/c": must be a repository/,
    );
  });

  test("a Runner with a GHES URL on a configured host is accepted", async () => {
    const result = await api("POST", path("runners"), runner("ghes", { url: "https://ghes.example.com/team/app" }));
    assert.equal(result.code, 201, JSON.stringify(result.body));
  });

  test("a schema violation (bad evictionPolicy) is refused by the CRD schema naming the field", async () => {
    const result = await api("POST", path("runners"), runner("bad-policy", { evictionPolicy: "Sometimes" }));
    assert.equal(result.code, 422);
    assert.deepEqual(causes(result), ["spec.evictionPolicy"]);
  });

  test("plain labels the CRD schema refuses: a repeated one, one with a comma", async () => {
    const repeated = await api("POST", path("runners"), runner("twice", { labels: ["gpu", "gpu"] }));
    assert.equal(repeated.code, 422);
    assert.deepEqual(causes(repeated), ["spec.labels[1]"]);
    const comma = await api("POST", path("runners"), runner("comma", { labels: ["a,b"] }));
    assert.equal(comma.code, 422);
    assert.deepEqual(causes(comma), ["spec.labels[0]"]);
  });

  test("updating a Runner's spec is refused; metadata changes are allowed", async () => {
    await api("POST", path("runners"), runner("immutable"));
    const changed = await api("PATCH", path("runners", "v1alpha2", "immutable"), { spec: { group: "other" } });
    assert.equal(changed.code, 422, JSON.stringify(changed.body));
    assert.deepEqual(causes(changed), ["spec.group"]);
    const labelled = await api("PATCH", path("runners", "v1alpha2", "immutable"), {
      metadata: { labels: { team: "a" } },
    });
    assert.equal(labelled.code, 200, JSON.stringify(labelled.body));
  });

  test("a metadata-only update of a Runner calls no webhook (matchConditions); a label change is validated", async () => {
    const runnerUpdateReviews = async () => {
      const text = await registry.metrics();
      let total = 0;
      for (const match of text.matchAll(
        /octorun_admission_reviews_total\{kind="Runner",mode="\w+",operation="UPDATE",result="\w+"\} (\d+)/g,
      )) {
        total += Number(match[1]);
      }
      return total;
    };
    await api("POST", path("runners"), runner("quiet"));
    const before = await runnerUpdateReviews();
    const annotated = await api("PATCH", path("runners", "v1alpha2", "quiet"), {
      metadata: { annotations: { note: "x" }, finalizers: ["example.com/hold"] },
    });
    assert.equal(annotated.code, 200, JSON.stringify(annotated.body));
    assert.equal(await runnerUpdateReviews(), before);
    const relabelled = await api("PATCH", path("runners", "v1alpha2", "quiet"), {
      metadata: { labels: { "octorun.github.io/gpu": "A", "octorun.github.io/GPU": "a" } },
    });
    assert.equal(relabelled.code, 422, JSON.stringify(relabelled.body));
    assert.deepEqual(causes(relabelled), ["metadata.labels[octorun.github.io/gpu]"]);
    assert.equal(await runnerUpdateReviews(), before + 1);
    await api("PATCH", path("runners", "v1alpha2", "quiet"), { metadata: { finalizers: null } });
  });

  test("only the controller's identity may set spec.id and spec.os", async () => {
    const byAdmin = await api("PATCH", path("runners", "v1alpha2", "immutable"), { spec: { id: 12, os: "Linux" } });
    assert.equal(byAdmin.code, 422);
    assert.deepEqual(causes(byAdmin), ["spec.id", "spec.os"]);
    const byController = await api(
      "PATCH",
      path("runners", "v1alpha2", "immutable"),
      { spec: { id: 12, os: "Linux" } },
      {
        "Impersonate-User": CONTROLLER,
        "Impersonate-Group": "system:masters",
      },
    );
    assert.equal(byController.code, 200, JSON.stringify(byController.body));
    const read = await api("GET", path("runners", "v1alpha2", "immutable"));
    assert.deepEqual(
      [(read.body["spec"] as { id: number }).id, (read.body["spec"] as { os: string }).os],
      [12, "Linux"],
    );
  });

  const runnerSet = (
    name: string,
    selector: unknown,
    labels: Record<string, string>,
    extra: Record<string, unknown> = {},
  ) => ({
    apiVersion: "octorun.github.io/v1alpha2",
    kind: "RunnerSet",
    metadata: { name },
    spec: { selector, template: { metadata: { labels }, spec: { url: "https://github.com/octorun" } }, ...extra },
  });

  const refusedSets: Array<[string, Record<string, unknown>, string[]]> = [
    [
      "a selector that does not match the template",
      runnerSet("mismatch", { matchLabels: { a: "b" } }, { a: "c" }),
      ["spec.template.metadata.labels"],
    ],
    ["an empty selector", runnerSet("empty", {}, { a: "b" }), ["spec.selector"]],
    [
      "an invalid selector operator",
      runnerSet("operator", { matchExpressions: [{ key: "a", operator: "Near", values: ["b"] }] }, { a: "b" }),
      ["spec.selector.matchExpressions[0].operator"],
    ],
  ];
  for (const [name, object, fields] of refusedSets) {
    test(`a RunnerSet with ${name} is refused naming ${fields.join(", ")}`, async () => {
      const result = await api("POST", path("runnersets"), object);
      assert.equal(result.code, 422, JSON.stringify(result.body));
      assert.deepEqual(causes(result), fields);
    });
  }

  test("a RunnerSet without a selector is refused by the schema", async () => {
    const object = runnerSet("no-selector", undefined, { a: "b" });
    const result = await api("POST", path("runnersets"), object);
    assert.equal(result.code, 422);
    assert.deepEqual(causes(result), ["spec.selector"]);
  });

  test("changing a RunnerSet's selector is refused; kubectl scale works", async () => {
    const created = await api(
      "POST",
      path("runnersets"),
      runnerSet("scalable", { matchLabels: { "octorun.github.io/runnerset": "scalable" } }, {}),
    );
    assert.equal(created.code, 201, JSON.stringify(created.body));
    const changed = await api("PATCH", path("runnersets", "v1alpha2", "scalable"), {
      spec: { selector: { matchLabels: { "octorun.github.io/runnerset": "other" } } },
    });
    assert.equal(changed.code, 422);
    // As apps/v1 does for a Deployment: the selector may not change, and it no longer matches the template.
    assert.deepEqual(causes(changed), ["spec.template.metadata.labels", "spec.selector"]);
    await kubectl(["scale", "runnerset", "scalable", "-n", NS, "--replicas=5"]);
    const scale = await api("GET", path("runnersets", "v1alpha2", "scalable", "scale"));
    assert.deepEqual((scale.body["spec"] as { replicas: number }).replicas, 5);
    const read = await api("GET", path("runnersets", "v1alpha2", "scalable"));
    assert.equal((read.body["spec"] as { runners: number }).runners, 5);
  });

  test("a RunnerSet update to a template URL on a host not allowed is refused by the webhook", async () => {
    const changed = await api("PATCH", path("runnersets", "v1alpha2", "scalable"), {
      spec: { template: { spec: { url: "https://gitlab.com/octorun" } } },
    });
    assert.equal(changed.code, 422, JSON.stringify(changed.body));
    assert.deepEqual(causes(changed), ["spec.template.spec.url"]);
    assert.match(
      String(changed.body["message"]),
      /admission webhook "vrunnerset\.octorun\.github\.io" denied the request/,
    );
  });
});

describe("conversion through the apiserver", () => {
  test("v1alpha2-only fields survive a read and write through v1alpha1", async () => {
    await api("POST", path("runners"), runner("roundtrip", { evictionPolicy: "Never", labels: ["gpu", "arm64"] }));
    const status = {
      phase: "Active",
      runnerName: "octorun-test-roundtrip",
      observedGeneration: 1,
      job: { id: 99, runId: 100, repository: "octorun/test-repo", workflow: "CI", assignedAt: "2026-01-01T00:00:00Z" },
    };
    const patched = await api("PATCH", path("runners", "v1alpha2", "roundtrip", "status"), { status });
    assert.equal(patched.code, 200, JSON.stringify(patched.body));

    const v1 = await api("GET", path("runners", "v1alpha1", "roundtrip"));
    assert.equal(v1.body["apiVersion"], "octorun.github.io/v1alpha1");
    assert.equal((v1.body["spec"] as Record<string, unknown>)["evictionPolicy"], undefined);
    assert.equal((v1.body["spec"] as Record<string, unknown>)["labels"], undefined);
    assert.deepEqual(v1.body["status"], { phase: "Active" });

    // An old client writes the v1alpha1 object back with a new label.
    const object = structuredClone(v1.body) as { metadata: { labels: Record<string, string> } };
    object.metadata.labels["octorun.github.io/pool"] = "big";
    const replaced = await api("PUT", path("runners", "v1alpha1", "roundtrip"), object);
    assert.equal(replaced.code, 200, JSON.stringify(replaced.body));

    const v2 = await api("GET", path("runners", "v1alpha2", "roundtrip"));
    assert.equal((v2.body["spec"] as Record<string, unknown>)["evictionPolicy"], "Never");
    assert.deepEqual((v2.body["spec"] as Record<string, unknown>)["labels"], ["gpu", "arm64"]);
    assert.deepEqual(v2.body["status"], status);
    assert.equal((v2.body["metadata"] as { labels: Record<string, string> }).labels["octorun.github.io/pool"], "big");
    assert.equal(JSON.stringify(v2.body["metadata"]).includes("conversion.octorun.github.io"), false);
  });

  test("a list in v1alpha1 converts every item", async () => {
    const list = await api("GET", path("runners", "v1alpha1"));
    const items = list.body["items"] as Array<{ apiVersion?: string }>;
    assert.ok(items.length >= 3);
    const v2count = (await api("GET", path("runners"))).body["items"] as unknown[];
    assert.equal(items.length, v2count.length);
  });
});

describe("metrics", () => {
  test("reviews are counted by kind, mode, operation and result", async () => {
    const text = await registry.metrics();
    assert.match(
      text,
      /octorun_admission_reviews_total\{kind="Runner",mode="mutate",operation="CREATE",result="allowed"\} [1-9]/,
    );
    assert.match(
      text,
      /octorun_admission_reviews_total\{kind="Runner",mode="validate",operation="CREATE",result="denied"\} [1-9]/,
    );
    assert.match(
      text,
      /octorun_admission_reviews_total\{kind="RunnerSet",mode="validate",operation="UPDATE",result="denied"\} [1-9]/,
    );
    assert.match(text, /octorun_conversion_reviews_total\{result="success"\} [1-9]/);
    assert.match(text, /octorun_conversion_review_duration_seconds_count [1-9]/);
    assert.match(text, /octorun_admission_review_duration_seconds_count\{kind="Runner",mode="mutate"\} [1-9]/);
  });
});
