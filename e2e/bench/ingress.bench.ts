// `npm run bench ingress`: signed real workflow_job payloads at one github-ingress process with a
// real nats-server, and in the same run the raw floor: a minimal node:http server (its own process,
// this same file started with OCTORUN_INGRESS_FLOOR=1) doing only the HMAC check, the JetStream
// publish and the answer, measured with the same load generator.
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { JOB_STREAM, jobPublisherPermissions, jobStreamManagerPermissions, mergePermissions } from "@octorun/bus";
import {
  defineBenchmark,
  describeTrials,
  freePort,
  imageNodeFlags,
  type LoadResult,
  type LoadTarget,
  maxThroughput,
  offerLoad,
  quantile,
  signWebhookBody,
  startNatsServer,
  trialRatio,
  waitFor,
  webhookExamples,
} from "@octorun/testkit";
import { connect } from "nats";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

const secret = "bench-webhook-secret";
const path = "/api/github/webhooks";
const user = { user: "ingress", password: "ingress-pass" };

if (process.env.OCTORUN_INGRESS_FLOOR === "1") await runFloor();

/** The floor: the least any ingress must do per delivery. */
async function runFloor(): Promise<void> {
  const nc = await connect({ servers: process.env.NATS_URL, user: user.user, pass: user.password });
  const js = nc.jetstream();
  const key = process.env.WEBHOOK_SECRET ?? "";
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      const given = Buffer.from(String(req.headers["x-hub-signature-256"] ?? "").slice(7), "hex");
      const expected = createHmac("sha256", key).update(body).digest();
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        res.writeHead(401).end();
        return;
      }
      try {
        await js.publish("octorun.jobs.queued", body, { msgID: String(req.headers["x-github-delivery"]) });
        res.writeHead(202).end();
      } catch {
        res.writeHead(503).end();
      }
    });
  });
  server.listen(Number(process.env.HTTP_PORT), "127.0.0.1");
  process.once("SIGTERM", () => {
    server.close();
    void nc.drain().then(() => process.exit(0));
  });
}

/** User + system CPU time of a process in ms (Linux /proc; NaN elsewhere). */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks at USER_HZ = 100
  } catch {
    return Number.NaN;
  }
}

