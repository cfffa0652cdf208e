// Jobs and their workflow_job webhooks: a queued job goes to an online idle runner whose labels
// match; the simulator sends `queued`, `in_progress` (with the runner) and `completed` deliveries,
// built from GitHub's published examples, checked against GitHub's webhook schema and signed as
// GitHub signs them (libs/testkit/src/webhooks.ts).
import { signedWebhook, signWebhookBody, validateWebhookPayload, webhookExamples } from "../webhooks.ts";
import type { JobConclusion, SimJob, SimRunner, SimState } from "./state.ts";

export interface WebhookTarget {
  url: string;
  secret: string;
}

export interface QueueJobOptions {
  /** `owner/name` of a repository known to the simulator. */
  repository: string;
  /** The job's `runs-on` labels. */
  labels: string[];
  /** Conclusion when it completes (default `success`). */
  conclusion?: JobConclusion;
  /** How long it runs once a runner takes it; without it, the job runs until completeJob(). */
  durationMs?: number;
  name?: string;
  workflowName?: string;
}

/**
 * One delivery attempt, as GitHub records it for `GET /app/hook/deliveries`: every attempt (the
 * first one and each redelivery) gets its own `id`; all attempts of one event share the GUID
 * (`X-GitHub-Delivery`).
 */
export interface WebhookDelivery {
  /** GitHub's delivery id: one per attempt, the id `POST /app/hook/deliveries/{id}/attempts` takes. */
  id: number;
  /** `X-GitHub-Delivery`, shared by every attempt of the event (GitHub's `guid`). */
  deliveryId: string;
  event: string;
  action: string;
  jobId: number;
  /** The receiver's HTTP status (0 when it could not be reached or did not answer in time): GitHub's `status_code`. */
  status: number;
  /** GitHub's `status`: `OK`, `Invalid HTTP Response: <code>`, `failed to connect` or `timed out`. */
  statusText: string;
  /** True when a 2xx came back in time; anything else is a failed delivery. */
  delivered: boolean;
  /** A redelivery requested through the REST API (or the simulator's control API). */
  redelivery: boolean;
  /** When the attempt started (epoch ms). */
  deliveredAt: number;
  durationMs: number;
  installationId: number | null;
  repositoryId: number | null;
  error?: string;
  body: Buffer;
  headers: Record<string, string>;
}

