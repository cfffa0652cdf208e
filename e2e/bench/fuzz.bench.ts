import { defineBenchmark } from "@octorun/testkit";
import { fuzzAdmission, fuzzIngress } from "../src/fuzz.ts";
import { OctorunSystem } from "../src/system.ts";

export default defineBenchmark({
  name: "fuzz",
  description: "10,000 mutated webhook bodies at github-ingress and 10,000 mutated AdmissionReviews at the webhook",
  async run(report, { short }) {
    const count = short ? 1_000 : 10_000;
    const system = await new OctorunSystem({ kwokNodes: 1 }).start();
    try {
      for (const [target, fuzz] of [
        ["ingress", fuzzIngress],
        ["admission", fuzzAdmission],
      ] as const) {
        const result = await fuzz(system, count, 7);
        report.note(`${target}: ${JSON.stringify(result.statusCounts)}`);
        report.figure(`${target}_requests`, result.sent, "requests");
        report.figure(`${target}_wrong_answers`, result.wrong.length, "answers", "<= 0");
        report.figure(`${target}_alive`, result.alive ? 1 : 0, "bool", ">= 1");
        // Flat memory: no climb once warmed up (the first tenth of the requests grows the heap to its
        // working size; that is not a leak, so it is a figure of its own).
        const warmMb = result.rssSamplesMb[0] ?? result.rssBeforeMb;
        report.note(
          `${target}: RSS ${Math.round(result.rssBeforeMb)} MB idle, then by tenths ${result.rssSamplesMb.join(", ")} MB`,
        );
        report.figure(`${target}_rss_warmup_mb`, warmMb - result.rssBeforeMb, "MB");
        report.figure(`${target}_rss_growth_mb`, result.rssAfterMb - warmMb, "MB", "<= 50");
      }
    } finally {
      await system.stop();
    }
  },
});
