import { JOB_STREAM, JOB_SUBJECTS } from "./subjects.ts";

/** Publish/subscribe allow-lists for a NATS user, as nats-server's `permissions` block takes them. */
export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
}

/**
 * A service's own prefix for reply subjects (nats.js `inboxPrefix`): its user may subscribe to
 * these replies only, so no other service can read the answers it gets (its JetStream API replies,
 * the messages its consumers pull).
 */
export function serviceInbox(service: string): string {
  return `_INBOX.${service}`;
}

/**
 * What a publisher of job events (github-ingress) needs, and all it gets: the job subjects, the
 * stream's info (is it there: readiness) and the acknowledgements of its stores in its own inbox.
 * It neither creates nor changes the stream (jobStreamManagerPermissions).
 */
export function jobPublisherPermissions(options: { service?: string } = {}): NatsPermissions {
  return {
    publish: [JOB_SUBJECTS, `$JS.API.STREAM.INFO.${JOB_STREAM}`],
    subscribe: [`${serviceInbox(options.service ?? "octorun-github-ingress")}.>`],
  };
}

/** What declaring the job stream needs (ensureJobStream): its info, creating it, updating its limits. */
export function jobStreamManagerPermissions(): NatsPermissions {
  return {
    publish: [
      "$JS.API.INFO",
      `$JS.API.STREAM.INFO.${JOB_STREAM}`,
      `$JS.API.STREAM.CREATE.${JOB_STREAM}`,
      `$JS.API.STREAM.UPDATE.${JOB_STREAM}`,
    ],
    subscribe: [],
  };
}

/**
 * What a reader through one durable consumer needs: declare and read that consumer, acknowledge its
 * messages; replies in the service's own inbox (by default the durable's name is the service's).
 */
export function jobConsumerPermissions(durable: string, service = durable): NatsPermissions {
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
    subscribe: [`${serviceInbox(service)}.>`],
  };
}

/** The allow-lists of several roles held by one user, each subject once. */
export function mergePermissions(...roles: NatsPermissions[]): NatsPermissions {
  return {
    publish: [...new Set(roles.flatMap((r) => r.publish))],
    subscribe: [...new Set(roles.flatMap((r) => r.subscribe))],
  };
}
