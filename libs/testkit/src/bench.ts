import { appendFileSync } from "node:fs";

/** One measured figure of a benchmark, with its goal (for example "<= 1.5" or ">= 0.75"). */
export interface Figure {
  bench: string;
  figure: string;
  value: number;
  unit: string;
  goal?: string;
}

export interface BenchReport {
  /** Records a figure; figure names are fixed by the issues that define each benchmark. */
  figure(figure: string, value: number, unit: string, goal?: string): void;
  /** A line of context printed with the results (what was measured, on what). */
  note(text: string): void;
}

export interface Benchmark {
  name: string;
  description: string;
  /** Whether a short variant exists for `npm test` (full runs belong to `npm run bench`). */
  run(report: BenchReport, options: { short: boolean }): Promise<void>;
}

export function defineBenchmark(benchmark: Benchmark): Benchmark {
  return benchmark;
}

/** Whether a value meets a goal written as "<= N", ">= N", "< N" or "> N". */
export function meetsGoal(value: number, goal: string | undefined): boolean | undefined {
  if (!goal) return undefined;
  const match = /^\s*(<=|>=|<|>)\s*(-?[\d.]+)\s*$/.exec(goal);
  if (!match) return undefined;
  const target = Number(match[2]);
  switch (match[1]) {
    case "<=":
      return value <= target;
    case ">=":
      return value >= target;
    case "<":
      return value < target;
    default:
      return value > target;
  }
}

/** Collects figures; prints them as a table and appends them to BENCH_JSON when that is set. */
export class BenchCollector {
  readonly figures: Figure[] = [];
  readonly notes: string[] = [];

  reportFor(bench: string): BenchReport {
    return {
      figure: (figure, value, unit, goal) => {
        const entry: Figure = { bench, figure, value, unit, ...(goal ? { goal } : {}) };
        this.figures.push(entry);
        const file = process.env.BENCH_JSON;
        if (file) appendFileSync(file, `${JSON.stringify(entry)}\n`);
        process.stderr.write(`[bench ${bench}] ${figure} = ${format(value)} ${unit}${goal ? ` (goal ${goal})` : ""}\n`);
      },
      note: (text) => {
        this.notes.push(`${bench}: ${text}`);
        process.stderr.write(`[bench ${bench}] ${text}\n`);
      },
    };
  }

  table(): string {
    const rows = [["bench", "figure", "value", "unit", "goal", "met"]];
    for (const f of this.figures) {
      const met = meetsGoal(f.value, f.goal);
      rows.push([
        f.bench,
        f.figure,
        format(f.value),
        f.unit,
        f.goal ?? "",
        met === undefined ? "" : met ? "yes" : "NO",
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
    const separator = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
    return [line(rows[0]!), separator, ...rows.slice(1).map(line)].join("\n");
  }
}

function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 1 ? value.toFixed(2) : value.toFixed(3);
}

/** A ratio taken from several alternating trials: the median decides, the spread is told. */
export interface TrialRatio {
  median: number;
  min: number;
  max: number;
  values: number[];
}

/** The median, min and max of per-trial ratios (each trial: octorun's value over the floor's beside it). */
export function trialRatio(values: readonly number[]): TrialRatio {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, values: [] };
  const sorted = [...values].sort((a, b) => a - b);
  // The lower middle for an even count: nearest rank, as the other quantiles here.
  const median = sorted[Math.ceil(sorted.length / 2) - 1]!;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, values: [...values] };
}

/** "median 1.21 (min 1.10, max 1.40) over 3 alternating trials: 1.21, 1.10, 1.40" for a note. */
export function describeTrials(ratio: TrialRatio): string {
  const f = (v: number) => v.toFixed(2);
  return `median ${f(ratio.median)} (min ${f(ratio.min)}, max ${f(ratio.max)}) over ${ratio.values.length} alternating trial(s): ${ratio.values.map(f).join(", ")}`;
}
