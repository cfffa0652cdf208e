// `npm run bench admission`: AdmissionReviews offered at 500/s over TLS to one admission-webhook
// process, and in the same run the floor: a minimal node:https server (its own process, this same
// file started with OCTORUN_ADMISSION_FLOOR=1) that parses the review and answers allowed: true,
// measured with the same load generator. Then the apiserver's view: the time to create 1,000
// Runners with the webhooks registered, divided by the time without them.
import { type ChildProcess, spawn } from "node:child_process";
import { Agent, createServer, request as httpsRequest, type RequestOptions } from "node:https";
import { fileURLToPath } from "node:url";
import {
  type ControlPlane,
  defineBenchmark,
  describeTrials,
  freePort,
  imageNodeFlags,
  installCrds,
  type LoadResult,
  type LoadTarget,
  offerLoad,
  quantile,
  startControlPlane,
  trialRatio,
  waitFor,
} from "@octorun/testkit";
import {
  conversionClientConfig,
  mutatingWebhookConfiguration,
  validatingWebhookConfiguration,
} from "../../services/admission-webhook/src/registration.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const WEBHOOK_ENTRY = fileURLToPath(new URL("../../services/admission-webhook/src/index.ts", import.meta.url));
const MUTATE_PATH = "/mutate-octorun-github-io-v1alpha2-runner";
const RATE = 500;
// Few connections, as the apiserver keeps them: a TLS handshake per extra socket would land in the tail.
const SOCKETS = 16;

if (process.env.OCTORUN_ADMISSION_FLOOR === "1") runFloor();

/** The floor: the least any webhook must do per review (TLS, read, parse, answer). */
function runFloor(): void {
  const server = createServer({ cert: process.env.TLS_CERT, key: process.env.TLS_KEY }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const review = JSON.parse(Buffer.concat(chunks).toString()) as { request: { uid: string } };
      const body = JSON.stringify({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        response: { uid: review.request.uid, allowed: true },
      });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 120_000;
  server.listen(Number(process.env.PORT), "127.0.0.1");
  process.once("SIGTERM", () => server.close(() => process.exit(0)));
}

/** A review as the apiserver sends it for `kubectl create` of a Runner. */
function runnerReview(i: number): string {
  const name = `bench-${i}`;
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
      kind: { group: "octorun.github.io", version: "v1alpha2", kind: "Runner" },
      resource: { group: "octorun.github.io", version: "v1alpha2", resource: "runners" },
      requestKind: { group: "octorun.github.io", version: "v1alpha2", kind: "Runner" },
      requestResource: { group: "octorun.github.io", version: "v1alpha2", resource: "runners" },
      name,
      namespace: "default",
      operation: "CREATE",
      userInfo: { username: "admin", groups: ["system:masters", "system:authenticated"] },
      object: {
        apiVersion: "octorun.github.io/v1alpha2",
        kind: "Runner",
        metadata: {
          name,
          namespace: "default",
          uid: "6a3c1f0e-8d0e-4c1e-9a51-0b3c2f1d9e77",
          creationTimestamp: "2026-11-29T13:00:00Z",
          generation: 1,
          managedFields: [
            {
              manager: "kubectl-client-side-apply",
              operation: "Update",
              apiVersion: "octorun.github.io/v1alpha2",
              time: "2026-11-29T13:00:00Z",
              fieldsType: "FieldsV1",
              fieldsV1: { "f:spec": { ".": {}, "f:image": { ".": {}, "f:name": {} }, "f:url": {} } },
            },
          ],
        },
        spec: { url: "https://github.com/octorun/test-repo", image: { name: "ghcr.io/octorun/runner:v2.288.1" } },
      },
      oldObject: null,
      dryRun: false,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions", fieldManager: "kubectl-client-side-apply" },
    },
  });
}

