// Whether a running pull consumer has stopped receiving: events wait in the stream for it, it has
// room to take them, and yet nothing arrived between two checks. nats.js re-pulls after missed
// heartbeats and after a reconnect, but a pull request the servers lost (a consumer's raft leader
// moving when a node dies) can leave it waiting with nothing on the way; pulling again fixes that.

/** What one check saw. */
export interface DeliverySample {
  /** Messages the client has received so far (a running count). */
  received: number;
  /** Messages the consumer has not delivered yet (`num_pending`). */
  undelivered: number;
  /** Messages delivered and not acknowledged (`num_ack_pending`). */
  ackPending: number;
  /** The consumer's `max_ack_pending`: the servers deliver nothing more while it is reached. */
  maxAckPending: number;
  /** Paused on purpose (nats-server 2.11 consumer pause): waiting is expected. */
  paused: boolean;
}

/** True when events waited at both checks and none was received in between, though there was room. */
export function deliveryStalled(previous: DeliverySample | undefined, current: DeliverySample): boolean {
  if (!previous || current.paused) return false;
  const waitedThroughout = previous.undelivered > 0 && current.undelivered > 0;
  const nothingReceived = current.received === previous.received;
  const room = current.maxAckPending <= 0 || current.ackPending < current.maxAckPending;
  return waitedThroughout && nothingReceived && room;
}

/** Delay before consuming again after the consumption ended: 0.1 s doubling to 30 s. */
export function reconsumeDelayMs(attempt: number): number {
  return Math.min(30_000, 100 * 2 ** Math.min(attempt, 9));
}
