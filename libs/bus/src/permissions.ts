import { JOB_STREAM, JOB_SUBJECTS } from "./subjects.ts";

/** Publish/subscribe allow-lists for a NATS user, as nats-server's `permissions` block takes them. */
export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
}

/**
 * What a publisher of job events (github-ingress) needs: the job subjects, reading the stream's
 * info and, when it declares the stream, creating and updating it. Nothing else.
 */
export function jobPublisherPermissions(options: { manageStream?: boolean } = {}): NatsPermissions {
  return {
    publish: [
      JOB_SUBJECTS,
      "$JS.API.INFO",
      `$JS.API.STREAM.INFO.${JOB_STREAM}`,
      ...(options.manageStream === false
        ? []
        : [`$JS.API.STREAM.CREATE.${JOB_STREAM}`, `$JS.API.STREAM.UPDATE.${JOB_STREAM}`]),
    ],
    subscribe: ["_INBOX.>"],
  };
}

/** What a reader through one durable consumer needs: declare and read that consumer, acknowledge its messages. */
export function jobConsumerPermissions(durable: string): NatsPermissions {
  return {
    publish: [
      "$JS.API.INFO",
      `$JS.API.STREAM.INFO.${JOB_STREAM}`,
      `$JS.API.CONSUMER.INFO.${JOB_STREAM}.${durable}`,
      `$JS.API.CONSUMER.CREATE.${JOB_STREAM}.${durable}`,
      `$JS.API.CONSUMER.CREATE.${JOB_STREAM}.${durable}.>`,
      `$JS.API.CONSUMER.DURABLE.CREATE.${JOB_STREAM}.${durable}`,
      `$JS.API.CONSUMER.MSG.NEXT.${JOB_STREAM}.${durable}`,
      `$JS.ACK.${JOB_STREAM}.${durable}.>`,
    ],
    subscribe: ["_INBOX.>"],
  };
}
