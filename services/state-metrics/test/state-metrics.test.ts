// state-metrics against a real apiserver (CRDs from deploy/crds) and a real nats-server: objects
// created, changed and deleted show in the next scrape; job events in the stream show in the job metrics.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KubernetesObject } from "@kubernetes/client-node";
import { BusConnection, ensureJobStream, publishJobEvent, serviceInbox } from "@octorun/bus";
import { KubeClient, RunnerSets, Runners } from "@octorun/kube";
import { createLogger, createMetricsRegistry } from "@octorun/runtime";
import {
  type ControlPlane,
  installCrds,
  type NatsServer,
  startControlPlane,
  startNatsServer,
  waitFor,
} from "@octorun/testkit";
import { parseAllowlist } from "../src/label-names.ts";
import { stateMetricsNatsPermissions } from "../src/nats-permissions.ts";
import { StateMetrics } from "../src/state-metrics.ts";
import { jobEvent, promtoolCheck, sampleValue, scrape } from "./helpers.ts";

const ns = "ci";

describe("state-metrics against a real apiserver and nats-server", () => {
  let cp: ControlPlane;
  let nats: NatsServer;
  let kube: KubeClient;
  let bus: BusConnection;
  let publisher: BusConnection;
  let service: StateMetrics;
  const text = () => scrape(service.server.port);
  const until = (what: string, probe: (t: string) => boolean) =>
    waitFor(what, async () => probe(await text()), { timeoutMs: 15_000, intervalMs: 100 });

  const makeService = () =>
    new StateMetrics({
      kube,
      bus,
      registry: createMetricsRegistry(),
      logger: createLogger({ service: "state-metrics-test", level: "error" }),
      metricsHost: "127.0.0.1",
      metricsPort: 0,
      metadataLabelsAllowlist: parseAllowlist(["*"]),
      jobLabelsAllowlist: ["runnerset", "self-hosted"],
      consumerName: "octorun-state-metrics",
    });

  before(async () => {
    // state-metrics connects as its own user with only the permissions it is meant to need.
    const permissions = stateMetricsNatsPermissions("octorun-state-metrics");
    [cp, nats] = await Promise.all([
      startControlPlane(),
      startNatsServer({
        users: [
          { user: "publisher", password: "publisher-pass" },
          { user: "state-metrics", password: "state-metrics-pass", ...permissions },
        ],
      }),
    ]);
    await installCrds(cp, { conversion: "None" });
    assert.equal((await cp.kubectl(["create", "namespace", ns])).code, 0);
    kube = new KubeClient(cp.kubeConfig, { fieldManager: "state-metrics-test" });
    publisher = new BusConnection({
      servers: [nats.url],
      name: "test-publisher",
      user: "publisher",
      password: "publisher-pass",
    });
    await publisher.ready();
    await ensureJobStream(await publisher.jetstreamManager());
    bus = new BusConnection({
      servers: [nats.url],
      name: "state-metrics",
      user: "state-metrics",
      password: "state-metrics-pass",
      inboxPrefix: serviceInbox("octorun-state-metrics"),
    });
    bus.start();
    service = makeService();
    assert.notEqual(service.ready(), true, "not ready before the caches are filled");
    await service.start();
    assert.equal(service.ready(), true);
  });

  after(async () => {
    await service?.stop();
    await bus?.close();
    await publisher?.close();
    await Promise.all([cp?.stop(), nats?.stop()]);
  });

  test("a Runner's series appear on create, follow status changes and disappear on delete", async () => {
    const created = await kube.create(Runners, {
      metadata: { name: "solo", namespace: ns, labels: { "octorun.github.io/runner": "solo" } },
      spec: { url: "https://github.com/octo-org", group: "builders" },
    } as KubernetesObject);
    const id = { namespace: ns, runner: "solo" };
    await until(
      "the Runner's info series",
      (t) =>
        sampleValue(t, "octorun_runner_info", {
          ...id,
          url: "https://github.com/octo-org",
          group: "builders",
          runner_id: "",
          os: "",
        }) === 1,
    );
    let t = await text();
    assert.equal(sampleValue(t, "octorun_runner_labels", { ...id, label_octorun_github_io_runner: "solo" }), 1);
    assert.equal(
      sampleValue(t, "octorun_runner_created", id),
      Date.parse(created.metadata!.creationTimestamp as unknown as string) / 1000,
    );
    assert.equal(
      sampleValue(t, "octorun_runner_status_phase", { ...id, phase: "Idle" }),
      undefined,
      "no phase series without a phase",
    );

    await kube.mergePatch(
      Runners,
      ns,
      "solo",
      {
        status: {
          phase: "Idle",
          conditions: [
            {
              type: "runner.octorun.github.io/Online",
              status: "True",
              reason: "RunnerOnline",
              message: "",
              lastTransitionTime: "2026-11-29T12:00:00Z",
            },
          ],
        },
      },
      { subresource: "status" },
    );
    await until("the Idle phase", (t) => sampleValue(t, "octorun_runner_status_phase", { ...id, phase: "Idle" }) === 1);
    t = await text();
    assert.equal(sampleValue(t, "octorun_runner_status_phase", { ...id, phase: "Pending" }), 0);
    assert.equal(sampleValue(t, "octorun_runner_status_phase", { ...id, phase: "Failed" }), 0);
    assert.equal(
      sampleValue(t, "octorun_runner_status_conditions", {
        ...id,
        condition: "runner.octorun.github.io/Online",
        status: "true",
      }),
      1,
    );
    assert.equal(
      sampleValue(t, "octorun_runner_status_conditions", {
        ...id,
        condition: "runner.octorun.github.io/Online",
        status: "false",
      }),
      0,
    );

    await kube.mergePatch(Runners, ns, "solo", { status: { phase: "Failed" } }, { subresource: "status" });
    await until(
      "the Failed phase",
      (t) => sampleValue(t, "octorun_runner_status_phase", { ...id, phase: "Failed" }) === 1,
    );
    assert.equal(sampleValue(await text(), "octorun_runner_status_phase", { ...id, phase: "Idle" }), 0);

    await kube.delete(Runners, ns, "solo");
    await until("the Runner's series gone", (t) => !t.includes('runner="solo"'));
  });

  test("a RunnerSet's series follow its spec and status; the active ratio is 0 without runners", async () => {
    await kube.create(RunnerSets, {
      metadata: { name: "web", namespace: ns },
      spec: {
        runners: 3,
        selector: { matchLabels: { "octorun.github.io/runnerset": "web" } },
        template: {
          metadata: { labels: { "octorun.github.io/runnerset": "web" } },
          spec: { url: "https://github.com/octo-org" },
        },
      },
    } as KubernetesObject);
    const id = { namespace: ns, runnerset: "web" };
    await until("the RunnerSet's series", (t) => sampleValue(t, "octorun_runnerset_spec_runners", id) === 3);
    let t = await text();
    assert.equal(sampleValue(t, "octorun_runnerset_runner_active_ratio", id), 0);
    assert.equal(sampleValue(t, "octorun_runnerset_status_runners", id), 0);

    await kube.mergePatch(
      RunnerSets,
      ns,
      "web",
      { status: { runners: 4, idleRunners: 3, activeRunners: 1 } },
      { subresource: "status" },
    );
    await until("the new status", (t) => sampleValue(t, "octorun_runnerset_runner_active_ratio", id) === 0.25);
    t = await text();
    assert.equal(sampleValue(t, "octorun_runnerset_status_runners", id), 4);
    assert.equal(sampleValue(t, "octorun_runnerset_status_idle_runners", id), 3);
    assert.equal(sampleValue(t, "octorun_runnerset_status_active_runners", id), 1);

    await kube.mergePatch(RunnerSets, ns, "web", { spec: { runners: 5 } });
    await until("the new spec", (t) => sampleValue(t, "octorun_runnerset_spec_runners", id) === 5);

    await kube.delete(RunnerSets, ns, "web");
    await until("the RunnerSet's series gone", (t) => !t.includes('runnerset="web"'));
  });

  test("job events in the stream show as queued jobs, then as queue and run times of the RunnerSet that ran them", async () => {
    await kube.create(RunnerSets, {
      metadata: { name: "linux", namespace: ns },
      spec: {
        runners: 1,
        selector: { matchLabels: { "octorun.github.io/runnerset": "linux" } },
        template: {
          metadata: { labels: { "octorun.github.io/runnerset": "linux" } },
          spec: { url: "https://github.com/octo-org" },
        },
      },
    } as KubernetesObject);
    // Another organization's RunnerSet with the same label must not count these jobs.
    await kube.create(RunnerSets, {
      metadata: { name: "other-org", namespace: ns },
      spec: {
        runners: 1,
        selector: { matchLabels: { "octorun.github.io/runnerset": "linux" } },
        template: {
          metadata: { labels: { "octorun.github.io/runnerset": "linux" } },
          spec: { url: "https://github.com/someone-else" },
        },
      },
    } as KubernetesObject);
    await kube.create(Runners, {
      metadata: { name: "linux-abcde", namespace: ns, labels: { "octorun.github.io/runnerset": "linux" } },
      spec: { url: "https://github.com/octo-org" },
    } as KubernetesObject);
    await kube.mergePatch(
      Runners,
      ns,
      "linux-abcde",
      { status: { phase: "Idle", runnerName: "gh-runner-7" } },
      { subresource: "status" },
    );
    await waitFor("the Runner in the cache", () => service.placementOf(jobEvent("assigned", 1)) !== undefined, {
      timeoutMs: 10_000,
    });
    await waitFor("the consumer", () => service.consumerStarted, { timeoutMs: 20_000 });

    const js = publisher.jetstream();
    await publishJobEvent(js, jobEvent("queued", 501));
    await publishJobEvent(js, jobEvent("queued", 502));
    await publishJobEvent(js, jobEvent("queued", 503, { labels: ["ubuntu-latest"] }));
    const queued = { label_runnerset: "linux", label_self_hosted: "true" };
    await until("two queued jobs for runnerset=linux", (t) => sampleValue(t, "octorun_jobs_queued", queued) === 2);
    let t = await text();
    assert.equal(sampleValue(t, "octorun_jobs_queued", { label_runnerset: "", label_self_hosted: "" }), 1);
    assert.equal(sampleValue(t, "octorun_runnerset_queued_jobs", { namespace: ns, runnerset: "linux" }), 2);
    assert.equal(sampleValue(t, "octorun_runnerset_queued_jobs", { namespace: ns, runnerset: "other-org" }), 0);
    assert.equal(sampleValue(t, "octorun_jobs_total", { action: "queued" }), 3);

    await publishJobEvent(js, jobEvent("assigned", 501));
    const set = { namespace: ns, runnerset: "linux" };
    await until(
      "the queue time of job 501",
      (t) => sampleValue(t, "octorun_job_queue_duration_seconds_count", set) === 1,
    );
    t = await text();
    assert.equal(sampleValue(t, "octorun_job_queue_duration_seconds_sum", set), 30);
    assert.equal(sampleValue(t, "octorun_jobs_queued", queued), 1);
    assert.equal(sampleValue(t, "octorun_runnerset_queued_jobs", set), 1);

    await publishJobEvent(js, jobEvent("completed", 501));
    const run = { ...set, conclusion: "success" };
    await until("the run time of job 501", (t) => sampleValue(t, "octorun_job_run_duration_seconds_count", run) === 1);
    t = await text();
    assert.equal(sampleValue(t, "octorun_job_run_duration_seconds_sum", run), 300);
    assert.equal(sampleValue(t, "octorun_job_run_duration_seconds_bucket", { ...run, le: "120" }), 0);
    assert.equal(sampleValue(t, "octorun_job_run_duration_seconds_bucket", { ...run, le: "300" }), 1);
    assert.equal(sampleValue(t, "octorun_jobs_total", { action: "completed" }), 1);

    // A job that ran on a runner octorun does not own counts by action only.
    await publishJobEvent(
      js,
      jobEvent("completed", 503, { runner: { id: 99, name: "someone-elses", groupId: 1, groupName: "Default" } }),
    );
    await until(
      "the foreign job's completion",
      (t) => sampleValue(t, "octorun_jobs_total", { action: "completed" }) === 2,
    );
    t = await text();
    assert.equal(sampleValue(t, "octorun_job_run_duration_seconds_count", run), 1);
    assert.equal(sampleValue(t, "octorun_jobs_queued", { label_runnerset: "", label_self_hosted: "" }), undefined);
  });

  test("after a restart the waiting jobs are rebuilt from the stream, and nothing is counted twice", async () => {
    await service.stop();
    service = makeService();
    await service.start();
    await waitFor("the consumer", () => service.consumerStarted, { timeoutMs: 20_000 });
    let t = await text();
    // Job 502 is still queued from the previous test; 501 and 503 are done.
    assert.equal(sampleValue(t, "octorun_jobs_queued", { label_runnerset: "linux", label_self_hosted: "true" }), 1);
    assert.equal(sampleValue(t, "octorun_runnerset_queued_jobs", { namespace: ns, runnerset: "linux" }), 1);
    assert.equal(
      sampleValue(t, "octorun_jobs_total", { action: "queued" }),
      0,
      "replayed events are not counted again",
    );
    await publishJobEvent(publisher.jetstream(), jobEvent("assigned", 502));
    const set = { namespace: ns, runnerset: "linux" };
    await until(
      "the queue time of job 502",
      (t) => sampleValue(t, "octorun_job_queue_duration_seconds_count", set) === 1,
    );
    t = await text();
    assert.equal(
      sampleValue(t, "octorun_jobs_queued", { label_runnerset: "linux", label_self_hosted: "true" }),
      undefined,
    );
    assert.equal(sampleValue(t, "octorun_jobs_total", { action: "assigned" }), 1);
  });

  test("the whole scrape passes promtool check metrics", async (t) => {
    const result = await promtoolCheck(await text());
    if (!result) return t.skip("promtool is not installed (Debian package prometheus)");
    // prom-client's default Node collector names three gauges *_total; promtool lints them (exit 3).
    // Everything else, ours included, must be clean; a parse error exits 1.
    const problems = result.output
      .split("\n")
      .filter((line) => line.trim() !== "" && !/^nodejs_active_(handles|requests|resources)_total /.test(line));
    assert.deepEqual(problems, []);
    assert.ok(result.code === 0 || result.code === 3, `promtool exit code ${result.code}: ${result.output}`);
  });
});
