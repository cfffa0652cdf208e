import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const fixture = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "slow-service.ts");
const secret = "tok_9f8e7d6c5b4a39281716";

interface Started {
  child: ChildProcess;
  lines: () => string[];
  appPort: number;
  healthPort: number;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill("SIGKILL");
});

function start(env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn(process.execPath, [fixture], {
    env: { PATH: process.env.PATH, HEALTH_HOST: "127.0.0.1", HEALTH_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const lines = () => output.split("\n").filter(Boolean);
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const parsed = lines().map((l) => JSON.parse(l));
      const app = parsed.find((l) => l.appPort !== undefined);
      const started = parsed.find((l) => l.message === "started");
      if (app && started) {
        clearInterval(timer);
        resolve({ child, lines, appPort: app.appPort, healthPort: started.healthPort, exited });
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(timer);
      if (!lines().some((l) => l.includes('"started"')))
        reject(Object.assign(new Error(`exited ${code}`), { lines: lines() }));
    });
  });
}

describe("a service built on runService, as a real process", () => {
  test("a missing setting stops start-up with exit 1 and a message naming it", async () => {
    const error = await start({}).then(
      () => undefined,
      (e: Error & { lines: string[] }) => e,
    );
    assert.ok(error, "the process did not stop");
    assert.equal(error.message, "exited 1");
    const line = JSON.parse(error.lines.at(-1)!);
    assert.equal(line.level, "error");
    assert.match(line.message, /API_TOKEN \(or API_TOKEN_FILE\) is required/);
  });

  test("a start-up failure stops the process with exit 1 and says why", async () => {
    const error = await start({ API_TOKEN: secret, FAIL_START: "1" }).then(
      () => undefined,
      (e: Error & { lines: string[] }) => e,
    );
    assert.equal(error?.message, "exited 1");
    assert.ok(error.lines.some((l) => l.includes("start-up failed") && l.includes("cannot reach a dependency")));
  });

  test("/readyz follows the registered checks; /healthz and /metrics answer", async () => {
    const service = await start({ API_TOKEN: secret });
    const health = `http://127.0.0.1:${service.healthPort}`;
    const notReady = await fetch(`${health}/readyz`);
    assert.equal(notReady.status, 503);
    assert.deepEqual(await notReady.json(), { ready: false, checks: { toggle: "toggle is off" } });
    await fetch(`http://127.0.0.1:${service.appPort}/ready-toggle`);
    const ready = await fetch(`${health}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true, checks: { toggle: "ok" } });
    assert.equal((await fetch(`${health}/healthz`)).status, 200);
    assert.match(await (await fetch(`${health}/metrics`)).text(), /^process_resident_memory_bytes \d+/m);
    service.child.kill("SIGTERM");
    assert.equal(await service.exited, 0);
  });

  test("SIGTERM lets an in-flight request finish, refuses new work, then exits 0; the secret is never logged", async () => {
    const service = await start({ API_TOKEN: secret });
    const inFlight = fetch(`http://127.0.0.1:${service.appPort}/slow?ms=1500`);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the request is being served
    service.child.kill("SIGTERM");
    const response = await inFlight;
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "done after 1500");
    assert.equal(await service.exited, 0);
    await assert.rejects(fetch(`http://127.0.0.1:${service.appPort}/slow?ms=1`), "no new connections after shutdown");
    const output = service.lines().join("\n");
    assert.match(output, /"message":"shutting down"/);
    assert.match(output, /"message":"shut down"/);
    assert.ok(output.includes("slow request"));
    assert.ok(!output.includes(secret), "the secret reached a log line");
  });
});
