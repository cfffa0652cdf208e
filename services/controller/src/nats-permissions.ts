import {
  jobConsumerPermissions,
  jobStreamManagerPermissions,
  mergePermissions,
  type NatsPermissions,
} from "@octorun/bus";

/**
 * What the controller needs on NATS: its durable consumer of the job stream, and declaring the
 * stream (JOB_STREAM_MANAGE, as deploy/ runs it: github-ingress may only publish).
 */
export function controllerNatsPermissions(durable: string): NatsPermissions {
  return mergePermissions(jobConsumerPermissions(durable, "octorun-controller"), jobStreamManagerPermissions());
}
