import { type JetStreamClient, NatsError } from "nats";
import { BusConfigurationError, BusUnavailableError } from "./errors.ts";
import { encodeJobEvent, type JobEvent } from "./job-event.ts";
import { JOB_STREAM, jobSubject } from "./subjects.ts";

export interface PublishedJobEvent {
  subject: string;
  seq: number;
  /** The stream already held a message with this delivery id (a redelivered webhook). */
  duplicate: boolean;
}

/**
 * Stores a job event: checked against the schema (InvalidJobEventError), published on
 * `octorun.jobs.<action>` with the delivery id as JetStream message id, and resolved only once
 * JetStream acknowledged the store. No answer in time or no connection → BusUnavailableError.
 */
export async function publishJobEvent(
  js: JetStreamClient,
  event: JobEvent,
  options: { timeoutMs?: number } = {},
): Promise<PublishedJobEvent> {
  const data = encodeJobEvent(event);
  const subject = jobSubject(event.action);
  try {
    const ack = await js.publish(subject, data, {
      msgID: event.deliveryId,
      timeout: options.timeoutMs ?? 5_000,
      // Fails instead of storing into some other stream that happens to bind the subject.
      expect: { streamName: JOB_STREAM },
    });
    return { subject, seq: ack.seq, duplicate: ack.duplicate };
  } catch (error) {
    throw classifyPublishError(error, subject);
  }
}

function classifyPublishError(error: unknown, subject: string): Error {
  const message = (error as Error).message ?? String(error);
  if (error instanceof NatsError && error.isPermissionError())
    return new BusConfigurationError(`not allowed to publish to ${subject}: ${message}`, { cause: error });
  if (/expected stream/i.test(message))
    return new BusConfigurationError(`${subject} is not bound to the stream ${JOB_STREAM}: ${message}`, {
      cause: error,
    });
  // Timeouts, no responders (no stream or JetStream down), disconnections: the event may not be stored.
  return new BusUnavailableError(`JetStream did not acknowledge the event on ${subject}: ${message}`, { cause: error });
}
