// custom.metrics.k8s.io as state-metrics serves it: the pure request handling (paths, answers,
// errors, front-proxy authentication) in tables, then the HTTPS server against a real apiserver
// with its aggregation layer (the front-proxy CA from kube-system/extension-apiserver-authentication,
// SubjectAccessReviews under RBAC) and a real nats-server; and the prometheus-adapter rules of
// deploy/ evaluated on the same service's /metrics give the numbers the API gives.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { RunnerSet } from "@octorun/api";
import { BusConnection, ensureJobStream, publishJobEvent } from "@octorun/bus";
import { KubeClient, RunnerSets } from "@octorun/kube";
import { createLogger, createMetricsRegistry } from "@octorun/runtime";
import { type ControlPlane, type NatsServer, startControlPlane, startNatsServer, waitFor } from "@octorun/testkit";
import { parse } from "yaml";
import {
  accessAttributes,
  answerMetricsRequest,
  isAnswer,
  type MetricsRequest,
  type MetricsSource,
  parseMetricsRequest,
} from "../src/custom-metrics-api.ts";
import { parseAllowlist } from "../src/label-names.ts";
import { AuthenticationError, authenticateRequest, requestHeaderConfigOf } from "../src/request-header-auth.ts";
import { quantity, runnerSetObjectMetrics } from "../src/runnerset-object-metrics.ts";
import { StateMetrics } from "../src/state-metrics.ts";
import { type AdapterRule, evaluateAdapterRule } from "./adapter-rules.ts";
import { jobEvent, scrape } from "./helpers.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const base = "/apis/custom.metrics.k8s.io/v1beta2";
const demandPath = (ns: string, name: string, metric = "octorun_runnerset_runner_demand") =>
  `${base}/namespaces/${ns}/runnersets.octorun.github.io/${name}/${metric}`;

function runnerSet(namespace: string, name: string, status: RunnerSet["status"], labels = {}): RunnerSet {
  return {
    apiVersion: "octorun.github.io/v1alpha2",
    kind: "RunnerSet",
    metadata: { namespace, name, labels },
    spec: {
      runners: status?.runners ?? 0,
      selector: { matchLabels: { "octorun.github.io/runnerset": name } },
      template: {
        metadata: { labels: { "octorun.github.io/runnerset": name } },
        spec: { url: "https://github.com/octo-org" },
      },
    },
    status,
  } as RunnerSet;
}

