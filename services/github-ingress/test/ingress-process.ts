// Starts the real github-ingress service as its own process (as it runs in production) for tests
// and the benchmark, and reads back what the job stream holds.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { JOB_STREAM } from "@octorun/bus";
import { freePort, type SignedWebhook, waitFor } from "@octorun/testkit";
import type { JetStreamManager, StoredMsg } from "nats";

const entry = fileURLToPath(new URL("../src/index.ts", import.meta.url));
const nodeBinary = process.execPath;

export interface IngressProcess {
  /** `http://127.0.0.1:<port>/api/github/webhooks` */
  webhookUrl: string;
  baseUrl: string;
  healthUrl: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export async function startIngress(
  env: Record<string, string>,
  options: { waitReady?: boolean } = {},
): Promise<IngressProcess> {
  const [port, healthPort] = [await freePort(), await freePort()];
  let output = "";
  const child = spawn(nodeBinary, [entry], {
    env: {
      PATH: process.env.PATH ?? "",
      HTTP_HOST: "127.0.0.1",
      HTTP_PORT: String(port),
      HEALTH_HOST: "127.0.0.1",
      HEALTH_PORT: String(healthPort),
      SHUTDOWN_DEADLINE_MS: "15000",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  const baseUrl = `http://127.0.0.1:${port}`;
  const healthUrl = `http://127.0.0.1:${healthPort}`;
  const ingress: IngressProcess = {
    webhookUrl: `${baseUrl}${env["WEBHOOK_PATH"] ?? "/api/github/webhooks"}`,
    baseUrl,
    healthUrl,
    child,
    output: () => output,
    exited,
    stop: async () => {
      if (!done) child.kill("SIGTERM");
      await exited;
    },
  };
  if (options.waitReady !== false) {
    try {
      await waitFor(
        "github-ingress ready",
        async () => {
          if (done) throw new Error(`github-ingress exited:\n${output}`);
          return (await fetch(`${healthUrl}/readyz`).catch(() => undefined))?.ok === true;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    } catch (error) {
      await ingress.stop();
      throw new Error(`${(error as Error).message}\n${output}`);
    }
  }
  return ingress;
}

export interface Answer {
  status: number;
  body: string;
  headers: Headers;
}

/** Posts a signed delivery; status 0 when the connection failed. */
export async function deliver(
  url: string,
  webhook: SignedWebhook,
  headers: Record<string, string> = {},
): Promise<Answer> {
  try {
    const res = await fetch(url, { method: "POST", headers: { ...webhook.headers, ...headers }, body: webhook.body });
    return { status: res.status, body: await res.text(), headers: res.headers };
  } catch {
    return { status: 0, body: "", headers: new Headers() };
  }
}

/** Every message the job stream holds, by JetStream message id (the delivery id). */
export async function storedByMessageId(jsm: JetStreamManager): Promise<Map<string, StoredMsg>> {
  const info = await jsm.streams.info(JOB_STREAM);
  const stored = new Map<string, StoredMsg>();
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const message = await jsm.streams.getMessage(JOB_STREAM, { seq }).catch(() => undefined);
    const id = message?.header.get("Nats-Msg-Id");
    if (message && id) stored.set(id, message);
  }
  return stored;
}

export async function storedCount(jsm: JetStreamManager): Promise<number> {
  return (await jsm.streams.info(JOB_STREAM).catch(() => undefined))?.state.messages ?? 0;
}
