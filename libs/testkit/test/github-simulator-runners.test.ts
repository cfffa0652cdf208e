// Runner emulation end to end: the real apiserver with kwok (Pods become Running and Ready), a
// runner Pod mounting a Secret with a JIT configuration, signed workflow_job webhooks to a receiver.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { type ControlPlane, startControlPlane } from "../src/control-plane.ts";
import { GitHubSimulator } from "../src/github-simulator/index.ts";
import { waitFor } from "../src/wait.ts";
import { signWebhookBody, validateWebhookPayload } from "../src/webhooks.ts";

const NS = "runners";
const SECRET = "s3cret-hook";

describe("GitHub simulator runner emulation (real apiserver + kwok)", () => {
  let cp: ControlPlane;
  let sim: GitHubSimulator;
  let core: CoreV1Api;
  let receiver: Server;
  const received: { headers: IncomingMessage["headers"]; body: string }[] = [];
  let token: string;

  before(async () => {
    cp = await startControlPlane({ kwokNodes: 1 });
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        res.end("ok");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    sim = new GitHubSimulator({
      webhook: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`, secret: SECRET },
      runners: { kubeConfig: cp.kubeconfigPath, namespace: NS, labelSelector: "app.kubernetes.io/name=runner" },
    });
    await sim.start();
    sim.addOrganization("acme");
    sim.addRepository("acme/widgets");
    token = sim.addPersonalAccessToken({ scopes: ["admin:org"] });
  });
  after(async () => {
    await sim?.stop();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
    await cp?.stop();
  });

  async function registerRunner(name: string, labels: string[]) {
    const response = await fetch(`${sim.apiUrl}/orgs/acme/actions/runners/generate-jitconfig`, {
      method: "POST",
      headers: { authorization: `token ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name, runner_group_id: 1, labels }),
    });
    assert.equal(response.status, 201);
    return (await response.json()) as { runner: { id: number }; encoded_jit_config: string };
  }

  /** The Pod and Secret a controller would create: the Secret mounted read-only, the JIT config under `jitconfig`. */
  async function createRunnerPod(name: string, encodedJitConfig: string) {
    await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: `${name}-jitconfig` }, stringData: { jitconfig: encodedJitConfig } },
    });
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name, labels: { "app.kubernetes.io/name": "runner" } },
        spec: {
          restartPolicy: "Never",
          containers: [
            {
              name: "runner",
              image: "ghcr.io/actions/actions-runner:latest",
              volumeMounts: [
                { name: "jitconfig", mountPath: "/var/run/secrets/runner.octorun.github.io", readOnly: true },
              ],
            },
          ],
          volumes: [{ name: "jitconfig", secret: { secretName: `${name}-jitconfig` } }],
        },
      },
    });
  }

  test("Pod Running and Ready with its JIT Secret → the runner goes online; a job runs; completion → Pod Succeeded, runner removed", async () => {
    const jit = await registerRunner("runner-a", ["self-hosted", "linux", "k8s"]);
    assert.equal(sim.runner(jit.runner.id)?.status, "offline", "a new runner is offline");
    await createRunnerPod("runner-a", jit.encoded_jit_config);
    await waitFor("runner-a online", () => sim.runner(jit.runner.id)?.status === "online", { timeoutMs: 30_000 });
    assert.deepEqual(sim.runner(jit.runner.id)?.pod, { namespace: NS, name: "runner-a" });

    const job = await sim.queueJob({ repository: "acme/widgets", labels: ["self-hosted", "k8s"], durationMs: 200 });
    await waitFor("job completed", () => sim.job(job.id)?.status === "completed", { timeoutMs: 15_000 });
    const pod = await waitFor(
      "Pod Succeeded",
      async () => {
        const p = await core.readNamespacedPod({ namespace: NS, name: "runner-a" });
        return p.status?.phase === "Succeeded" ? p : undefined;
      },
      { timeoutMs: 15_000 },
    );
    assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
    assert.equal(sim.runner(jit.runner.id), undefined, "GitHub removed the ephemeral runner");

    await waitFor("three deliveries", () => received.length >= 3, { timeoutMs: 10_000 });
    const payloads = received.map((r) => JSON.parse(r.body));
    assert.deepEqual(
      payloads.map((p) => p.action),
      ["queued", "in_progress", "completed"],
    );
    for (const r of received) {
      assert.equal(r.headers["x-hub-signature-256"], signWebhookBody(SECRET, r.body));
      assert.equal(r.headers["x-github-event"], "workflow_job");
      assert.ok(r.headers["x-github-delivery"]);
      assert.deepEqual(validateWebhookPayload("workflow_job", JSON.parse(r.body)), { valid: true, errors: [] });
    }
    assert.equal(payloads[1].workflow_job.runner_id, jit.runner.id);
    assert.equal(payloads[1].workflow_job.runner_name, "runner-a");
    assert.equal(payloads[2].workflow_job.conclusion, "success");
    assert.deepEqual(payloads[0].workflow_job.labels, ["self-hosted", "k8s"]);
    sim.assertNoViolations();
  });

  test("a Pod whose Secret holds a configuration GitHub never issued brings no runner online", async () => {
    const jit = await registerRunner("runner-b", ["self-hosted"]);
    const forged = Buffer.from(
      JSON.stringify({ ".runner": Buffer.from(JSON.stringify({ AgentId: jit.runner.id })).toString("base64") }),
    ).toString("base64");
    await createRunnerPod("runner-b", forged);
    const seen = await waitFor(
      "the emulation to examine runner-b",
      () => sim.runnerPods().find((p) => p.name === "runner-b"),
      { timeoutMs: 30_000 },
    );
    assert.equal(seen.runnerId, undefined);
    assert.match(seen.problem ?? "", /not issued by this GitHub/);
    assert.equal(sim.runner(jit.runner.id)?.status, "offline");
  });

  test("registration-token mode: a Pod with a registration token and the runner env registers an online runner", async () => {
    const response = await fetch(`${sim.apiUrl}/orgs/acme/actions/runners/registration-token`, {
      method: "POST",
      headers: { authorization: `token ${token}` },
    });
    const { token: registrationToken } = (await response.json()) as { token: string };
    await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: "runner-c-registration-token" }, stringData: { token: registrationToken } },
    });
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: "runner-c", labels: { "app.kubernetes.io/name": "runner" } },
        spec: {
          containers: [
            {
              name: "runner",
              image: "ghcr.io/actions/actions-runner:latest",
              env: [
                { name: "URL", value: `${sim.url}/acme` },
                { name: "RUNNER_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "RUNNER_LABELS", value: "runner=runner-c,gpu" },
                { name: "RUNNER_GROUP", value: "Default" },
              ],
              volumeMounts: [
                { name: "token", mountPath: "/var/run/secrets/runner.octorun.github.io/registration-token" },
              ],
            },
          ],
          volumes: [{ name: "token", secret: { secretName: "runner-c-registration-token" } }],
        },
      },
    });
    const runner = await waitFor("runner-c registered", () => sim.runners().find((r) => r.name === "runner-c"), {
      timeoutMs: 30_000,
    });
    assert.equal(runner.status, "online");
    assert.deepEqual(runner.scope, { kind: "organization", org: "acme" });
    assert.deepEqual(
      runner.labels.map((l) => l.name),
      ["self-hosted", "Linux", "X64", "runner=runner-c", "gpu"],
    );
  });
});