interface Server {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function startProcess(name: string, args: string[], env: Record<string, string>, ready: string): Promise<Server> {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  const exit = new Promise((resolve) => child.once("exit", resolve)).then(() => (exited = true));
  await waitFor(
    name,
    async () => {
      if (exited) throw new Error(`${name} exited: ${stderr}`);
      return (
        (await fetch(ready, { method: ready.endsWith(path) ? "POST" : "GET" }).catch(() => undefined)) !== undefined
      );
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  return {
    url: `http://127.0.0.1:${env["HTTP_PORT"]}`,
    child,
    stop: async () => {
      if (!exited) child.kill("SIGTERM");
      await exit;
    },
  };
}

export default defineBenchmark({
  name: "ingress",
  description: "signed workflow_job deliveries through github-ingress into JetStream, against a raw node:http floor",
  async run(report, { short }) {
    const seconds = short ? 3 : 10;
    const nats = await startNatsServer({
      users: [
        { user: "admin", password: "admin-pass" },
        { ...user, ...mergePermissions(jobPublisherPermissions(), jobStreamManagerPermissions()) },
      ],
    });
    const servers: Server[] = [];
    try {
      const example = webhookExamples("workflow_job").find((e) => e.action === "queued")!;
      const body = Buffer.from(JSON.stringify(example.payload));
      const signature = signWebhookBody(secret, body);
      let run = 0;
      const target = (baseUrl: string): LoadTarget => {
        const prefix = `bench-${process.pid}-${++run}`;
        return {
          baseUrl,
          request: (i) => ({
            path,
            body,
            headers: {
              "content-type": "application/json",
              "x-github-event": "workflow_job",
              "x-github-delivery": `${prefix}-${i}`,
              "x-hub-signature-256": signature,
              "user-agent": "GitHub-Hookshot/bench",
            },
          }),
        };
      };

      const [ingressPort, healthPort, floorPort] = [await freePort(), await freePort(), await freePort()];
      const natsEnv = {
        NATS_URL: nats.url,
        NATS_USER: user.user,
        NATS_PASSWORD: user.password,
        WEBHOOK_SECRET: secret,
      };
      const ingressEntry = fileURLToPath(new URL("../../services/github-ingress/src/index.ts", import.meta.url));
      const ingress = await startProcess(
        "github-ingress",
        [...imageNodeFlags(root, "github-ingress"), ingressEntry],
        {
          ...natsEnv,
          HTTP_HOST: "127.0.0.1",
          HTTP_PORT: String(ingressPort),
          HEALTH_HOST: "127.0.0.1",
          HEALTH_PORT: String(healthPort),
          LOG_LEVEL: "warn",
        },
        `http://127.0.0.1:${healthPort}/readyz`,
      );
      servers.push(ingress);
      await waitFor("ingress ready", async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok, {
        timeoutMs: 30_000,
      });
      const floor = await startProcess(
        "floor",
        [fileURLToPath(import.meta.url)],
        { ...natsEnv, OCTORUN_INGRESS_FLOOR: "1", HTTP_PORT: String(floorPort) },
        `http://127.0.0.1:${floorPort}${path}`,
      );
      servers.push(floor);

      // Warm both (JIT, connections), then measure them alternately, round by round; each ratio is
      // the median of the rounds' ratios, so that one noisy moment of this shared machine does not decide it.
      const warmUp = [await maxThroughput(target(floor.url), 1, 16), await maxThroughput(target(ingress.url), 1, 16)];
      const rounds = 3;
      const results: Record<"floorMax" | "ingressMax" | "floorAt1000" | "ingressAt1000", LoadResult[]> = {
        floorMax: [],
        ingressMax: [],
        floorAt1000: [],
        ingressAt1000: [],
      };
      // CPU time of each server process per delivery: steadier than throughput on a shared machine.
      const cpuPerDelivery: Record<"floor" | "ingress", number[]> = { floor: [], ingress: [] };
      const measured = async (side: "floor" | "ingress", server: Server) => {
        const before = cpuMs(server.child.pid);
        const result = await maxThroughput(target(server.url), seconds, 32);
        const used = cpuMs(server.child.pid) - before;
        if (Number.isFinite(used) && result.ok > 0) cpuPerDelivery[side].push((used * 1000) / result.ok);
        return result;
      };
      for (let round = 0; round < rounds; round++) {
        results.ingressMax.push(await measured("ingress", ingress));
        results.floorMax.push(await measured("floor", floor));
        results.ingressAt1000.push(await offerLoad(target(ingress.url), 1000, seconds));
        results.floorAt1000.push(await offerLoad(target(floor.url), 1000, seconds));
      }
      const medianOf = (list: LoadResult[], value: (r: LoadResult) => number) => quantile(list.map(value), 0.5);
      const throughputRatio = trialRatio(
        results.ingressMax.map((r, i) => r.perSecond / results.floorMax[i]!.perSecond),
      );
      const p99Ratio = trialRatio(results.ingressAt1000.map((r, i) => r.p99 / results.floorAt1000[i]!.p99));

      for (const [name, list] of Object.entries(results))
        for (const r of list)
          if (r.failed > 0)
            report.note(`${name}: ${r.failed} of ${r.sent} not 2xx (${JSON.stringify(r.statusCounts)})`);

      report.figure(
        "deliveries_per_s",
        medianOf(results.ingressMax, (r) => r.perSecond),
        "1/s",
        ">= 0",
      );
      report.figure(
        "floor_deliveries_per_s",
        medianOf(results.floorMax, (r) => r.perSecond),
        "1/s",
        ">= 0",
      );
      report.figure("ratio_to_floor", throughputRatio.median, "", ">= 0.75");
      report.figure(
        "p50_ms",
        medianOf(results.ingressAt1000, (r) => r.p50),
        "ms",
      );
      report.figure(
        "p99_ms",
        medianOf(results.ingressAt1000, (r) => r.p99),
        "ms",
      );
      report.figure(
        "floor_p99_ms",
        medianOf(results.floorAt1000, (r) => r.p99),
        "ms",
      );
      report.figure("p99_ratio_to_floor", p99Ratio.median, "", "<= 1.5");
      report.note(`ratio_to_floor ${describeTrials(throughputRatio)}`);
      report.note(`p99_ratio_to_floor ${describeTrials(p99Ratio)}`);

      const admin = await connect({ servers: nats.url, user: "admin", pass: "admin-pass" });
      const stored = (await (await admin.jetstreamManager()).streams.info(JOB_STREAM)).state.messages;
      await admin.close();
      const accepted = [...warmUp, ...Object.values(results).flat()].reduce((n, r) => n + r.ok, 0);
      report.note(
        `${body.length} B workflow_job payload (GitHub's example #${example.index}), ${rounds} rounds of ${seconds} s per phase (ingress, then floor), medians of the rounds, 32 clients closed loop; ` +
          `open loop at 1,000/s offered; load generator, ingress, floor and nats-server on the same machine`,
      );
      report.note(
        `${stored} messages in ${JOB_STREAM} for ${accepted} deliveries answered 2xx (the floor stores raw payloads, also by delivery id)`,
      );
      const rate = (list: LoadResult[]) => list.map((r) => r.perSecond.toFixed(0)).join(", ");
      report.note(`every round, deliveries/s: floor ${rate(results.floorMax)}; ingress ${rate(results.ingressMax)}`);
      const best = (list: number[]) => (list.length > 0 ? Math.min(...list).toFixed(0) : "n/a");
      report.note(
        `server CPU per delivery (best round of each): floor ${best(cpuPerDelivery.floor)} µs, ingress ${best(cpuPerDelivery.ingress)} µs`,
      );
    } finally {
      for (const s of servers) await s.stop();
      await nats.stop();
    }
  },
});
