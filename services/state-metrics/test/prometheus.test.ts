// A real Prometheus (Debian's package) scrapes state-metrics; PromQL returns the expected values,
// including the queries the prometheus-adapter rules in deploy/prometheus-adapter run for the
// HPA. The example HPA (deploy/samples/hpa.yaml) is accepted by the real apiserver.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { KubernetesObject } from "@kubernetes/client-node";
import { BusConnection, ensureJobStream, publishJobEvent } from "@octorun/bus";
import { KubeClient, RunnerSets } from "@octorun/kube";
import { createLogger, createMetricsRegistry } from "@octorun/runtime";
import {
  type ControlPlane,
  freePort,
  installCrds,
  type NatsServer,
  ProcessGroup,
  startControlPlane,
  startNatsServer,
  waitFor,
} from "@octorun/testkit";
import { parse } from "yaml";
import { parseAllowlist } from "../src/label-names.ts";
import { StateMetrics } from "../src/state-metrics.ts";
import { jobEvent } from "./helpers.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const ns = "ci";

function binaryPresent(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

interface AdapterRule {
  seriesQuery: string;
  name: { matches: string; as: string };
  metricsQuery: string;
  resources: { overrides: Record<string, { group?: string; resource: string }> };
}

/** A rule's metricsQuery as prometheus-adapter expands it for one RunnerSet. */
function expand(rule: AdapterRule, namespace: string, runnerset: string): string {
  const series = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(rule.seriesQuery)?.[1] ?? "";
  return rule.metricsQuery
    .replaceAll("<<.Series>>", series)
    .replaceAll("<<.LabelMatchers>>", `namespace="${namespace}",runnerset="${runnerset}"`)
    .replaceAll("<<.GroupBy>>", "namespace,runnerset");
}

describe("a real Prometheus scraping state-metrics", {
  skip: !binaryPresent("prometheus") && "prometheus is not installed (Debian package prometheus)",
}, () => {
  let cp: ControlPlane;
  let nats: NatsServer;
  let publisher: BusConnection;
  let bus: BusConnection;
  let service: StateMetrics;
  let processes: ProcessGroup;
  let promUrl = "";
  const rules = (
    parse(readFileSync(join(root, "deploy/prometheus-adapter/config.yaml"), "utf8")) as { rules: AdapterRule[] }
  ).rules;

  async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== "success") throw new Error(`PromQL ${promql}: ${body.error}`);
    return body.data.result;
  }
  const scalar = async (promql: string) => {
    const result = await query(promql);
    return result.length === 1 ? Number(result[0]!.value[1]) : undefined;
  };

  before(async () => {
    [cp, nats] = await Promise.all([startControlPlane(), startNatsServer()]);
    await installCrds(cp, { conversion: "None" });
    await cp.kubectl(["create", "namespace", ns]);
    publisher = new BusConnection({ servers: [nats.url], name: "test-publisher" });
    await publisher.ready();
    await ensureJobStream(await publisher.jetstreamManager());
    bus = new BusConnection({ servers: [nats.url], name: "state-metrics" });
    service = new StateMetrics({
      kube: new KubeClient(cp.kubeConfig, { fieldManager: "state-metrics-test" }),
      bus,
      registry: createMetricsRegistry(),
      logger: createLogger({ service: "state-metrics-test", level: "error" }),
      metricsHost: "127.0.0.1",
      metricsPort: 0,
      metadataLabelsAllowlist: parseAllowlist(["*"]),
      jobLabelsAllowlist: ["runnerset"],
      consumerName: "octorun-state-metrics",
    });
    await service.start();

    processes = new ProcessGroup(mkdtempSync(join(tmpdir(), "state-metrics-prometheus-")));
    const config = join(processes.stateDir, "prometheus.yml");
    writeFileSync(
      config,
      [
        "global: { scrape_interval: 1s, evaluation_interval: 1s }",
        "scrape_configs:",
        "  - job_name: octorun-state-metrics",
        `    static_configs: [{ targets: ["127.0.0.1:${service.server.port}"] }]`,
        "",
      ].join("\n"),
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    processes.start("prometheus", "prometheus", [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(processes.stateDir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ]);
    await waitFor(
      "prometheus ready",
      async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.status === 200,
      {
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
  });

  after(async () => {
    await processes?.stop();
    await service?.stop();
    await bus?.close();
    await publisher?.close();
    await Promise.all([cp?.stop(), nats?.stop()]);
  });

  test("Prometheus scrapes the target without errors", async () => {
    await waitFor("the target up", async () => (await scalar(`up{job="octorun-state-metrics"}`)) === 1, {
      timeoutMs: 20_000,
      intervalMs: 250,
    });
    const targets = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as {
      data: { activeTargets: { health: string; lastError: string }[] };
    };
    assert.deepEqual(
      targets.data.activeTargets.map((t) => [t.health, t.lastError]),
      [["up", ""]],
    );
  });

  test("PromQL and the adapter's queries return a RunnerSet's ratio, queued jobs and demand", async () => {
    const kube = new KubeClient(cp.kubeConfig, { fieldManager: "state-metrics-test" });
    await kube.create(RunnerSets, {
      metadata: { name: "runnerset-sample", namespace: ns },
      spec: {
        runners: 4,
        selector: { matchLabels: { "octorun.github.io/runnerset": "linux" } },
        template: {
          metadata: { labels: { "octorun.github.io/runnerset": "linux" } },
          spec: { url: "https://github.com/octo-org" },
        },
      },
    } as KubernetesObject);
    await kube.mergePatch(
      RunnerSets,
      ns,
      "runnerset-sample",
      { status: { runners: 4, idleRunners: 1, activeRunners: 3 } },
      { subresource: "status" },
    );
    for (const id of [1, 2]) await publishJobEvent(publisher.jetstream(), jobEvent("queued", id));

    const byName = Object.fromEntries(rules.map((rule) => [rule.name.as, rule]));
    assert.deepEqual(Object.keys(byName).sort(), [
      "octorun_runnerset_queued_jobs",
      "octorun_runnerset_runner_active_ratio",
      "octorun_runnerset_runner_demand",
      "octorun_runnerset_status_idle_runners",
    ]);
    for (const rule of rules) {
      assert.deepEqual(rule.resources.overrides["runnerset"], { group: "octorun.github.io", resource: "runnersets" });
      assert.deepEqual(rule.resources.overrides["namespace"], { resource: "namespace" });
    }
    const expected: Record<string, number> = {
      octorun_runnerset_runner_active_ratio: 0.75,
      octorun_runnerset_queued_jobs: 2,
      octorun_runnerset_runner_demand: 5,
      octorun_runnerset_status_idle_runners: 1,
    };
    for (const [name, value] of Object.entries(expected)) {
      const promql = expand(byName[name]!, ns, "runnerset-sample");
      await waitFor(`${name} = ${value} (${promql})`, async () => (await scalar(promql)) === value, {
        timeoutMs: 20_000,
        intervalMs: 250,
      });
      // The adapter discovers series by seriesQuery: it must match the series state-metrics exports.
      const found = await query(byName[name]!.seriesQuery);
      assert.ok(
        found.some((s) => s.metric["runnerset"] === "runnerset-sample" && s.metric["namespace"] === ns),
        `${byName[name]!.seriesQuery} finds the RunnerSet`,
      );
    }
    assert.equal(await scalar(`octorun_runnerset_spec_runners{runnerset="runnerset-sample"}`), 4);
    assert.equal(await scalar(`sum(octorun_jobs_queued{label_runnerset="linux"})`), 2);
    assert.equal(await scalar(`octorun_jobs_total{action="queued"}`), 2);
  });

  test("the example HPA is accepted by the apiserver and targets the RunnerSet's scale subresource", async () => {
    const applied = await cp.kubectl(["apply", "--namespace", ns, "-f", join(root, "deploy/samples/hpa.yaml")]);
    assert.equal(applied.code, 0, applied.stderr);
    const scale = await cp.kubectl([
      "get",
      "--raw",
      `/apis/octorun.github.io/v1alpha2/namespaces/${ns}/runnersets/runnerset-sample/scale`,
    ]);
    assert.equal(scale.code, 0, scale.stderr);
    assert.equal((JSON.parse(scale.stdout) as { spec: { replicas: number } }).spec.replicas, 4);
    const hpa = JSON.parse(
      (await cp.kubectl(["get", "hpa", "runnerset-sample", "--namespace", ns, "-o", "json"])).stdout,
    ) as {
      spec: { scaleTargetRef: { kind: string; name: string }; metrics: { object: { metric: { name: string } } }[] };
    };
    assert.deepEqual(hpa.spec.scaleTargetRef, {
      apiVersion: "octorun.github.io/v1alpha2",
      kind: "RunnerSet",
      name: "runnerset-sample",
    });
    const served = new Set(rules.map((rule) => rule.name.as));
    for (const metric of hpa.spec.metrics)
      assert.ok(served.has(metric.object.metric.name), `${metric.object.metric.name} is served by an adapter rule`);
  });
});