describe("the custom metrics API's requests and answers (pure)", () => {
  const sets = [
    runnerSet("ci", "linux", { runners: 4, activeRunners: 3, idleRunners: 1 }, { team: "a" }),
    runnerSet("ci", "empty", { runners: 0 }, { team: "b" }),
  ];
  const source: MetricsSource = {
    runnerSet: (ns, name) => sets.find((s) => s.metadata?.namespace === ns && s.metadata?.name === name),
    runnerSets: (ns) => sets.filter((s) => s.metadata?.namespace === ns),
    queuedJobs: (asked) => asked.map((s) => (s.metadata?.name === "linux" ? 2 : 0)),
  };
  const now = new Date("2026-12-03T12:00:00.123Z");
  const answer = (url: string, method = "GET") => {
    const parsed = parseMetricsRequest(method, url);
    return isAnswer(parsed) ? parsed : answerMetricsRequest(parsed, source, now);
  };
  const items = (url: string) =>
    (answer(url).body as { items: { value: string; describedObject: { name: string } }[] }).items;

  test("demand is Active runners plus waiting jobs; the ratio and idle runners are the RunnerSet's", () => {
    assert.deepEqual(
      runnerSetObjectMetrics.map((m) => [m.name, items(demandPath("ci", "linux", m.name))[0]!.value]),
      [
        ["octorun_runnerset_runner_demand", "5"],
        ["octorun_runnerset_runner_active_ratio", "750m"],
        ["octorun_runnerset_queued_jobs", "2"],
        ["octorun_runnerset_status_idle_runners", "1"],
      ],
    );
    assert.equal(items(demandPath("ci", "empty", "octorun_runnerset_runner_active_ratio"))[0]!.value, "0");
  });

  test("v1beta2 and v1beta1 answer in their own shapes", () => {
    assert.deepEqual(answer(demandPath("ci", "linux")).body, {
      kind: "MetricValueList",
      apiVersion: "custom.metrics.k8s.io/v1beta2",
      metadata: {},
      items: [
        {
          describedObject: {
            kind: "RunnerSet",
            namespace: "ci",
            name: "linux",
            apiVersion: "octorun.github.io/v1alpha2",
          },
          metric: { name: "octorun_runnerset_runner_demand", selector: null },
          timestamp: "2026-12-03T12:00:00Z",
          value: "5",
        },
      ],
    });
    const v1 = answer(demandPath("ci", "linux").replace("v1beta2", "v1beta1")).body as {
      apiVersion: string;
      items: { metricName: string; value: string }[];
    };
    assert.equal(v1.apiVersion, "custom.metrics.k8s.io/v1beta1");
    assert.deepEqual([v1.items[0]!.metricName, v1.items[0]!.value], ["octorun_runnerset_runner_demand", "5"]);
  });

  test("discovery lists every RunnerSet metric; the group and the group list name both versions", () => {
    const list = answer(base).body as { kind: string; resources: { name: string; namespaced: boolean }[] };
    assert.equal(list.kind, "APIResourceList");
    assert.deepEqual(
      list.resources.map((r) => r.name),
      runnerSetObjectMetrics.map((m) => `runnersets.octorun.github.io/${m.name}`),
    );
    assert.ok(list.resources.every((r) => r.namespaced));
    const group = answer("/apis/custom.metrics.k8s.io").body as { preferredVersion: { version: string } };
    assert.equal(group.preferredVersion.version, "v1beta2");
    assert.equal((answer("/apis").body as { kind: string }).kind, "APIGroupList");
  });

  test("* lists the RunnerSets a label selector picks", () => {
    assert.deepEqual(
      items(`${demandPath("ci", "*")}?labelSelector=team%3Da`).map((i) => i.describedObject.name),
      ["linux"],
    );
    assert.deepEqual(items(`${demandPath("ci", "*")}?labelSelector=team`).length, 2);
    assert.deepEqual(items(`${demandPath("ci", "*")}?labelSelector=team+notin+(a,b)`).length, 0);
    assert.deepEqual(items(demandPath("other", "*")), []);
  });

  test("unknown metrics, objects, resources and versions are 404; bad input is 400 or 405", () => {
    const cases: [string, string, number, RegExp][] = [
      ["GET", demandPath("ci", "linux", "octorun_nope"), 404, /could not find the metric octorun_nope/],
      ["GET", demandPath("ci", "missing"), 404, /could not find the metric .* missing/],
      ["GET", `${base}/namespaces/ci/pods/p/octorun_runnerset_runner_demand`, 404, /for pods/],
      ["GET", `${base}/namespaces/ci/metrics/octorun_runnerset_runner_demand`, 404, /could not find/],
      ["GET", `${base}/runnersets.octorun.github.io/x/octorun_runnerset_runner_demand`, 404, /could not find/],
      ["GET", "/apis/custom.metrics.k8s.io/v1/namespaces/ci/x/y/z", 404, /not served/],
      ["GET", "/apis/metrics.k8s.io/v1beta1", 404, /could not find/],
      ["GET", `${demandPath("ci", "linux")}?metricLabelSelector=a%3Db`, 404, /could not find/],
      ["POST", demandPath("ci", "linux"), 405, /read-only/],
      ["GET", demandPath("Bad_NS", "linux"), 400, /invalid namespace/],
      ["GET", demandPath("ci", "Bad..Name"), 400, /invalid object name/],
      ["GET", demandPath("ci", "linux", "bad-metric"), 400, /invalid metric name/],
      ["GET", `${demandPath("ci", "*")}?labelSelector=a%3D%3D%3Db`, 400, /invalid label selector/],
      ["GET", `${demandPath("ci", "*")}?labelSelector=a+in+(b`, 400, /unbalanced/],
      ["GET", `${base}/namespaces/%E0%A4%A/x/y/z`, 400, /malformed/],
    ];
    for (const [method, url, code, message] of cases) {
      const got = answer(url, method);
      const body = got.body as { kind: string; code: number; message: string };
      assert.equal(got.status, code, `${method} ${url}: ${body.message}`);
      assert.deepEqual([body.kind, body.code], ["Status", code]);
      assert.match(body.message, message, `${method} ${url}`);
    }
  });

  test("what a request must be authorized for: get one object's metric, list for *, get a discovery path", () => {
    const parsed = (url: string) => parseMetricsRequest("GET", url) as MetricsRequest;
    assert.deepEqual(accessAttributes(parsed(demandPath("ci", "linux"))), {
      resource: {
        namespace: "ci",
        verb: "get",
        group: "custom.metrics.k8s.io",
        resource: "runnersets.octorun.github.io",
        subresource: "octorun_runnerset_runner_demand",
        name: "linux",
      },
    });
    assert.equal(
      (accessAttributes(parsed(demandPath("ci", "*"))) as { resource: { verb: string } }).resource.verb,
      "list",
    );
    assert.deepEqual(accessAttributes(parsed(base)), { nonResource: { path: base, verb: "get" } });
  });

  test("quantities: integers as they are, fractions in thousandths", () => {
    assert.deepEqual([0, 6, 0.75, 1 / 3, 2.0004].map(quantity), ["0", "6", "750m", "333m", "2"]);
  });

  test("front-proxy authentication: a verified, allowed certificate and the user from the headers", () => {
    const config = requestHeaderConfigOf({
      "requestheader-client-ca-file": "PEM",
      "requestheader-allowed-names": '["front-proxy-client"]',
      "requestheader-username-headers": '["X-Remote-User"]',
      "requestheader-group-headers": '["X-Remote-Group"]',
      "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
    })!;
    assert.deepEqual(
      authenticateRequest(config, "front-proxy-client", {
        "x-remote-user": "system:serviceaccount:kube-system:horizontal-pod-autoscaler",
        "x-remote-group": ["system:serviceaccounts", "system:authenticated"],
        "x-remote-extra-scopes%2Fa": "x",
      }),
      {
        username: "system:serviceaccount:kube-system:horizontal-pod-autoscaler",
        groups: ["system:serviceaccounts", "system:authenticated"],
        extra: { "scopes/a": ["x"] },
      },
    );
    assert.deepEqual(authenticateRequest(config, "front-proxy-client", { "x-remote-user": "system:kube-aggregator" }), {
      username: "system:kube-aggregator",
      groups: ["system:authenticated"],
      extra: {},
    });
    for (const [peer, headers, message] of [
      [undefined, { "x-remote-user": "admin" }, /no client certificate/],
      ["someone-else", { "x-remote-user": "admin" }, /not in requestheader-allowed-names/],
      ["front-proxy-client", {}, /no user/],
      ["front-proxy-client", { "x-remote-user": "a", "x-remote-extra-%zz": "x" }, /malformed extra header/],
    ] as const) {
      assert.throws(
        () => authenticateRequest(config, peer, headers),
        (error: Error) => {
          assert.ok(error instanceof AuthenticationError);
          assert.match(error.message, message);
          return true;
        },
      );
    }
    assert.equal(requestHeaderConfigOf({}), undefined);
  });
});

