// Turning free-form label names (Kubernetes metadata labels, GitHub runner labels) into
// Prometheus label names the way kube-state-metrics does: `<prefix>_<sanitized snake case>`,
// names that collide after sanitizing get a `_conflictN` suffix, and only allowlisted names
// are exported (`*` allows every name).

import type { Labels } from "./exposition.ts";

const invalidLabelChar = /[^a-zA-Z0-9_]/g;
const lowerThenUpper = /([a-z0-9])([A-Z])/g;

/** `app.kubernetes.io/name` → `label_app_kubernetes_io_name`; `runsOn` → `label_runs_on`. */
export function prometheusLabelName(prefix: string, name: string): string {
  return `${prefix}_${name.replace(invalidLabelChar, "_").replace(lowerThenUpper, "$1_$2").toLowerCase()}`;
}

/** Which names to export: every name (`*`) or the listed ones. */
export type LabelAllowlist = "*" | ReadonlySet<string>;

/** Parses an allowlist setting: `*`, or names separated by commas. */
export function parseAllowlist(names: readonly string[]): LabelAllowlist {
  if (names.includes("*")) return "*";
  return new Set(names);
}

export function isAllowed(allowlist: LabelAllowlist, name: string): boolean {
  return allowlist === "*" || allowlist.has(name);
}

/**
 * A map of labels as Prometheus label pairs, sorted by original name; names that sanitize to the
 * same Prometheus name are all renamed `<name>_conflict1`, `<name>_conflict2`, … in that order.
 */
export function mapToPrometheusLabels(
  prefix: string,
  map: Readonly<Record<string, string>> | undefined,
  allowlist: LabelAllowlist,
): Labels {
  if (!map) return [];
  const names = Object.keys(map)
    .filter((name) => isAllowed(allowlist, name))
    .sort();
  const out: [string, string][] = [];
  const conflicts = new Map<string, { count: number; first: number }>();
  for (const name of names) {
    let labelName = prometheusLabelName(prefix, name);
    const conflict = conflicts.get(labelName);
    if (conflict) {
      if (conflict.count === 1) out[conflict.first]![0] = `${labelName}_conflict1`;
      conflict.count++;
      labelName = `${labelName}_conflict${conflict.count}`;
    } else {
      conflicts.set(labelName, { count: 1, first: out.length });
    }
    out.push([labelName, map[name] ?? ""]);
  }
  return out;
}
