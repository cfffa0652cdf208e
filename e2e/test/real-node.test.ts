// octorun's runners on a real node: the runner image built from runner/Dockerfile (on the stand-in
// for GitHub's runner image) runs in Pods that a real kubelet starts with containerd and runc.
// Only here does it show that a runner can read its JIT Secret, what its container may do, and
// that its Pod ends Succeeded by itself after its one job.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod, Watch } from "@kubernetes/client-node";
import { API_GROUP, RUNNER_RESOURCE, RUNNER_SET_RESOURCE, STORAGE_VERSION } from "@octorun/api";
import { ensureImages, makeReusingApiClient, realNodeSupport, type SimJob, waitFor } from "@octorun/testkit";
import { parseAllDocuments, stringify } from "yaml";
import { RunnerRecorder } from "../src/runner-recorder.ts";
import { OctorunSystem } from "../src/system.ts";

const REPOSITORY = "octo-org/hello-world";
const SECRET_DIR = "/var/run/secrets/runner.octorun.github.io/registration-token";
const root = join(import.meta.dirname, "..", "..");

// Where the machine cannot run a node (not root, no containerd) the tier skips and says why;
// on CI, which installs everything as root, it must run.
const support = realNodeSupport();
const skip = support.ok ? false : process.env.CI ? false : support.why;

/** Every phase each Pod was seen in, by name, from a watch (a real kubelet writes them; nothing here fakes one). */
class PodPhases {
  readonly seen = new Map<string, string[]>();
  #abort: AbortController | undefined;
  async start(kubeConfig: KubeConfig): Promise<this> {
    this.#abort = await new Watch(kubeConfig).watch(
      "/api/v1/namespaces/default/pods",
      {},
      (_type, pod: V1Pod) => {
        const phases = this.seen.get(pod.metadata?.name ?? "") ?? [];
        const phase = pod.status?.phase ?? "";
        if (phases.at(-1) !== phase) phases.push(phase);
        this.seen.set(pod.metadata?.name ?? "", phases);
      },
      () => undefined,
    );
    return this;
  }
  stop(): void {
    this.#abort?.abort();
  }
}