describe("the custom metrics API served by state-metrics, against a real apiserver's aggregation layer", () => {
  let cp: ControlPlane;
  let nats: NatsServer;
  let kube: KubeClient;
  let bus: BusConnection;
  let publisher: BusConnection;
  let service: StateMetrics;

  interface Reply {
    status: number;
    body: { kind?: string; message?: string; items?: { value: string }[]; resources?: unknown[] };
  }

  /** A GET as the aggregator sends it: the front-proxy client certificate, the user in headers. */
  function get(
    path: string,
    user: { name: string; groups?: string[] } | undefined,
    client: { cert: string; key: string } | null | undefined = cp.frontProxy?.client,
    method = "GET",
  ): Promise<Reply> {
    const headers: Record<string, string | string[]> = {};
    if (user) {
      headers["X-Remote-User"] = user.name;
      headers["X-Remote-Group"] = user.groups ?? ["system:authenticated"];
    }
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: service.customMetrics!.port,
          path,
          method,
          headers,
          ca: cp.ca.cert,
          servername: "localhost",
          ...(client ? { cert: client.cert, key: client.key } : {}),
        },
        (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => {
            text += chunk.toString();
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
        },
      );
      req.on("error", reject);
      req.end();
    });
  }
  const admin = { name: "admin", groups: ["system:masters"] };
  const alice = { name: "alice" };

  before(async () => {
    [cp, nats] = await Promise.all([startControlPlane({ aggregationLayer: true }), startNatsServer()]);
    const crds = ["runners", "runnersets"].flatMap((p) => [
      "-f",
      join(root, `deploy/crds/octorun.github.io_${p}.yaml`),
    ]);
    assert.equal((await cp.kubectl(["apply", ...crds])).code, 0);
    await cp.kubectl(["wait", "--for=condition=Established", "--timeout=30s", "crd/runnersets.octorun.github.io"]);
    for (const ns of ["team-a", "team-b"]) assert.equal((await cp.kubectl(["create", "namespace", ns])).code, 0);
    // alice may read the metrics of team-a only.
    const rbac = await cp.kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "Role",
            metadata: { name: "metrics-reader", namespace: "team-a" },
            rules: [{ apiGroups: ["custom.metrics.k8s.io"], resources: ["*"], verbs: ["get", "list"] }],
          },
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: { name: "alice-metrics", namespace: "team-a" },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "metrics-reader" },
            subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice" }],
          },
        ],
      }),
    );
    assert.equal(rbac.code, 0, rbac.stderr);
    kube = new KubeClient(cp.kubeConfig, { fieldManager: "state-metrics-test" });
    publisher = new BusConnection({ servers: [nats.url], name: "test-publisher" });
    await publisher.ready();
    await ensureJobStream(await publisher.jetstreamManager());
    bus = new BusConnection({ servers: [nats.url], name: "state-metrics" });
    const tls = cp.issueServingCertificate("custom-metrics", ["localhost"]);
    service = new StateMetrics({
      kube,
      bus,
      registry: createMetricsRegistry(),
      logger: createLogger({ service: "state-metrics-test", level: "error" }),
      metricsHost: "127.0.0.1",
      metricsPort: 0,
      metadataLabelsAllowlist: parseAllowlist(["*"]),
      jobLabelsAllowlist: ["runnerset"],
      consumerName: "octorun-state-metrics",
      customMetrics: { host: "127.0.0.1", port: 0, tlsCertFile: tls.certFile, tlsKeyFile: tls.keyFile },
    });
    await service.start();
    for (const ns of ["team-a", "team-b"]) {
      await kube.create(RunnerSets, runnerSet(ns, "linux", undefined) as unknown as KubernetesObject);
      await kube.mergePatch(
        RunnerSets,
        ns,
        "linux",
        { status: { runners: 4, idleRunners: 1, activeRunners: 2 } },
        { subresource: "status" },
      );
    }
    // Three jobs the RunnerSets' runners could take, one for other runners, one of another owner.
    for (const id of [1, 2, 3]) await publishJobEvent(publisher.jetstream(), jobEvent("queued", id));
    await publishJobEvent(publisher.jetstream(), jobEvent("queued", 4, { labels: ["self-hosted", "runnerset=gpu"] }));
    await publishJobEvent(
      publisher.jetstream(),
      jobEvent("queued", 5, {
        repository: { fullName: "other-org/app", url: "https://github.com/other-org/app" },
        owner: { login: "other-org", type: "Organization", url: "https://github.com/other-org" },
      }),
    );
    await waitFor("five queued jobs read", () => service.jobs.book.queuedCount === 5, { timeoutMs: 15_000 });
  });

  after(async () => {
    await service?.stop();
    await bus?.close();
    await publisher?.close();
    await Promise.all([cp?.stop(), nats?.stop()]);
  });

  test("demand counts the Active runners and the waiting jobs that match the RunnerSet's labels and scope", async () => {
    await waitFor(
      "demand 5",
      async () => (await get(demandPath("team-a", "linux"), admin)).body.items?.[0]?.value === "5",
      { timeoutMs: 10_000 },
    );
    const discovery = await get(base, admin);
    assert.equal(discovery.status, 200);
    assert.equal(discovery.body.resources?.length, runnerSetObjectMetrics.length);
  });

  test("each request is authorized by a SubjectAccessReview: alice reads team-a, not team-b", async () => {
    assert.equal((await get(demandPath("team-a", "linux"), alice)).status, 200);
    const denied = await get(demandPath("team-b", "linux"), alice);
    assert.equal(denied.status, 403);
    assert.equal(denied.body.kind, "Status");
    assert.match(denied.body.message ?? "", /User "alice" cannot get resource .* in the namespace "team-b"/);
    assert.equal((await get(base, alice)).status, 200, "discovery is open to authenticated users");
  });

  test("no client certificate, or one the front-proxy CA did not sign, is 401 whatever the headers say", async () => {
    const none = await get(demandPath("team-a", "linux"), admin, null);
    assert.equal(none.status, 401);
    const foreign = await get(demandPath("team-a", "linux"), admin, adminPair());
    assert.equal(foreign.status, 401);
    assert.match(foreign.body.message ?? "", /front-proxy CA/);
  });

  test("unknown metrics and objects are 404, bad input 4xx, and nothing a client sends is a 5xx", async () => {
    assert.equal((await get(demandPath("team-a", "linux", "octorun_nope"), admin)).status, 404);
    assert.equal((await get(demandPath("team-a", "nope"), admin)).status, 404);
    assert.equal((await get(`${demandPath("team-a", "*")}?labelSelector=%3D%3D`, admin)).status, 400);
    assert.equal((await get(demandPath("team-a", "linux"), admin, undefined, "DELETE")).status, 405);
    const junk = ["%", "..", "*", "%00", "a b", "é", "%E0%A4%A", "x".repeat(300), "namespaces", ""];
    for (let i = 0; i < 60; i++) {
      const parts = Array.from({ length: 1 + (i % 7) }, (_, j) => junk[(i * 7 + j * 3) % junk.length]!);
      const path = `${base}/${parts.map((p) => encodeURIComponent(p).replaceAll("%25", i % 2 ? "%" : "%25")).join("/")}?labelSelector=${encodeURIComponent(junk[i % junk.length]!)}`;
      const reply = await get(path, admin);
      assert.ok(reply.status >= 200 && reply.status < 500, `${path}: ${reply.status}`);
    }
    assert.equal((await get(demandPath("team-a", "linux"), admin)).status, 200, "still serving");
  });

  test("the prometheus-adapter rules of deploy/ give the same numbers from state-metrics' /metrics", async () => {
    const rules = (
      parse(readFileSync(join(root, "deploy/prometheus-adapter/config.yaml"), "utf8")) as { rules: AdapterRule[] }
    ).rules;
    assert.deepEqual(
      rules.map((rule) => rule.name.as).sort(),
      runnerSetObjectMetrics.map((metric) => metric.name).sort(),
      "the adapter serves the metrics the API serves, by the same names",
    );
    const exposition = await scrape(service.server.port);
    for (const rule of rules) {
      for (const ns of ["team-a", "team-b"]) {
        const fromApi = (await get(demandPath(ns, "linux", rule.name.as), admin)).body.items?.[0]?.value;
        const fromAdapter = evaluateAdapterRule(rule, exposition, ns, "linux");
        assert.equal(
          fromAdapter === undefined ? undefined : quantity(fromAdapter),
          fromApi,
          `${rule.name.as} in ${ns}`,
        );
      }
    }
  });

  function adminPair(): { cert: string; key: string } {
    // The cluster CA's admin certificate: valid for the apiserver, not for the aggregation layer.
    const user = cp.kubeConfig.getCurrentUser();
    return {
      cert: Buffer.from(user?.certData ?? "", "base64").toString(),
      key: Buffer.from(user?.keyData ?? "", "base64").toString(),
    };
  }
});