/** What the runner emulation does when a job ends: the ephemeral runner's Pod exits. */
export interface RunnerExit {
  runnerExited(runner: SimRunner): Promise<void>;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export class JobDispatcher {
  readonly deliveries: WebhookDelivery[] = [];
  private readonly state: SimState;
  private readonly webUrl: () => string;
  private readonly apiUrl: () => string;
  private webhook: WebhookTarget | undefined;
  private emulation: RunnerExit | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  // One job's deliveries go out one at a time, in the order of its state changes; different jobs'
  // deliveries go out concurrently, as GitHub sends them (a receiver must not rely on their order).
  private readonly chains = new Map<number, Promise<void>>();
  private scheduling = false;
  private readonly timeoutMs: number;
  private attempts = 0;

  constructor(options: {
    state: SimState;
    webUrl: () => string;
    apiUrl: () => string;
    webhook?: WebhookTarget | undefined;
    /** How long the receiver has to answer before the attempt counts as timed out (GitHub: 10 s). */
    timeoutMs?: number;
  }) {
    this.state = options.state;
    this.webUrl = options.webUrl;
    this.apiUrl = options.apiUrl;
    this.webhook = options.webhook;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  setWebhook(target: WebhookTarget | undefined): void {
    this.webhook = target;
  }
  setEmulation(emulation: RunnerExit): void {
    this.emulation = emulation;
  }

  /** Compiles the payload checks of every workflow_job action now rather than at each action's first delivery. */
  prepare(): void {
    for (const example of webhookExamples("workflow_job")) validateWebhookPayload("workflow_job", example.payload);
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  async queue(options: QueueJobOptions): Promise<SimJob> {
    if (!Array.isArray(options.labels) || options.labels.length === 0) throw new Error("a job needs runs-on labels");
    const [owner, name] = options.repository.split("/");
    if (!owner || !name || !this.state.repository(owner, name)) {
      throw new Error(`unknown repository "${options.repository}": add it with addRepository first`);
    }
    const now = Date.now();
    const job: SimJob = {
      id: this.state.nextId("job", 700_000_001),
      runId: this.state.nextId("run", 9_000_001),
      runAttempt: 1,
      repository: options.repository,
      labels: options.labels,
      name: options.name ?? "build",
      workflowName: options.workflowName ?? "CI",
      status: "queued",
      conclusion: null,
      plannedConclusion: options.conclusion ?? "success",
      durationMs: options.durationMs,
      runner: undefined,
      createdAt: iso(now),
      startedAt: undefined,
      completedAt: undefined,
    };
    this.state.jobs.set(job.id, job);
    await this.send(job, "queued");
    this.schedule();
    return job;
  }

  /** Gives queued jobs to matching online idle runners (oldest job first, lowest runner id first). */
  schedule(): void {
    if (this.scheduling) return;
    this.scheduling = true;
    try {
      for (const job of [...this.state.jobs.values()].filter((j) => j.status === "queued")) {
        const runner = [...this.state.runners.values()]
          .sort((a, b) => a.id - b.id)
          .find(
            (r) =>
              r.status === "online" &&
              !r.busy &&
              this.state.covers(r.scope, job.repository) &&
              labelsMatch(r, job.labels),
          );
        if (!runner) continue;
        const group = this.state.groupsOf(runner.scope).find((g) => g.id === runner.runnerGroupId);
        runner.busy = true;
        runner.jobId = job.id;
        job.status = "in_progress";
        job.startedAt = iso(Date.now());
        job.runner = {
          id: runner.id,
          name: runner.name,
          groupId: runner.runnerGroupId,
          groupName: group?.name ?? "Default",
        };
        void this.send(job, "in_progress");
        // A runner process runs the job itself and says when it ended (runner-sessions.ts).
        if (job.durationMs !== undefined && !runner.live) {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            void this.complete(job.id, job.plannedConclusion).catch(() => undefined);
          }, job.durationMs);
          this.timers.add(timer);
        }
      }
    } finally {
      this.scheduling = false;
    }
  }

  async complete(jobId: number, conclusion: JobConclusion): Promise<SimJob> {
    const job = this.state.jobs.get(jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    if (job.status !== "in_progress") throw new Error(`job ${jobId} is ${job.status}, not in_progress`);
    job.status = "completed";
    job.conclusion = conclusion;
    job.completedAt = iso(Date.now());
    const runner = job.runner ? this.state.runners.get(job.runner.id) : undefined;
    await this.send(job, "completed");
    if (runner) {
      // The ephemeral runner exits after its one job; GitHub removes its registration.
      runner.busy = false;
      runner.jobId = undefined;
      if (runner.ephemeral) this.state.runners.delete(runner.id);
      // A runner process exits by itself; an emulated one's Pod is ended for it.
      if (!runner.live) await this.emulation?.runnerExited(runner);
    }
    this.schedule();
    return job;
  }

  /** The workflow_job payload for the job's current state, from GitHub's examples. */
  payload(job: SimJob, action: "queued" | "in_progress" | "completed"): Record<string, unknown> {
    const examples = webhookExamples("workflow_job");
    const pick = (a: string, pred: (p: Record<string, unknown>) => boolean = () => true) =>
      examples.find((e) => e.action === a && pred(e.payload)) ?? examples.find((e) => e.action === a);
    const base = pick(action)?.payload;
    const orgTemplate = pick("completed", (p) => "organization" in p)?.payload.organization as
      | Record<string, unknown>
      | undefined;
    if (!base) throw new Error(`@octokit/webhooks-examples has no workflow_job.${action} example`);
    const [owner = "", name = ""] = job.repository.split("/");
    const repo = this.state.repository(owner, name);
    const org = this.state.organization(owner);
    const web = this.webUrl();
    const api = this.apiUrl();
    const payload = structuredClone(base) as Record<string, unknown> & {
      workflow_job: Record<string, unknown>;
      repository: Record<string, unknown> & { owner: Record<string, unknown> };
    };
    delete payload.deployment;
    payload.action = action;
    Object.assign(payload.workflow_job, {
      id: job.id,
      run_id: job.runId,
      run_attempt: job.runAttempt,
      run_url: `${api}/repos/${job.repository}/actions/runs/${job.runId}`,
      node_id: Buffer.from(`WorkflowJob${job.id}`).toString("base64"),
      url: `${api}/repos/${job.repository}/actions/jobs/${job.id}`,
      html_url: `${web}/${job.repository}/actions/runs/${job.runId}/job/${job.id}`,
      check_run_url: `${api}/repos/${job.repository}/check-runs/${job.id}`,
      status: job.status,
      conclusion: job.conclusion,
      created_at: job.createdAt,
      started_at: job.startedAt ?? job.createdAt,
      completed_at: job.completedAt ?? null,
      name: job.name,
      workflow_name: job.workflowName,
      head_branch: "main",
      labels: job.labels,
      steps: [],
      runner_id: job.runner?.id ?? null,
      runner_name: job.runner?.name ?? null,
      runner_group_id: job.runner?.groupId ?? null,
      runner_group_name: job.runner?.groupName ?? null,
    });
    Object.assign(payload.repository, {
      id: repo?.id ?? 1,
      name,
      full_name: job.repository,
      html_url: `${web}/${job.repository}`,
      url: `${api}/repos/${job.repository}`,
    });
    Object.assign(payload.repository.owner, {
      login: owner,
      id: org?.id ?? 1,
      type: org ? "Organization" : "User",
      html_url: `${web}/${owner}`,
      url: `${api}/users/${owner}`,
    });
    if (org && orgTemplate) {
      payload.organization = { ...structuredClone(orgTemplate), login: owner, id: org.id, url: `${api}/orgs/${owner}` };
    } else {
      delete payload.organization;
    }
    const installation = [...this.state.installations.values()].find(
      (i) => i.account.toLowerCase() === owner.toLowerCase(),
    );
    if (installation) {
      payload.installation = {
        id: installation.id,
        node_id: Buffer.from(`Installation${installation.id}`).toString("base64"),
      };
    } else {
      delete payload.installation;
    }
    return payload;
  }

  private send(job: SimJob, action: "queued" | "in_progress" | "completed"): Promise<void> {
    const payload = this.payload(job, action);
    // Built now (state as of this change), sent in order.
    const check = validateWebhookPayload("workflow_job", payload);
    if (!check.valid) {
      throw new Error(
        `GitHub simulator: its workflow_job.${action} payload violates GitHub's webhook schema: ${check.errors.join("; ")}`,
      );
    }
    const target = this.webhook;
    const next = this.inOrder(job.id, async () => {
      if (!target) return;
      const installation = payload.installation as { id: number } | undefined;
      const org = this.state.organization(job.repository.split("/")[0] ?? "");
      const signed = signedWebhook({
        event: "workflow_job",
        payload,
        secret: target.secret,
        targetType: installation ? "integration" : org ? "organization" : "repository",
        targetId:
          installation?.id ??
          org?.id ??
          this.state.repository(...(job.repository.split("/") as [string, string]))?.id ??
          1,
      });
      const [owner = "", repo = ""] = job.repository.split("/");
      await this.attempt({
        deliveryId: signed.deliveryId,
        event: "workflow_job",
        action,
        jobId: job.id,
        redelivery: false,
        installationId: installation?.id ?? null,
        repositoryId: this.state.repository(owner, repo)?.id ?? null,
        body: signed.body,
        headers: signed.headers,
        url: target.url,
      });
    });
    return next;
  }

  /** Runs send after the job's earlier deliveries have settled. */
  private inOrder<T>(jobId: number, send: () => Promise<T>): Promise<T> {
    const next = (this.chains.get(jobId) ?? Promise.resolve()).then(send);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(jobId, settled);
    void settled.then(() => {
      if (this.chains.get(jobId) === settled) this.chains.delete(jobId);
    });
    return next;
  }

  /**
   * Sends an earlier delivery again, as GitHub does on `POST /app/hook/deliveries/{id}/attempts`:
   * the same body and `X-GitHub-Delivery`, signed with the webhook's current secret, to its current
   * URL, recorded as a new attempt with `redelivery: true`. Resolves once the attempt is recorded;
   * throws when the id is unknown or no webhook is configured.
   */
  redeliver(id: number): Promise<WebhookDelivery> {
    const original = this.deliveries.find((d) => d.id === id);
    if (!original) throw new Error(`no webhook delivery ${id}`);
    const target = this.webhook;
    if (!target) throw new Error("no webhook is configured");
    const headers = { ...original.headers, "x-hub-signature-256": signWebhookBody(target.secret, original.body) };
    return this.inOrder(original.jobId, () =>
      this.attempt({ ...original, redelivery: true, headers, url: target.url }),
    );
  }

  /** One POST to the receiver, recorded with GitHub's fields whatever the outcome. */
  private async attempt(
    delivery: Pick<
      WebhookDelivery,
      | "deliveryId"
      | "event"
      | "action"
      | "jobId"
      | "redelivery"
      | "installationId"
      | "repositoryId"
      | "body"
      | "headers"
    > & { url: string },
  ): Promise<WebhookDelivery> {
    const started = Date.now();
    let status = 0;
    let statusText: string;
    let error: string | undefined;
    try {
      const response = await fetch(delivery.url, {
        method: "POST",
        headers: delivery.headers,
        body: delivery.body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await response.arrayBuffer();
      status = response.status;
      statusText = response.ok ? "OK" : `Invalid HTTP Response: ${response.status}`;
    } catch (cause) {
      const e = cause as Error;
      error = e.message;
      statusText = e.name === "TimeoutError" ? "timed out" : "failed to connect";
    }
    this.attempts += 1;
    const record: WebhookDelivery = {
      id: this.attempts,
      deliveryId: delivery.deliveryId,
      event: delivery.event,
      action: delivery.action,
      jobId: delivery.jobId,
      status,
      statusText,
      delivered: status >= 200 && status < 300,
      redelivery: delivery.redelivery,
      deliveredAt: started,
      durationMs: Date.now() - started,
      installationId: delivery.installationId,
      repositoryId: delivery.repositoryId,
      ...(error === undefined ? {} : { error }),
      body: delivery.body,
      headers: delivery.headers,
    };
    this.deliveries.push(record);
    return record;
  }
}

/** A job's `runs-on` labels must all be among the runner's (case-insensitive; every self-hosted runner has `self-hosted`). */
export function labelsMatch(runner: Pick<SimRunner, "labels">, wanted: string[]): boolean {
  const have = new Set(runner.labels.map((l) => l.name.toLowerCase()));
  have.add("self-hosted");
  return wanted.every((label) => have.has(label.toLowerCase()));
}
