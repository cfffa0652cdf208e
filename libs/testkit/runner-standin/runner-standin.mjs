// The stand-in for GitHub's Actions runner (Runner.Listener) in the test runner image. It does
// toward the GitHub simulator what the real runner does toward GitHub, over the simulator's
// runner socket (a unix socket the test mounts into the Pod, so no traffic leaves this machine):
//   config.sh  registers with a registration token and writes `.runner` and `.credentials`;
//   config.sh remove  removes that registration;
//   run.sh     starts from `.runner` or from a JIT configuration (`--jitconfig` or
//              ACTIONS_RUNNER_INPUT_JITCONFIG), appears online, takes the job GitHub assigns, runs
//              it for its duration, and exits 0 after that one job (an ephemeral runner);
//              on SIGTERM or SIGINT it goes offline and exits, as the real listener does
//              (a job it was running ends as cancelled).
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";

const socketPath = process.env.GITHUB_SIMULATOR_SOCKET ?? "/var/run/github-simulator/github.sock";
const [command, ...args] = process.argv.slice(2);

function log(message) {
  process.stdout.write(`${new Date().toISOString().replace(/\.\d+Z$/, "Z")}: ${message}\n`);
}

function call(method, path, body, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        socketPath,
        method,
        path,
        timeout: timeoutMs,
        headers: payload ? { "content-type": "application/json", "content-length": payload.length } : {},
      },
      (res) => {
        const chunks = [];
        res.on("data", (chunk) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer from GitHub within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}

function options(list) {
  const parsed = {};
  for (let i = 0; i < list.length; i++) {
    const arg = list[i];
    if (!arg.startsWith("--")) continue;
    const name = arg.slice(2);
    const next = list[i + 1];
    if (next === undefined || next.startsWith("--")) parsed[name] = true;
    else {
      parsed[name] = next;
      i++;
    }
  }
  return parsed;
}

async function configure(flags) {
  if (flags.remove !== undefined || args[0] === "remove") {
    const runner = existsSync(".runner") ? JSON.parse(readFileSync(".runner", "utf8")) : undefined;
    if (!runner) {
      log("error: this runner is not configured (no .runner)");
      return 1;
    }
    const { status, body } = await call("POST", "/_runner/registrations/remove", {
      token: flags.token,
      runnerId: runner.AgentId,
    });
    if (status !== 204) {
      log(`error: removing the runner failed: ${status} ${body?.message ?? ""}`);
      return 1;
    }
    rmSync(".runner", { force: true });
    rmSync(".credentials", { force: true });
    log("Runner removed successfully");
    return 0;
  }
  for (const required of ["url", "token", "name"]) {
    if (typeof flags[required] !== "string") {
      log(`error: --${required} is required with --unattended`);
      return 1;
    }
  }
  const { status, body } = await call("POST", "/_runner/registrations", {
    url: flags.url,
    token: flags.token,
    name: flags.name,
    labels: typeof flags.labels === "string" ? flags.labels.split(",").filter((l) => l.trim() !== "") : [],
    runnerGroup: typeof flags.runnergroup === "string" ? flags.runnergroup : "Default",
    workFolder: typeof flags.work === "string" ? flags.work : "_work",
    replace: flags.replace === true,
    ephemeral: flags.ephemeral === true,
  });
  if (status !== 201) {
    log(`error: registering the runner failed: ${status} ${body?.message ?? ""}`);
    return 1;
  }
  writeFileSync(".runner", JSON.stringify(body.runnerFile, null, 2));
  writeFileSync(".credentials", JSON.stringify(body.credentialsFile, null, 2), { mode: 0o600 });
  log("√ Runner successfully added");
  log("√ Runner connection is good");
  return 0;
}

async function run(flags) {
  const jitconfig = typeof flags.jitconfig === "string" ? flags.jitconfig : process.env.ACTIONS_RUNNER_INPUT_JITCONFIG;
  delete process.env.ACTIONS_RUNNER_INPUT_JITCONFIG;
  let start;
  if (jitconfig) {
    start = { encodedJitConfig: jitconfig };
  } else if (existsSync(".runner") && existsSync(".credentials")) {
    const runner = JSON.parse(readFileSync(".runner", "utf8"));
    const credentials = JSON.parse(readFileSync(".credentials", "utf8"));
    start = { runnerId: runner.AgentId, credential: credentials.Data?.token };
  } else {
    log("error: not configured. Run config.sh, or start with --jitconfig.");
    return 1;
  }
  const opened = await call("POST", "/_runner/sessions", start);
  if (opened.status !== 201) {
    log(`error: could not connect to GitHub: ${opened.status} ${opened.body?.message ?? ""}`);
    return 1;
  }
  const { sessionId, runnerName } = opened.body;
  let job;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log("Exiting...");
    if (job) await call("POST", `/_runner/jobs/${job.id}/finish`, { sessionId, conclusion: "cancelled" }, 10_000);
    await call("DELETE", `/_runner/sessions/${sessionId}`, undefined, 10_000).catch(() => undefined);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  log(`√ Connected to GitHub as ${runnerName}`);
  log("Listening for Jobs");
  while (!job) {
    const message = await call("GET", `/_runner/sessions/${sessionId}/message`, undefined, 60_000);
    if (message.status === 200) job = message.body.job;
    else if (message.status !== 204) {
      log(`error: GitHub ended the session: ${message.status} ${message.body?.message ?? ""}`);
      return 1;
    }
  }
  log(`Running job: ${job.name}`);
  if (job.durationMs !== null) {
    await new Promise((resolve) => setTimeout(resolve, job.durationMs));
    await call("POST", `/_runner/jobs/${job.id}/finish`, { sessionId });
  }
  for (;;) {
    const state = await call("GET", `/_runner/jobs/${job.id}?wait=30`, undefined, 60_000);
    if (state.body?.status === "completed") {
      log(`Job ${job.name} completed with result: ${state.body.conclusion}`);
      break;
    }
  }
  await call("DELETE", `/_runner/sessions/${sessionId}`, undefined, 10_000).catch(() => undefined);
  return 0;
}

const flags = options(args);
const main = command === "config" ? configure : command === "run" ? run : undefined;
if (!main) {
  log(`usage: runner-standin config|run [options] (got ${command})`);
  process.exit(2);
}
main(flags).then(
  (code) => process.exit(code),
  (error) => {
    log(`error: ${error.message}`);
    process.exit(1);
  },
);