describe("octorun on a real node: the runner image in real containers", { skip }, () => {
  let system: OctorunSystem;
  let recorder: RunnerRecorder;
  let pods: PodPhases;
  let core: CoreV1Api;
  let runnerImage: string;

  before(async () => {
    if (!support.ok) throw new Error(`CI must run the real-node tier: ${support.why}`);
    const { runner } = ensureImages(["runner"]);
    runnerImage = runner.ref;
    system = await new OctorunSystem({ kwokNodes: 1, realNode: true }).start();
    system.github.addRepository(REPOSITORY);
    await system.cp.realNode?.importImage(runner.archive);
    core = makeReusingApiClient(system.cp.kubeConfig, CoreV1Api);
    recorder = await new RunnerRecorder(system.cp.kubeConfig).start();
    pods = await new PodPhases().start(system.cp.kubeConfig);
  });
  after(async () => {
    pods?.stop();
    recorder?.stop();
    await system?.stop();
  });

  /** A RunnerSet whose runners run the built image on the real node. */
  function realRunnerSet(name: string, runners: number): string {
    const manifest = parseAllDocuments(system.runnerSetManifest(name, runners))[0]?.toJS();
    manifest.spec.template.spec = { url: system.runnerUrl, ...system.realRunnerSpec(runnerImage) };
    return stringify(manifest);
  }

  const idleRunners = (set: string) =>
    [...recorder.histories.values()].filter(
      (h) => !h.deleted && h.phases.at(-1) === "Idle" && h.name.startsWith(`${set}-`),
    );

  /** Queues `count` jobs for the runners of `set` (runs-on `label`) once as many are Idle, and waits until GitHub completed them. */
  async function runJobsOn(set: string, count: number, label = `runnerset=${set}`) {
    const idle = await waitFor(
      `${count} Idle runners of ${set}`,
      () => idleRunners(set).length >= count && idleRunners(set),
      {
        timeoutMs: 120_000,
        intervalMs: 250,
      },
    );
    const jobs: SimJob[] = [];
    for (let i = 0; i < count; i++) {
      jobs.push(
        await system.github.queueJob({
          repository: REPOSITORY,
          labels: ["self-hosted", label],
          durationMs: 1_500,
          name: `${set} job ${i}`,
        }),
      );
    }
    await waitFor(
      `${count} jobs of ${set} completed`,
      () => jobs.every((job) => system.github.job(job.id)?.status === "completed"),
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    return { idle, jobs };
  }

  test("JIT: a RunnerSet of 3 goes Pending → Idle → Active → Complete and is replaced; each container read its JIT configuration and its Pod Succeeded by itself", async () => {
    await system.apply(realRunnerSet("jit", 3));
    const { idle, jobs } = await runJobsOn("jit", 3);
    const byJob = recorder.byJob();
    for (const job of jobs) {
      const history = byJob.get(job.id);
      assert.ok(history, `no Runner recorded job ${job.id}`);
      await waitFor(
        `${history.name} Complete`,
        () => recorder.histories.get(history.name)?.phases.includes("Complete"),
        {
          timeoutMs: 60_000,
        },
      );
      assert.deepEqual(recorder.histories.get(history.name)?.phases.slice(0, 4), [
        "Pending",
        "Idle",
        "Active",
        "Complete",
      ]);
      // The runner process came online from its JIT configuration, read from the mounted Secret.
      const started = system.github.runnerProcesses().filter((p) => p.runnerName === history.runnerName);
      assert.deepEqual(
        started.map((p) => p.via),
        ["jit"],
        `${history.name}: runner processes ${JSON.stringify(started)}`,
      );
      await waitFor(`${history.name}'s Pod Succeeded`, () => pods.seen.get(history.name)?.includes("Succeeded"));
      assert.ok(!pods.seen.get(history.name)?.includes("Failed"), `${history.name}: ${pods.seen.get(history.name)}`);
    }
    assert.equal(idle.length, 3);
    await waitFor("3 new Idle runners replace them", () => idleRunners("jit").length === 3 && idleRunners("jit"), {
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    for (const runner of idleRunners("jit")) assert.ok(!idle.some((old) => old.name === runner.name));
    system.github.assertNoViolations();
  });

  test("inside a runner container: uid and groups as declared, the JIT configuration readable, no ServiceAccount token, the Secret not writable, no capabilities, no privilege escalation, seccomp on", async () => {
    const [runner] = await waitFor("an Idle runner", () => idleRunners("jit").length > 0 && idleRunners("jit"));
    assert.ok(runner);
    const script = [
      "echo uid=$(id -u) gid=$(id -g) groups=$(id -G | tr ' ' ,)",
      `echo jitconfig_bytes=$(wc -c < ${SECRET_DIR}/jitconfig)`,
      `echo secret_mode=$(stat -c %a:%u:%g ${SECRET_DIR}/..data/jitconfig)`,
      "if [ -e /var/run/secrets/kubernetes.io/serviceaccount/token ]; then echo token=present; else echo token=absent; fi",
      `if (echo x > ${SECRET_DIR}/jitconfig) 2>/dev/null; then echo secret_write=yes; else echo secret_write=no; fi`,
      `if touch ${SECRET_DIR}/new 2>/dev/null; then echo secret_create=yes; else echo secret_create=no; fi`,
      "echo $(grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\\t ' | tr ':' = | tr '\\n' ' ')",
    ].join("; ");
    const exec = await system.cp.kubectl(["exec", runner.name, "-c", "runner", "--", "sh", "-c", script]);
    assert.equal(exec.code, 0, exec.stderr);
    const facts = Object.fromEntries(
      exec.stdout
        .split(/\s+/)
        .filter((pair) => pair.includes("="))
        .map((pair) => pair.split("=", 2) as [string, string]),
    );
    assert.equal(facts.uid, "1000");
    assert.equal(facts.gid, "1000");
    const groups = (facts.groups ?? "").split(",");
    assert.ok(groups.includes("1000"), `groups: ${facts.groups}`);
    assert.ok(!groups.includes("0") && !groups.includes("27"), `no root or sudo group: ${facts.groups}`);
    assert.ok(Number(facts.jitconfig_bytes) > 100, `the JIT configuration: ${facts.jitconfig_bytes} bytes`);
    assert.equal(facts.secret_mode, "440:0:1000", "root's file, readable by the runner's group only");
    assert.equal(facts.token, "absent");
    assert.equal(facts.secret_write, "no");
    assert.equal(facts.secret_create, "no");
    assert.equal(facts.CapEff, "0000000000000000");
    assert.equal(facts.NoNewPrivs, "1");
    assert.equal(facts.Seccomp, "2", "a seccomp filter (RuntimeDefault)");
  });

  test("deleting an Active runner waits for its job to end in the real container, then the Pod Succeeds and the Runner goes", async () => {
    await waitFor("an Idle runner", () => idleRunners("jit").length > 0);
    // A job without a duration runs until GitHub (the simulator) says it completed.
    const job = await system.github.queueJob({ repository: REPOSITORY, labels: ["self-hosted", "runnerset=jit"] });
    const history = await waitFor("a runner Active with the job", () => {
      const found = recorder.byJob().get(job.id);
      return found?.phases.at(-1) === "Active" && found;
    });
    const objects = system.cp.kubeConfig.makeApiClient(CustomObjectsApi);
    const ref = { group: API_GROUP, version: STORAGE_VERSION, namespace: "default", plural: RUNNER_RESOURCE.plural };
    await objects.deleteNamespacedCustomObject({ ...ref, name: history.name });
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const pod = (await core.readNamespacedPod({ namespace: "default", name: history.name })) as V1Pod;
    assert.equal(pod.status?.phase, "Running", "the runner's container keeps running its job");
    assert.equal(pod.metadata?.deletionTimestamp, undefined, "the Pod is not being deleted");
    assert.equal(system.github.job(job.id)?.status, "in_progress");
    await system.github.completeJob(job.id, "success");
    await waitFor(`${history.name}'s Pod Succeeded`, () => pods.seen.get(history.name)?.includes("Succeeded"), {
      timeoutMs: 60_000,
    }).catch(async (error: Error) => {
      const runner = recorder.histories.get(history.name);
      const now = await core.readNamespacedPod({ namespace: "default", name: history.name }).catch(() => undefined);
      throw new Error(
        `${error.message}: Pod phases seen ${pods.seen.get(history.name)}, now ${JSON.stringify(now?.status?.containerStatuses)} deletion ${now?.metadata?.deletionTimestamp}; Runner ${JSON.stringify(runner)}; job ${JSON.stringify(system.github.job(job.id))}\n${system.cp.realNode?.kubeletLogTail(40)}`,
      );
    });
    await waitFor(`${history.name} deleted`, () => recorder.histories.get(history.name)?.deleted, {
      timeoutMs: 60_000,
    });
    assert.equal(system.github.job(job.id)?.conclusion, "success");
  });

  test("token mode, and the original octorun's samples (deploy/samples, v1alpha1) with the changes the README names: config.sh registers with the Secret's token, run.sh runs one job, the Pod Succeeds", async () => {
    const objects = system.cp.kubeConfig.makeApiClient(CustomObjectsApi);
    await objects.deleteNamespacedCustomObject({
      group: API_GROUP,
      version: STORAGE_VERSION,
      namespace: "default",
      plural: RUNNER_SET_RESOURCE.plural,
      name: "jit",
    });
    await waitFor("the JIT runners gone", () => idleRunners("jit").length === 0, { timeoutMs: 60_000 });
    await system.restart("controller", { RUNNER_REGISTRATION: "token" });

    // The samples as the README tells their users to change them: the runner image (octorun's,
    // which speaks both modes), the URL; and for this test the real node and the simulator's socket.
    const samples = ["runnerset-sample.v1alpha1.yaml", "runner-sample.v1alpha1.yaml"].map((file) => {
      const sample = parseAllDocuments(readFileSync(join(root, "deploy", "samples", file), "utf8"))[0]?.toJS();
      const spec = sample.kind === "RunnerSet" ? sample.spec.template.spec : sample.spec;
      Object.assign(spec, { url: system.runnerUrl }, system.realRunnerSpec(runnerImage));
      return stringify(sample);
    });
    await system.apply(samples.join("---\n"));
    const set = "runnerset-sample";
    await runJobsOn(set, 3, "runnerset=myrunnerset");
    const single = await waitFor("the sample Runner Idle", () => {
      const found = recorder.histories.get("runner-sample");
      return found?.phases.at(-1) === "Idle" && found;
    });
    const job = await system.github.queueJob({
      repository: REPOSITORY,
      labels: ["self-hosted", "runner=myrunner"],
      durationMs: 1_000,
    });
    await waitFor("the sample Runner's job completed", () => system.github.job(job.id)?.status === "completed", {
      timeoutMs: 60_000,
    });
    await waitFor("runner-sample's Pod Succeeded", () => pods.seen.get("runner-sample")?.includes("Succeeded"), {
      timeoutMs: 60_000,
    });
    const tokenStarts = system.github.runnerProcesses().filter((p) => p.via === "token");
    assert.ok(tokenStarts.length >= 4, `runner processes started from a token registration: ${tokenStarts.length}`);
    assert.ok(tokenStarts.some((p) => p.runnerName === single.runnerName));
    system.github.assertNoViolations();
  });
});
