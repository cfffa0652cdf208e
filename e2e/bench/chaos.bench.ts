import { defineBenchmark } from "@octorun/testkit";
import { runChaos } from "../src/chaos.ts";

export default defineBenchmark({
  name: "chaos",
  description:
    "1,000 jobs through the whole system while controller, github-ingress and nats-server are each SIGKILLed at random moments",
  async run(report, { short }) {
    const result = await runChaos({
      jobs: short ? 60 : 1_000,
      runners: 8,
      jobDurationMs: 4_000,
      killsPerComponent: short ? 1 : 5,
      log: (line) => report.note(line),
    });
    report.note(`seed ${result.seed}; ${result.kills.length} kills; ${result.redeliveries} webhook redeliveries`);
    report.figure("jobs", result.jobs, "jobs");
    report.figure("jobs_completed", result.completedJobs, "jobs", `>= ${result.jobs}`);
    report.figure("job_events_lost", result.lostJobs.length, "jobs", "<= 0");
    report.figure("runners_moved_backwards", result.backwardRunners.length, "runners", "<= 0");
    report.figure("duration_s", result.durationMs / 1000, "s");
  },
});
