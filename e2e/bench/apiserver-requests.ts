// What the whole system asked of the apiserver during a measurement, from its own
// apiserver_request_total counter and apiserver_request_duration_seconds histogram: which writes a
// figure is made of, and how long the apiserver took over them.
import type { ControlPlane } from "@octorun/testkit";

/** Totals by verb and resource (`PATCH runners/status`, …): requests, and seconds spent on them. */
export interface ApiserverReading {
  count: Map<string, number>;
  seconds: Map<string, number>;
}

export async function apiserverRequests(cp: ControlPlane): Promise<ApiserverReading> {
  const out = await cp.kubectl(["get", "--raw", "/metrics"]);
  if (out.code !== 0) throw new Error(`could not read the apiserver's metrics: ${out.stderr}`);
  const reading: ApiserverReading = { count: new Map(), seconds: new Map() };
  const add = (totals: Map<string, number>, line: string) => {
    const verb = /verb="([^"]*)"/.exec(line)?.[1];
    const resource = /resource="([^"]*)"/.exec(line)?.[1];
    const sub = /subresource="([^"]*)"/.exec(line)?.[1];
    const key = `${verb} ${resource}${sub ? `/${sub}` : ""}`;
    totals.set(key, (totals.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  };
  for (const line of out.stdout.split("\n")) {
    if (line.startsWith("apiserver_request_total{")) add(reading.count, line);
    else if (line.startsWith("apiserver_request_duration_seconds_sum{")) add(reading.seconds, line);
  }
  return reading;
}

/** The requests between two readings, per unit of work (per job, per runner), largest first. */
export function requestsPer(before: ApiserverReading, after: ApiserverReading, units: number): string {
  return [...after.count]
    .map(([key, total]) => [key, (total - (before.count.get(key) ?? 0)) / units] as const)
    .filter(([, perUnit]) => perUnit >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([key, perUnit]) => `${key} ${perUnit.toFixed(2)}`)
    .join(", ");
}

/** The apiserver's mean time per request between two readings, for the writes made at least `least` times. */
export function meanLatencies(before: ApiserverReading, after: ApiserverReading, least: number): string {
  return [...after.count]
    .filter(([key]) => !key.startsWith("WATCH") && !key.startsWith("GET") && !key.startsWith("LIST"))
    .map(([key, total]) => {
      const count = total - (before.count.get(key) ?? 0);
      const seconds = (after.seconds.get(key) ?? 0) - (before.seconds.get(key) ?? 0);
      return [key, count, count > 0 ? (seconds * 1000) / count : 0] as const;
    })
    .filter(([, count]) => count >= least)
    .sort((a, b) => b[1] - a[1])
    .map(([key, , ms]) => `${key} ${ms.toFixed(0)} ms`)
    .join(", ");
}
