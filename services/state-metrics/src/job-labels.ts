// Pure functions over a job's runs-on labels: which Prometheus labels a waiting job is counted
// under (an allowlist of GitHub label names, sanitized as kube-state-metrics does), and which
// RunnerSets could take it.

import { type RunnerLabelOffer, type RunnerSet, runnerLabelOffer, runnerTakesJob } from "@octorun/api";
import { mapToPrometheusLabels } from "./label-names.ts";

/** Longer label values are cut, so that one odd runs-on label cannot blow up a series. */
export const MAX_LABEL_VALUE_LENGTH = 100;

/** The allowlisted GitHub label names (lower case) and the Prometheus label name of each. */
export interface JobLabelSchema {
  /** GitHub label name → Prometheus label name. */
  names: ReadonlyMap<string, string>;
  /** The Prometheus label names, in a fixed order. */
  labelNames: readonly string[];
}

export function jobLabelSchema(allowlist: readonly string[]): JobLabelSchema {
  const lower = [...new Set(allowlist.map((name) => name.toLowerCase()))];
  const promNames = mapToPrometheusLabels("label", Object.fromEntries(lower.map((name) => [name, name])), "*");
  const names = new Map(promNames.map(([promName, name]) => [name, promName]));
  return { names, labelNames: promNames.map(([promName]) => promName) };
}

/**
 * A runs-on label as name and value: `runnerset=linux` → [runnerset, linux]; a plain label such
 * as `self-hosted` → [self-hosted, "true"]. Names are lower case (GitHub labels ignore case).
 */
export function splitRunsOnLabel(label: string): [string, string] {
  const eq = label.indexOf("=");
  if (eq < 0) return [label.toLowerCase(), "true"];
  return [label.slice(0, eq).toLowerCase(), label.slice(eq + 1)];
}

/** The Prometheus labels a waiting job is counted under: one value per allowlisted name ("" when absent). */
export function jobLabelValues(schema: JobLabelSchema, runsOn: readonly string[]): string[] {
  const values = schema.labelNames.map(() => "");
  for (const label of runsOn) {
    const [name, value] = splitRunsOnLabel(label);
    const promName = schema.names.get(name);
    if (promName === undefined) continue;
    const index = schema.labelNames.indexOf(promName);
    values[index] = value.slice(0, MAX_LABEL_VALUE_LENGTH);
  }
  return values;
}

/** What a RunnerSet's runners offer a job: their GitHub labels and the GitHub scope they serve. */
export interface RunnerSetOffer {
  namespace: string;
  name: string;
  labels: RunnerLabelOffer;
  scope: Scope | undefined;
}

/** A runner URL's scope; jobs of other repositories or owners cannot run on it. */
export type Scope =
  | { kind: "repository"; fullName: string }
  | { kind: "organization"; owner: string }
  | { kind: "enterprise" };

/** The scope of a runner URL (`https://host/org`, `https://host/org/repo`, `https://host/enterprises/name`). */
export function scopeOf(url: string | undefined): Scope | undefined {
  if (!url) return undefined;
  let path: string[];
  try {
    path = new URL(url).pathname.split("/").filter((segment) => segment.length > 0);
  } catch {
    return undefined;
  }
  if (path[0] === "enterprises" && path.length === 2) return { kind: "enterprise" };
  if (path.length === 1) return { kind: "organization", owner: path[0]!.toLowerCase() };
  if (path.length === 2) return { kind: "repository", fullName: `${path[0]}/${path[1]}`.toLowerCase() };
  return undefined;
}

export function offerOf(set: RunnerSet): RunnerSetOffer {
  const template = set.spec?.template;
  return {
    namespace: set.metadata?.namespace ?? "",
    name: set.metadata?.name ?? "",
    labels: runnerLabelOffer(template),
    scope: scopeOf(template?.spec?.url),
  };
}

/**
 * Whether a RunnerSet's runners could take a job: they would by GitHub's label rule
 * (`runnerTakesJob`, the rule the controller registers runners by), and the job's repository is
 * in the runners' scope.
 */
export function offerAccepts(
  offer: RunnerSetOffer,
  job: { labels: readonly string[]; repository: string; owner: string },
): boolean {
  if (!offer.scope || !runnerTakesJob(offer.labels, job.labels)) return false;
  switch (offer.scope.kind) {
    case "enterprise":
      return true;
    case "organization":
      return offer.scope.owner === job.owner;
    case "repository":
      return offer.scope.fullName === job.repository;
  }
}
