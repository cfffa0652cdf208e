import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

export interface LoadRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface LoadTarget {
  /** `http://127.0.0.1:port` or `https://127.0.0.1:port` */
  baseUrl: string;
  /** CA for an https target. */
  ca?: string;
  /** Builds request number i (so each can be distinct, e.g. a new delivery id). */
  request: (i: number) => LoadRequest;
}

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  statusCounts: Record<string, number>;
  durationMs: number;
  perSecond: number;
  latenciesMs: number[];
  p50: number;
  p99: number;
}

/** The q-quantile (0..1) of a list of numbers (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

function sender(target: LoadTarget, sockets: number) {
  const url = new URL(target.baseUrl);
  const secure = url.protocol === "https:";
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, maxSockets: sockets, ca: target.ca })
    : new HttpAgent({ keepAlive: true, maxSockets: sockets });
  const send = (i: number): Promise<{ status: number; ms: number }> =>
    new Promise((resolve) => {
      const spec = target.request(i);
      const started = performance.now();
      const req = (secure ? httpsRequest : httpRequest)(
        {
          host: url.hostname,
          port: url.port,
          method: spec.method ?? "POST",
          path: spec.path,
          headers: spec.headers,
          agent,
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
        },
      );
      req.on("error", () => resolve({ status: 0, ms: performance.now() - started }));
      req.end(spec.body);
    });
  return { send, close: () => agent.destroy() };
}

function summarize(results: { status: number; ms: number }[], durationMs: number): LoadResult {
  const statusCounts: Record<string, number> = {};
  for (const r of results) statusCounts[r.status] = (statusCounts[r.status] ?? 0) + 1;
  const ok = results.filter((r) => r.status >= 200 && r.status < 300).length;
  const latenciesMs = results.map((r) => r.ms);
  return {
    sent: results.length,
    ok,
    failed: results.length - ok,
    statusCounts,
    durationMs,
    perSecond: (ok / durationMs) * 1000,
    latenciesMs,
    p50: quantile(latenciesMs, 0.5),
    p99: quantile(latenciesMs, 0.99),
  };
}

/** Open loop: offers `rate` requests per second for `seconds`, whatever the latency (no coordinated omission). */
export async function offerLoad(target: LoadTarget, rate: number, seconds: number, sockets = 64): Promise<LoadResult> {
  const { send, close } = sender(target, sockets);
  const total = Math.round(rate * seconds);
  const started = performance.now();
  const pending: Promise<{ status: number; ms: number }>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(send(i));
  }
  const results = await Promise.all(pending);
  close();
  return summarize(results, performance.now() - started);
}

/** Closed loop: `concurrency` clients send back to back for `seconds`; measures throughput. */
export async function maxThroughput(target: LoadTarget, seconds: number, concurrency = 32): Promise<LoadResult> {
  const { send, close } = sender(target, concurrency);
  const started = performance.now();
  const end = started + seconds * 1000;
  const results: { status: number; ms: number }[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) results.push(await send(next++));
    }),
  );
  close();
  return summarize(results, performance.now() - started);
}
