import { defineBenchmark } from "@octorun/testkit";
import { runChaos } from "../src/chaos.ts";

export default defineBenchmark({
  name: "chaos",
  description:
    "1,000 jobs through the whole system while controller, github-ingress and nats-server are each SIGKILLed at random moments; again with a three-node NATS cluster",
  async run(report, { short }) {
    // The same run against one nats-server, then against a three-node cluster (stream replicated
    // three ways, one node killed at a time); figures of the second are prefixed `cluster_`.
    for (const natsNodes of [1, 3]) {
      const prefix = natsNodes > 1 ? "cluster_" : "";
      const result = await runChaos({
        jobs: short ? 60 : 1_000,
        runners: 16,
        jobDurationMs: 4_000,
        killsPerComponent: short ? 1 : 5,
        natsNodes,
        log: (line) => report.note(`${prefix}${line}`),
      });
      report.note(
        `${prefix}seed ${result.seed}; ${result.kills.length} kills; ${result.redeliveries} webhook redeliveries`,
      );
      for (const line of result.lostJobDiagnoses) report.note(`${prefix}lost ${line}`);
      report.figure(`${prefix}jobs`, result.jobs, "jobs");
      report.figure(`${prefix}jobs_completed`, result.completedJobs, "jobs", `>= ${result.jobs}`);
      report.figure(`${prefix}job_events_lost`, result.lostJobs.length, "jobs", "<= 0");
      report.figure(`${prefix}runners_moved_backwards`, result.backwardRunners.length, "runners", "<= 0");
      report.figure(`${prefix}duration_s`, result.durationMs / 1000, "s");
    }
  },
});
