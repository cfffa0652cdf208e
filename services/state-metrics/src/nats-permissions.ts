import { JOB_STREAM, jobConsumerPermissions, type NatsPermissions } from "@octorun/bus";
import { replayConsumerName } from "./job-replay.ts";

/**
 * What state-metrics needs on NATS: its durable consumer, and one named short-lived consumer to
 * replay the acknowledged part of the job stream after a restart. Nothing of another service's
 * consumers, no publishing to the job subjects.
 */
export function stateMetricsNatsPermissions(durable: string): NatsPermissions {
  const consumer = jobConsumerPermissions(durable, "octorun-state-metrics");
  const replay = replayConsumerName(durable);
  return {
    publish: [
      ...consumer.publish,
      `$JS.API.CONSUMER.CREATE.${JOB_STREAM}.${replay}`,
      `$JS.API.CONSUMER.MSG.NEXT.${JOB_STREAM}.${replay}`,
      `$JS.API.CONSUMER.DELETE.${JOB_STREAM}.${replay}`,
      `$JS.API.CONSUMER.INFO.${JOB_STREAM}.${replay}`,
    ],
    subscribe: consumer.subscribe,
  };
}