function spawnProcess(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env["PATH"] ?? "", ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  return child;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** Creates Runners `first`…`first + count - 1` in `namespace` through the apiserver, 8 at a time; returns the seconds taken. */
async function createRunners(cp: ControlPlane, namespace: string, first: number, count: number): Promise<number> {
  const server = new URL(cp.server);
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const base: RequestOptions = {
    hostname: server.hostname,
    port: server.port,
    method: "POST",
    agent,
    path: `/apis/octorun.github.io/v1alpha2/namespaces/${namespace}/runners`,
  };
  await cp.kubeConfig.applyToHTTPSOptions(base);
  const create = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({
        apiVersion: "octorun.github.io/v1alpha2",
        kind: "Runner",
        metadata: { name: `runner-${i}` },
        spec: { url: "https://github.com/octorun/test-repo", image: { name: "ghcr.io/octorun/runner:v2.288.1" } },
      });
      const req = httpsRequest({ ...base, headers: { "content-type": "application/json" } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          res.statusCode === 201
            ? resolve()
            : reject(new Error(`create ${i}: ${res.statusCode} ${Buffer.concat(chunks)}`)),
        );
      });
      req.on("error", reject);
      req.end(body);
    });
  let next = first;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < first + count) await create(next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return seconds;
}

async function webhooksInEffect(cp: ControlPlane, namespace: string, expected: boolean): Promise<void> {
  await waitFor(
    `the webhooks to be ${expected ? "in effect" : "out of the way"} in ${namespace}`,
    async () => {
      const result = await cp.kubectl(
        ["create", "--dry-run=server", "-o", "json", "-n", namespace, "-f", "-"],
        JSON.stringify({
          apiVersion: "octorun.github.io/v1alpha2",
          kind: "Runner",
          metadata: { name: "probe" },
          spec: { url: "https://github.com/o" },
        }),
      );
      if (result.code !== 0) return false;
      const defaulted =
        (JSON.parse(result.stdout) as { metadata: { labels?: Record<string, string> } }).metadata.labels?.[
          "octorun.github.io/runner"
        ] === "probe";
      return defaulted === expected;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

export default defineBenchmark({
  name: "admission",
  description:
    "admission-webhook review latency at 500 reviews/s over TLS vs a minimal https floor; apiserver create time with/without the webhooks",
  async run(report, { short }) {
    const seconds = short ? 3 : 15;
    const creates = short ? 200 : 1000;
    const cp = await startControlPlane();
    const processes: ChildProcess[] = [];
    try {
      const webhookPort = await freePort();
      const floorPort = await freePort();
      processes.push(
        spawnProcess([...imageNodeFlags(root, "admission-webhook"), WEBHOOK_ENTRY], {
          TLS_CERT_FILE: cp.webhookTls.certFile,
          TLS_KEY_FILE: cp.webhookTls.keyFile,
          WEBHOOK_HOST: "127.0.0.1",
          WEBHOOK_PORT: String(webhookPort),
          HEALTH_HOST: "127.0.0.1",
          HEALTH_PORT: String(await freePort()),
          LOG_LEVEL: "warn",
        }),
        spawnProcess([fileURLToPath(import.meta.url)], {
          OCTORUN_ADMISSION_FLOOR: "1",
          PORT: String(floorPort),
          TLS_CERT: cp.webhookTls.cert,
          TLS_KEY: cp.webhookTls.key,
        }),
      );
      const target = (port: number): LoadTarget => ({
        baseUrl: `https://127.0.0.1:${port}`,
        ca: cp.ca.cert,
        request: (i) => ({ path: MUTATE_PATH, headers: { "content-type": "application/json" }, body: runnerReview(i) }),
      });
      const webhook = target(webhookPort);
      const floor = target(floorPort);
      await waitFor(
        "both servers to answer",
        async () => {
          const [a, b] = await Promise.all([offerLoad(webhook, 10, 0.2), offerLoad(floor, 10, 0.2)]);
          return a.ok === a.sent && b.ok === b.sent;
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );

      // Warm both up (JIT, TLS session state), then alternate three rounds each: the ratio is the
      // median of the rounds' ratios, so that neither side gets the quieter moments of this shared machine.
      await offerLoad(webhook, RATE, 1, SOCKETS);
      await offerLoad(floor, RATE, 1, SOCKETS);
      const webhookRounds: LoadResult[] = [];
      const floorRounds: LoadResult[] = [];
      for (let round = 0; round < 3; round++) {
        webhookRounds.push(await offerLoad(webhook, RATE, seconds / 3, SOCKETS));
        floorRounds.push(await offerLoad(floor, RATE, seconds / 3, SOCKETS));
      }
      const failed = [...webhookRounds, ...floorRounds].reduce((sum, r) => sum + r.failed, 0);
      if (failed > 0)
        throw new Error(`${failed} reviews failed: ${JSON.stringify(webhookRounds.map((r) => r.statusCounts))}`);
      const pooled = (rounds: LoadResult[]) => rounds.flatMap((r) => r.latenciesMs);
      const reviewP50 = quantile(pooled(webhookRounds), 0.5);
      const reviewP99 = quantile(pooled(webhookRounds), 0.99);
      const floorP99 = quantile(pooled(floorRounds), 0.99);
      const p99Ratio = trialRatio(webhookRounds.map((r, i) => r.p99 / floorRounds[i]!.p99));
      report.figure("review_p50_ms", reviewP50, "ms");
      report.figure("review_p99_ms", reviewP99, "ms");
      report.figure("floor_review_p99_ms", floorP99, "ms");
      report.figure("review_p99_ratio_to_floor", p99Ratio.median, "ratio", "<= 1.5");
      report.note(
        `review_p99_ratio_to_floor ${describeTrials(p99Ratio)}; review_p99_ms and floor_review_p99_ms pool the rounds`,
      );
      report.note(
        `${pooled(webhookRounds).length} Runner CREATE reviews (mutate, with a JSON patch answer) per side at ${RATE}/s over TLS; floor p50 ${quantile(pooled(floorRounds), 0.5).toFixed(2)} ms`,
      );

      // The apiserver's view. The webhooks are registered once, for namespaces labelled
      // `octorun-bench/webhooks=on` only; batches of creates alternate between such a namespace
      // and one without the label, so both conditions share the same moments of machine noise.
      const wh = { baseUrl: `https://127.0.0.1:${webhookPort}`, caPem: cp.ca.cert };
      await installCrds(cp, { conversion: { webhookClientConfig: conversionClientConfig(wh) } });
      await cp.kubectl(["create", "namespace", "bench-without"]);
      await cp.kubectl(["create", "namespace", "bench-with"]);
      await cp.kubectl(["label", "namespace", "bench-with", "octorun-bench/webhooks=on"]);
      const scoped = { ...wh, namespaceSelector: { matchLabels: { "octorun-bench/webhooks": "on" } } };
      await cp.kubectl(["apply", "-f", "-"], JSON.stringify(mutatingWebhookConfiguration(scoped)));
      await cp.kubectl(["apply", "-f", "-"], JSON.stringify(validatingWebhookConfiguration(scoped)));
      await webhooksInEffect(cp, "bench-with", true);
      await webhooksInEffect(cp, "bench-without", false);
      const batch = 50;
      const pairs: { without: number; with: number }[] = [];
      for (let first = 0; first < creates; first += batch) {
        // Alternate which condition goes first, so that neither always follows the other.
        const order = (first / batch) % 2 === 0 ? (["without", "with"] as const) : (["with", "without"] as const);
        const pair = { without: 0, with: 0 };
        for (const condition of order) pair[condition] = await createRunners(cp, `bench-${condition}`, first, batch);
        pairs.push(pair);
      }
      // Trials: consecutive thirds of the batches, each one's time with the webhooks over its time without.
      const third = Math.ceil(pairs.length / 3);
      const sum = (list: typeof pairs, side: "with" | "without") => list.reduce((total, p) => total + p[side], 0);
      const createRatio = trialRatio(
        [0, 1, 2].map((t) => {
          const trial = pairs.slice(t * third, (t + 1) * third);
          return sum(trial, "with") / sum(trial, "without");
        }),
      );
      report.figure("create_ratio_with_webhooks", createRatio.median, "ratio", "<= 1.3");
      report.note(
        `${creates} Runner creates each way in alternating batches of ${batch}, 8 concurrent clients: ${sum(pairs, "without").toFixed(2)} s without the webhooks, ${sum(pairs, "with").toFixed(2)} s with them (mutating + validating, over TLS); create_ratio_with_webhooks ${describeTrials(createRatio)} (each a third of the batches)`,
      );
    } finally {
      for (const child of processes) await stopProcess(child);
      await cp.stop();
    }
  },
});
