// After a restart the durable consumer resumes after the last event it acknowledged, so the jobs
// that were still waiting for a runner would be forgotten. Before consuming, state-metrics reads
// the recent part of the stream that its consumer already handled (up to the consumer's ack
// floor, so that nothing is counted twice) and rebuilds which jobs wait.

import { type BusConnection, decodeJobEvent, JOB_STREAM, type JobEvent } from "@octorun/bus";
import { AckPolicy, DeliverPolicy, NatsError, nanos } from "nats";

/** The replay consumer's name: fixed, so that NATS permissions can name it exactly. */
export function replayConsumerName(durable: string): string {
  return `${durable}-replay`;
}

export interface ReplayOptions {
  bus: BusConnection;
  /** The durable consumer whose acknowledged events are replayed. */
  durable: string;
  /** Replay events stored since this time. */
  since: Date;
  apply: (event: JobEvent) => void;
  /** Messages per fetch. */
  batch?: number;
}

/** Replays the durable consumer's acknowledged events since `since`; returns how many were applied. */
export async function replayAcknowledged(options: ReplayOptions): Promise<number> {
  const { bus, durable, since, apply } = options;
  const jsm = await bus.jetstreamManager();
  let floor: number;
  try {
    floor = (await jsm.consumers.info(JOB_STREAM, durable)).ack_floor.stream_seq;
  } catch (error) {
    // No consumer yet: the first start reads the whole stream through it anyway.
    if (error instanceof NatsError && error.api_error?.err_code === 10014) return 0;
    throw error;
  }
  if (floor === 0) return 0;
  // A named, unacknowledged, short-lived consumer (removed below, or by the server when idle),
  // left over from a crash it is replaced.
  const name = replayConsumerName(durable);
  await jsm.consumers.delete(JOB_STREAM, name).catch(() => {});
  await jsm.consumers.add(JOB_STREAM, {
    name,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: since.toISOString(),
    inactive_threshold: nanos(60_000),
  });
  const consumer = await bus.jetstream().consumers.get(JOB_STREAM, name);
  let applied = 0;
  try {
    for (;;) {
      const batch = await consumer.fetch({ max_messages: options.batch ?? 500, expires: 2_000 });
      let seen = 0;
      for await (const msg of batch) {
        seen++;
        if (msg.seq > floor) return applied;
        try {
          apply(decodeJobEvent(msg.data));
          applied++;
        } catch {
          // An invalid event was terminated when the consumer first read it; skip it again.
        }
        if (msg.seq === floor || msg.info.pending === 0) return applied;
      }
      // An empty batch: nothing stored since `since`.
      if (seen === 0) return applied;
    }
  } finally {
    await jsm.consumers.delete(JOB_STREAM, name).catch(() => {});
  }
}
