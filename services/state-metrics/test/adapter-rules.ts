// prometheus-adapter's rule semantics for one object metric, evaluated on an exposition text, for
// the tests that compare deploy/prometheus-adapter with the metrics API state-metrics serves
// (prometheus-adapter itself cannot be built here). The adapter expands the rule's metricsQuery
// for the object (<<.Series>>, <<.LabelMatchers>>, <<.GroupBy>>) and asks Prometheus; here the
// PromQL it yields is evaluated on the scrape. Only the shapes the rules use are understood —
// `agg by (labels) (series{matchers})`, joined by `+ on (labels)` — anything else throws, so a
// rule written differently makes the test say so rather than pass.

export interface AdapterRule {
  seriesQuery: string;
  name: { matches: string; as: string };
  metricsQuery: string;
  resources: { overrides: Record<string, { group?: string; resource: string }> };
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The value the adapter would serve for a RunnerSet, or undefined when it would answer NotFound. */
export function evaluateAdapterRule(
  rule: AdapterRule,
  exposition: string,
  namespace: string,
  runnerset: string,
): number | undefined {
  const samples = parseExposition(exposition);
  const discovered = selectSamples(samples, rule.seriesQuery.trim());
  const series = discovered[0]?.name ?? /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(rule.seriesQuery)?.[1] ?? "";
  if (!new RegExp(rule.name.matches).test(series)) throw new Error(`${rule.name.matches} does not match ${series}`);
  // The adapter only knows the objects its seriesQuery found.
  if (!discovered.some((s) => s.labels["namespace"] === namespace && s.labels["runnerset"] === runnerset)) {
    return undefined;
  }
  const promql = rule.metricsQuery
    .replaceAll("<<.Series>>", series)
    .replaceAll("<<.LabelMatchers>>", `namespace="${namespace}",runnerset="${runnerset}"`)
    .replaceAll("<<.GroupBy>>", "namespace,runnerset")
    .replace(/\s+/g, " ")
    .trim();
  const result = evaluate(promql, samples);
  if (result.size > 1) throw new Error(`${promql} gives ${result.size} series for one object`);
  return [...result.values()][0];
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const m of (match[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[4]) });
  }
  return samples;
}

/** `name{a="x",b!=""}`: the samples it selects. */
function selectSamples(samples: Sample[], selector: string): Sample[] {
  const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{([^}]*)\})?$/.exec(selector.trim());
  if (!match) throw new Error(`unsupported series selector: ${selector}`);
  const matchers = (match[2] ?? "")
    .split(",")
    .filter((m) => m.trim() !== "")
    .map((m) => {
      const parts = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=|!=)\s*"([^"]*)"\s*$/.exec(m);
      if (!parts) throw new Error(`unsupported matcher: ${m}`);
      return { label: parts[1]!, equal: parts[2] === "=", value: parts[3]! };
    });
  return samples.filter(
    (s) => s.name === match[1] && matchers.every((m) => ((s.labels[m.label] ?? "") === m.value) === m.equal),
  );
}

/** Evaluates `agg by (g) (selector) [+ on (g) agg by (g) (selector)]…` into values by group. */
function evaluate(promql: string, samples: Sample[]): Map<string, number> {
  const terms = promql.split(/\s\+\son\s*\(([^)]*)\)\s/);
  let result: Map<string, number> | undefined;
  for (let i = 0; i < terms.length; i += 2) {
    const term = /^(max|min|sum) by \(([^)]*)\) \((.*)\)$/.exec(terms[i]!.trim());
    if (!term) throw new Error(`unsupported PromQL term: ${terms[i]} (in ${promql})`);
    const groupBy = term[2]!.split(",").map((l) => l.trim());
    const values = new Map<string, number>();
    for (const sample of selectSamples(samples, term[3]!)) {
      const key = JSON.stringify(groupBy.map((l) => sample.labels[l] ?? ""));
      const old = values.get(key);
      values.set(key, old === undefined ? sample.value : aggregate(term[1]!, old, sample.value));
    }
    if (result === undefined) {
      result = values;
      continue;
    }
    const on = terms[i - 1]!.split(",").map((l) => l.trim());
    if (JSON.stringify(on) !== JSON.stringify(groupBy)) throw new Error(`on (${on}) differs from by (${groupBy})`);
    const joined = new Map<string, number>();
    for (const [key, value] of result) {
      const other = values.get(key);
      if (other !== undefined) joined.set(key, value + other);
    }
    result = joined;
  }
  return result ?? new Map();
}

function aggregate(op: string, a: number, b: number): number {
  if (op === "max") return Math.max(a, b);
  if (op === "min") return Math.min(a, b);
  return a + b;
}
