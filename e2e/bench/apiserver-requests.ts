// What the whole system asked of the apiserver during a measurement, from its own
// apiserver_request_total counter: tells which writes a figure is made of.
import type { ControlPlane } from "@octorun/testkit";

/** apiserver_request_total summed by verb and resource (`PATCH runners/status`, …). */
export async function apiserverRequests(cp: ControlPlane): Promise<Map<string, number>> {
  const out = await cp.kubectl(["get", "--raw", "/metrics"]);
  if (out.code !== 0) throw new Error(`could not read the apiserver's metrics: ${out.stderr}`);
  const totals = new Map<string, number>();
  for (const line of out.stdout.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const verb = /verb="([^"]*)"/.exec(line)?.[1];
    const resource = /resource="([^"]*)"/.exec(line)?.[1];
    const sub = /subresource="([^"]*)"/.exec(line)?.[1];
    const key = `${verb} ${resource}${sub ? `/${sub}` : ""}`;
    totals.set(key, (totals.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return totals;
}

/** The requests between two readings, per unit of work (per job, per runner), largest first. */
export function requestsPer(before: Map<string, number>, after: Map<string, number>, units: number): string {
  return [...after]
    .map(([key, total]) => [key, (total - (before.get(key) ?? 0)) / units] as const)
    .filter(([, perUnit]) => perUnit >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([key, perUnit]) => `${key} ${perUnit.toFixed(2)}`)
    .join(", ");
}
