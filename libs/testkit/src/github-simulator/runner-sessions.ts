// The runner's side of GitHub: what a runner process does once it runs, as the real runner
// (Runner.Listener) does it against GitHub's runner services, which are not part of the REST API
// and not in GitHub's OpenAPI description. The runner image's stand-in (libs/testkit/runner-standin)
// calls these routes over the simulator's runner socket, a unix socket that a test mounts into the
// runner Pod on the real node, so that no traffic leaves the machine:
//   POST   /_runner/registrations          config.sh with a registration token → `.runner`, `.credentials`
//   POST   /_runner/registrations/remove   config.sh remove with a registration or remove token
//   POST   /_runner/sessions               run.sh: a JIT configuration, or `.runner` + its credential → online
//   GET    /_runner/sessions/:id/message   long poll: the job GitHub assigned to this runner (204: none yet)
//   POST   /_runner/jobs/:id/finish        the runner ran the job to its end (or was stopped: `cancelled`)
//   GET    /_runner/jobs/:id?wait=S        the job's state; waits up to S seconds for it to complete
//   DELETE /_runner/sessions/:id           the runner process stops: offline
import { randomBytes } from "node:crypto";
import type { JobDispatcher } from "./jobs.ts";
import type { JobConclusion, SimRunner, SimState } from "./state.ts";

export interface RunnerRouteAnswer {
  status: number;
  body?: unknown;
}

interface Session {
  id: string;
  runnerId: number;
}

/** A runner process that came online: how it started, for a test to check what a runner Pod really did. */
export interface RunnerProcessStart {
  runnerId: number;
  runnerName: string;
  /** `jit`: from its JIT configuration; `token`: from the `.runner` that config.sh wrote with a registration token. */
  via: "jit" | "token";
  at: number;
}

const POLL_MS = 100;
const MESSAGE_WAIT_MS = 25_000;

/**
 * Registers an ephemeral runner with a registration token, as `config.sh --unattended --ephemeral
 * --replace` does: the runner exists (offline until it runs); an idle runner of the same name is
 * replaced. Returns why it cannot, as GitHub would refuse it.
 */
export function registerWithToken(
  state: SimState,
  request: { token: string; name: string; labels: string[]; runnerGroup: string; workFolder: string },
): SimRunner | string {
  const issued = state.registrationTokens.get(request.token);
  if (!issued || issued.expiresAt <= Date.now())
    return "the registration token was not issued by this GitHub, or it expired";
  if (!request.name) return "a runner needs a name";
  const group = state
    .groupsOf(issued.scope)
    .find((g) => g.name.toLowerCase() === (request.runnerGroup || "Default").toLowerCase());
  if (!group) return `no runner group ${request.runnerGroup}`;
  for (const old of state.runnersOf(issued.scope)) {
    if (old.name.toLowerCase() === request.name.toLowerCase() && !old.busy) state.runners.delete(old.id); // --replace
  }
  const labels = ["self-hosted", "Linux", "X64", ...request.labels.map((l) => l.trim()).filter((l) => l !== "")];
  const runner: SimRunner = {
    id: state.nextId("runner", 20),
    name: request.name,
    scope: issued.scope,
    os: "linux",
    status: "offline",
    busy: false,
    labels: labels.map((label, i) => ({
      id: state.nextId("label", 1),
      name: label,
      type: i < 3 ? "read-only" : "custom",
    })),
    runnerGroupId: group.id,
    ephemeral: true,
    workFolder: request.workFolder || "_work",
    encodedJitConfig: undefined,
    credential: randomBytes(20).toString("hex"),
    pod: undefined,
    jobId: undefined,
  };
  state.runners.set(runner.id, runner);
  return runner;
}

/** The runner this JIT configuration belongs to: its `.runner` names the id, and it must be the exact one GitHub issued. */
export function runnerOfJitConfig(state: SimState, encoded: string): SimRunner | undefined {
  try {
    const files = JSON.parse(Buffer.from(encoded, "base64").toString("utf8")) as Record<string, string>;
    const runnerFile = JSON.parse(Buffer.from(files[".runner"] ?? "", "base64").toString("utf8")) as {
      AgentId?: number;
    };
    const runner = state.runners.get(Number(runnerFile.AgentId));
    return runner?.encodedJitConfig === encoded ? runner : undefined;
  } catch {
    return undefined;
  }
}

export class RunnerSessions {
  readonly #state: SimState;
  readonly #dispatcher: JobDispatcher;
  readonly #webUrl: () => string;
  readonly #sessions = new Map<string, Session>();
  /** Every session opened, oldest first. */
  readonly started: RunnerProcessStart[] = [];
  #stopped = false;

  constructor(options: { state: SimState; dispatcher: JobDispatcher; webUrl: () => string }) {
    this.#state = options.state;
    this.#dispatcher = options.dispatcher;
    this.#webUrl = options.webUrl;
  }

  /** Ends every long poll (the simulator is stopping). */
  stop(): void {
    this.#stopped = true;
  }

  async handle(method: string, url: URL, body: unknown): Promise<RunnerRouteAnswer> {
    const parts = url.pathname.split("/").filter(Boolean).slice(1); // drop "_runner"
    const input = (body ?? {}) as Record<string, unknown>;
    if (method === "POST" && parts.join("/") === "registrations") return this.#register(input);
    if (method === "POST" && parts.join("/") === "registrations/remove") return this.#remove(input);
    if (method === "POST" && parts.join("/") === "sessions") return this.#open(input);
    if (parts[0] === "sessions" && parts[1] && parts.length === 2 && method === "DELETE") return this.#close(parts[1]);
    if (parts[0] === "sessions" && parts[1] && parts[2] === "message" && method === "GET")
      return this.#message(parts[1]);
    if (parts[0] === "jobs" && parts[1] && parts[2] === "finish" && method === "POST")
      return this.#finish(Number(parts[1]), input);
    if (parts[0] === "jobs" && parts[1] && parts.length === 2 && method === "GET")
      return this.#job(Number(parts[1]), Number(url.searchParams.get("wait") ?? 0));
    return { status: 404, body: { message: `no runner route ${method} ${url.pathname}` } };
  }

