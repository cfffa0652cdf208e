import { Counter, Histogram, type Registry } from "prom-client";

/** The ingress's metrics, on the process's one registry. */
export class IngressMetrics {
  readonly deliveries: Counter<"event" | "action" | "result">;
  readonly publishSeconds: Histogram<"result">;
  readonly signatureFailures: Counter<"reason">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.deliveries = new Counter({
      name: "octorun_ingress_deliveries_total",
      help: "Webhook deliveries answered, by GitHub event, workflow_job action and result",
      labelNames: ["event", "action", "result"],
      registers,
    });
    this.publishSeconds = new Histogram({
      name: "octorun_ingress_publish_duration_seconds",
      help: "Time from publishing a job event to JetStream's acknowledgement of the store",
      labelNames: ["result"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.signatureFailures = new Counter({
      name: "octorun_ingress_signature_failures_total",
      help: "Deliveries refused because X-Hub-Signature-256 was missing, malformed or did not match",
      labelNames: ["reason"],
      registers,
    });
  }
}

const eventNamePattern = /^[a-z_]{1,40}$/;
const knownActions = new Set(["queued", "waiting", "in_progress", "completed"]);

/** Label values stay bounded whatever a client sends: only verified deliveries name their event. */
export function deliveryLabels(
  verified: boolean,
  event: string | undefined,
  action: unknown,
): { event: string; action: string } {
  if (!verified) return { event: "unverified", action: "" };
  const name = event && eventNamePattern.test(event) ? event : "other";
  return {
    event: name,
    action: name === "workflow_job" && typeof action === "string" && knownActions.has(action) ? action : "",
  };
}
