// Mutated input at the two services that face the outside: signed-but-broken and unsigned
// webhook bodies at github-ingress, broken AdmissionReviews at the admission webhook. Every
// mutation is built to be invalid, so the only right answers are 4xx (or, for a well-formed
// review of a broken object, an AdmissionReview that denies it). The processes must survive and
// their memory must stay flat. Short variant in e2e/test/fuzz.test.ts, full one in the benchmark.
import { readFileSync } from "node:fs";
import { request as httpRequest, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { ENDPOINTS } from "@octorun/admission-webhook";
import { signWebhookBody, webhookExamples } from "@octorun/testkit";
import { random } from "./chaos.ts";
import { type OctorunSystem, WEBHOOK_SECRET } from "./system.ts";

export interface FuzzResult {
  sent: number;
  statusCounts: Record<string, number>;
  /** Answers outside what the mutation calls for (5xx, 2xx, no answer), with an example each. */
  wrong: { status: number; mutation: string }[];
  rssBeforeMb: number;
  /** RSS after each tenth of the requests: the first is the warmed-up size, a leak shows as a climb after it. */
  rssSamplesMb: number[];
  rssAfterMb: number;
  alive: boolean;
}

export function rssMb(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** An invalid delivery and the answers it may get (0: the connection closed after an early answer). */
type Mutation = { name: string; body: Buffer; headers: Record<string, string>; expect: number[] };

// What a job event needs from workflow_job (the action comes from the top level, not `status`).
const REQUIRED_JOB_FIELDS = ["id", "run_id", "labels"] as const;

/** One invalid webhook delivery, chosen and built from the PRNG. */
export function mutateWebhook(rand: () => number, i: number): Mutation {
  const examples = webhookExamples("workflow_job");
  const payload = examples[Math.floor(rand() * examples.length)]!.payload;
  const job = payload.workflow_job as Record<string, unknown>;
  const headers = (body: Buffer, extra: Record<string, string> = {}) => ({
    "content-type": "application/json",
    "x-github-event": "workflow_job",
    "x-github-delivery": `fuzz-${i}`,
    "x-hub-signature-256": signWebhookBody(WEBHOOK_SECRET, body),
    ...extra,
  });
  const kind = Math.floor(rand() * 8);
  switch (kind) {
    case 0: {
      const text = Buffer.from(JSON.stringify(payload));
      const body = text.subarray(0, Math.floor(rand() * (text.length - 1)));
      return { name: "truncated JSON, signed", body, headers: headers(body), expect: [400] };
    }
    case 1: {
      const field = REQUIRED_JOB_FIELDS[Math.floor(rand() * REQUIRED_JOB_FIELDS.length)]!;
      delete job[field];
      const body = Buffer.from(JSON.stringify(payload));
      return { name: `workflow_job.${field} missing, signed`, body, headers: headers(body), expect: [422] };
    }
    case 2: {
      const field = REQUIRED_JOB_FIELDS[Math.floor(rand() * REQUIRED_JOB_FIELDS.length)]!;
      job[field] = field === "labels" ? "not-a-list" : { nested: [rand()] };
      const body = Buffer.from(JSON.stringify(payload));
      return { name: `workflow_job.${field} of the wrong type, signed`, body, headers: headers(body), expect: [422] };
    }
    case 3: {
      const text = JSON.stringify(payload);
      const at = Math.floor(rand() * text.length);
      const body = Buffer.from(`${text.slice(0, at)}\u0000{[${text.slice(at)}`);
      return { name: "garbage inside the JSON, signed", body, headers: headers(body), expect: [400] };
    }
    case 4: {
      const body = Buffer.from(JSON.stringify(payload));
      const signature = headers(body)["x-hub-signature-256"];
      const flipAt = 7 + Math.floor(rand() * 64);
      const flipped =
        signature.slice(0, flipAt) + (signature[flipAt] === "0" ? "1" : "0") + signature.slice(flipAt + 1);
      return {
        name: "one bit of the signature wrong",
        body,
        headers: headers(body, { "x-hub-signature-256": flipped }),
        expect: [401],
      };
    }
    case 5: {
      const body = Buffer.from(JSON.stringify(payload));
      const { "x-github-delivery": _drop, ...rest } = headers(body);
      return { name: "no delivery id", body, headers: rest, expect: [400] };
    }
    case 6: {
      const body = Buffer.from(`payload=${encodeURIComponent(JSON.stringify(payload))}`);
      return {
        name: "form-encoded",
        body,
        headers: headers(body, { "content-type": "application/x-www-form-urlencoded" }),
        expect: [415],
      };
    }
    default: {
      const body = Buffer.alloc(1_100_000 + Math.floor(rand() * 100_000), "x");
      return { name: "over the size limit", body, headers: headers(body), expect: [413, 0] };
    }
  }
}

/** One broken AdmissionReview (or a well-formed review of a broken object). */
type Expectation = (status: number, allowed: boolean | undefined) => boolean;
const clientError: Expectation = (status) => status >= 400 && status < 500;
const denied: Expectation = (status, allowed) => status === 200 && allowed === false;

export function mutateReview(
  rand: () => number,
  i: number,
): { name: string; path: string; body: string; expect: Expectation } {
  const endpoint = ENDPOINTS[Math.floor(rand() * ENDPOINTS.length)]!;
  const object = {
    apiVersion: "octorun.github.io/v1alpha2",
    kind: endpoint.kind,
    metadata: { name: `fuzz-${i}`, namespace: "default" },
    spec:
      endpoint.kind === "Runner"
        ? { url: "https://github.com/octo-org", image: { name: "runner" } }
        : {
            selector: { matchLabels: { "octorun.github.io/runnerset": "a" } },
            template: {
              metadata: { labels: { "octorun.github.io/runnerset": "a" } },
              spec: { url: "https://github.com/o" },
            },
          },
  } as Record<string, unknown>;
  const review = {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
      kind: { group: "octorun.github.io", version: "v1alpha2", kind: endpoint.kind },
      resource: { group: "octorun.github.io", version: "v1alpha2", resource: `${endpoint.kind.toLowerCase()}s` },
      operation: "CREATE",
      userInfo: { username: "fuzzer" },
      object,
    },
  } as Record<string, unknown>;
  const req = review.request as Record<string, unknown>;
  const spec = object.spec as Record<string, unknown>;
  const kind = Math.floor(rand() * 7);
  switch (kind) {
    case 0:
      return {
        name: "truncated review",
        path: endpoint.path,
        body: JSON.stringify(review).slice(0, Math.floor(rand() * 200)),
        expect: clientError,
      };
    case 1:
      delete review.request;
      return { name: "no request", path: endpoint.path, body: JSON.stringify(review), expect: clientError };
    case 2:
      review.apiVersion = "admission.k8s.io/v1beta1";
      return {
        name: "unsupported AdmissionReview version",
        path: endpoint.path,
        body: JSON.stringify(review),
        expect: clientError,
      };
    case 3:
      (req.kind as Record<string, string>).kind = "Pod";
      return {
        name: "a kind the endpoint does not review",
        path: endpoint.path,
        body: JSON.stringify(review),
        expect: (status, allowed) => clientError(status, allowed) || denied(status, allowed),
      };
    case 4:
      // Types and enums are the apiserver's structural schema's to refuse; URL meaning is the webhook's.
      {
        const url = ["ftp://nowhere", "https://example.com/octo-org", "https://github.com/a/b/c/d", "not a url"][
          Math.floor(rand() * 4)
        ];
        if (endpoint.kind === "Runner") spec.url = url;
        else ((spec.template as Record<string, Record<string, unknown>>).spec as Record<string, unknown>).url = url;
      }
      // A mutating endpoint defaults and allows; refusing is the validating endpoint's job.
      return {
        name: "invalid url",
        path: endpoint.path,
        body: JSON.stringify(review),
        expect: objectExpectation(endpoint.mode),
      };
    case 5:
      // A Runner's id is the controller's to set; a RunnerSet's selector must match its template.
      if (endpoint.kind === "Runner") spec.id = 12345;
      else (spec.selector as Record<string, unknown>).matchLabels = { "octorun.github.io/runnerset": "other" };
      return {
        name: "invalid field value",
        path: endpoint.path,
        body: JSON.stringify(review),
        expect: objectExpectation(endpoint.mode),
      };
    default:
      return { name: "not JSON", path: endpoint.path, body: `<review>${rand()}</review>`, expect: clientError };
  }
}

function objectExpectation(mode: string): Expectation {
  return mode === "validate" ? denied : (status) => status === 200;
}

/** One fuzzed request's answer: how it is counted, and whether it was the right one. */
type Verdict = { key: string; right: boolean; mutation: string; status: number };

/** Sends `count` requests 16 at a time and keeps the tally, the wrong answers and the process's RSS. */
async function fuzzService(
  pid: () => number | undefined,
  count: number,
  send: (i: number) => Promise<Verdict>,
): Promise<FuzzResult> {
  const rssBeforeMb = rssMb(pid());
  const rssSamplesMb: number[] = [];
  const sampleEvery = Math.max(1, Math.floor(count / 10));
  let answered = 0;
  const statusCounts: Record<string, number> = {};
  const wrong: FuzzResult["wrong"] = [];
  await inParallel(count, 16, async (i) => {
    const verdict = await send(i);
    statusCounts[verdict.key] = (statusCounts[verdict.key] ?? 0) + 1;
    if (!verdict.right && wrong.length < 20) wrong.push({ status: verdict.status, mutation: verdict.mutation });
    if (++answered % sampleEvery === 0) rssSamplesMb.push(Math.round(rssMb(pid())));
  });
  return {
    sent: count,
    statusCounts,
    wrong,
    rssBeforeMb,
    rssSamplesMb,
    rssAfterMb: rssMb(pid()),
    alive: isAlive(pid()!),
  };
}

export function fuzzIngress(system: OctorunSystem, count: number, seed: number): Promise<FuzzResult> {
  const service = system.services.get("github-ingress")!;
  const rand = random(seed);
  return fuzzService(service.pid, count, async (i) => {
    const mutation = mutateWebhook(rand, i);
    const { status } = await post(
      httpRequest,
      { host: "127.0.0.1", port: service.ports.webhook, path: "/api/github/webhooks", headers: mutation.headers },
      mutation.body,
    );
    return { key: String(status), right: mutation.expect.includes(status), mutation: mutation.name, status };
  });
}

export function fuzzAdmission(system: OctorunSystem, count: number, seed: number): Promise<FuzzResult> {
  const service = system.services.get("admission-webhook")!;
  const rand = random(seed);
  return fuzzService(service.pid, count, async (i) => {
    const mutation = mutateReview(rand, i);
    const answer = await post(
      httpsRequest,
      {
        host: "127.0.0.1",
        port: service.ports.webhook,
        path: mutation.path,
        ca: system.cp.ca.cert,
        headers: { "content-type": "application/json" },
      },
      mutation.body,
    );
    let allowed: boolean | undefined;
    try {
      allowed = JSON.parse(answer.text)?.response?.allowed;
    } catch {
      allowed = undefined;
    }
    return {
      key: answer.status === 200 ? `200 allowed=${allowed}` : String(answer.status),
      right: mutation.expect(answer.status, allowed),
      mutation: `${mutation.name} at ${mutation.path} (allowed=${allowed})`,
      status: answer.status,
    };
  });
}

async function inParallel(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

function isAlive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
}

function post(
  send: typeof httpRequest | typeof httpsRequest,
  options: RequestOptions & { ca?: string },
  body: Buffer | string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const req = send({ ...options, method: "POST" }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      res.on("error", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", () => resolve({ status: 0, text: "" }));
    req.end(body);
  });
}