  #register(input: Record<string, unknown>): RunnerRouteAnswer {
    const registered = registerWithToken(this.#state, {
      token: String(input.token ?? ""),
      name: String(input.name ?? ""),
      labels: Array.isArray(input.labels) ? input.labels.map(String) : [],
      runnerGroup: String(input.runnerGroup ?? "Default"),
      workFolder: String(input.workFolder ?? "_work"),
    });
    if (typeof registered === "string") return { status: 401, body: { message: registered } };
    const group = this.#state.groupsOf(registered.scope).find((g) => g.id === registered.runnerGroupId);
    return {
      status: 201,
      body: {
        runnerFile: {
          AgentId: registered.id,
          AgentName: registered.name,
          PoolId: group?.id,
          PoolName: group?.name,
          ServerUrl: `${this.#webUrl()}/_services/pipelines/${randomBytes(8).toString("hex")}`,
          GitHubUrl: String(input.url ?? ""),
          WorkFolder: registered.workFolder,
          Ephemeral: true,
        },
        credentialsFile: { Scheme: "OAuth", Data: { token: registered.credential } },
      },
    };
  }

  #remove(input: Record<string, unknown>): RunnerRouteAnswer {
    const issued = this.#state.registrationTokens.get(String(input.token ?? ""));
    if (!issued || issued.expiresAt <= Date.now())
      return { status: 401, body: { message: "the token was not issued by this GitHub, or it expired" } };
    const runner = this.#state.runners.get(Number(input.runnerId));
    if (!runner) return { status: 204 }; // already gone: config.sh remove succeeds
    if (runner.busy) return { status: 422, body: { message: `Runner "${runner.name}" is still running a job` } };
    this.#state.runners.delete(runner.id);
    return { status: 204 };
  }

  #open(input: Record<string, unknown>): RunnerRouteAnswer {
    const runner =
      typeof input.encodedJitConfig === "string"
        ? runnerOfJitConfig(this.#state, input.encodedJitConfig)
        : this.#state.runners.get(Number(input.runnerId));
    if (!runner) return { status: 401, body: { message: "this runner is not registered with GitHub (any more)" } };
    if (typeof input.encodedJitConfig !== "string" && (!runner.credential || runner.credential !== input.credential))
      return { status: 401, body: { message: "the runner's credentials are not valid" } };
    const session: Session = { id: randomBytes(8).toString("hex"), runnerId: runner.id };
    this.#sessions.set(session.id, session);
    this.started.push({
      runnerId: runner.id,
      runnerName: runner.name,
      via: typeof input.encodedJitConfig === "string" ? "jit" : "token",
      at: Date.now(),
    });
    runner.status = "online";
    runner.os = "linux";
    runner.live = true;
    this.#dispatcher.schedule();
    return { status: 201, body: { sessionId: session.id, runnerId: runner.id, runnerName: runner.name } };
  }

  #close(sessionId: string): RunnerRouteAnswer {
    const session = this.#sessions.get(sessionId);
    this.#sessions.delete(sessionId);
    const runner = session ? this.#state.runners.get(session.runnerId) : undefined;
    if (runner) {
      runner.status = "offline";
      runner.live = false;
    }
    return { status: 204 };
  }

  async #message(sessionId: string): Promise<RunnerRouteAnswer> {
    const deadline = Date.now() + MESSAGE_WAIT_MS;
    while (!this.#stopped) {
      const session = this.#sessions.get(sessionId);
      const runner = session ? this.#state.runners.get(session.runnerId) : undefined;
      if (!runner) return { status: 404, body: { message: "the session ended: the runner was removed" } };
      const job = runner.jobId !== undefined ? this.#state.jobs.get(runner.jobId) : undefined;
      if (job)
        return { status: 200, body: { job: { id: job.id, name: job.name, durationMs: job.durationMs ?? null } } };
      if (Date.now() >= deadline) break;
      await sleep(POLL_MS);
    }
    return { status: 204 };
  }

  async #finish(jobId: number, input: Record<string, unknown>): Promise<RunnerRouteAnswer> {
    const job = this.#state.jobs.get(jobId);
    const session = this.#sessions.get(String(input.sessionId ?? ""));
    if (!job || !session || job.runner?.id !== session.runnerId)
      return { status: 404, body: { message: `job ${jobId} is not this runner's` } };
    if (job.status === "in_progress") {
      const conclusion = input.conclusion === "cancelled" ? "cancelled" : job.plannedConclusion;
      await this.#dispatcher.complete(jobId, conclusion as JobConclusion);
    }
    return { status: 204 };
  }

  async #job(jobId: number, waitSeconds: number): Promise<RunnerRouteAnswer> {
    const deadline = Date.now() + Math.min(60, Math.max(0, waitSeconds)) * 1000;
    for (;;) {
      const job = this.#state.jobs.get(jobId);
      if (!job) return { status: 404, body: { message: `no job ${jobId}` } };
      if (job.status === "completed" || Date.now() >= deadline || this.#stopped)
        return { status: 200, body: { id: job.id, status: job.status, conclusion: job.conclusion } };
      await sleep(POLL_MS);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
