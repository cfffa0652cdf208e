import { JOB_STREAM, jobConsumerPermissions, type NatsPermissions } from "@octorun/bus";

/**
 * What state-metrics needs on NATS: its durable consumer, and short-lived ordered consumers to
 * replay the acknowledged part of the job stream after a restart (their names are generated,
 * hence the one-token wildcard). No publishing to the job subjects.
 */
export function stateMetricsNatsPermissions(durable: string): NatsPermissions {
  const consumer = jobConsumerPermissions(durable);
  return {
    publish: [
      ...consumer.publish,
      `$JS.API.CONSUMER.CREATE.${JOB_STREAM}.*`,
      `$JS.API.CONSUMER.MSG.NEXT.${JOB_STREAM}.*`,
      `$JS.API.CONSUMER.DELETE.${JOB_STREAM}.*`,
      `$JS.API.CONSUMER.INFO.${JOB_STREAM}.*`,
    ],
    subscribe: consumer.subscribe,
  };
}
