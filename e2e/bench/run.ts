// `npm run bench [name…]`: runs the named benchmarks (all when none is named), one after another,
// and prints one table of every figure with its goal. BENCH_JSON=<file> appends one JSON line per
// figure. Each benchmark is a file `<name>.bench.ts` beside this one.
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BenchCollector, type Benchmark } from "@octorun/testkit";

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((file) => file.endsWith(".bench.ts"))
  .map((file) => file.replace(/\.bench\.ts$/, ""))
  .sort();
const args = process.argv.slice(2);
const short = args.includes("--short");
const requested = args.filter((a) => !a.startsWith("--"));
const unknown = requested.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(", ")}; available: ${available.join(", ") || "none"}\n`);
  process.exit(2);
}
const names = requested.length > 0 ? requested : available;
const collector = new BenchCollector();
let failures = 0;
for (const name of names) {
  const { default: benchmark } = (await import(join(here, `${name}.bench.ts`))) as { default: Benchmark };
  process.stderr.write(`\n=== ${name}: ${benchmark.description}\n`);
  const started = performance.now();
  try {
    await benchmark.run(collector.reportFor(name), { short });
  } catch (error) {
    failures++;
    process.stderr.write(`benchmark ${name} failed: ${(error as Error).stack}\n`);
  }
  process.stderr.write(`=== ${name} took ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
process.stdout.write(`\n${collector.table()}\n`);
if (collector.notes.length > 0) process.stdout.write(`\n${collector.notes.map((n) => `- ${n}`).join("\n")}\n`);
process.exit(failures > 0 ? 1 : 0);
