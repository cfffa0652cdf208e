// The webhook's metrics, registered on the process's one registry.

import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface WebhookMetrics {
  reviews: Counter<"kind" | "mode" | "operation" | "result">;
  reviewDuration: Histogram<"kind" | "mode">;
  conversionDuration: Histogram;
  conversions: Counter<"result">;
  convertedObjects: Counter;
  badRequests: Counter<"endpoint" | "code">;
  tlsReloads: Counter<"result">;
  certificateExpiry: Gauge;
  connections: Counter;
}

const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];

export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const registers = [registry];
  return {
    reviews: new Counter({
      name: "octorun_admission_reviews_total",
      help: "AdmissionReviews answered, by kind, mode (mutate, validate), operation and result (allowed, denied, error).",
      labelNames: ["kind", "mode", "operation", "result"],
      registers,
    }),
    reviewDuration: new Histogram({
      name: "octorun_admission_review_duration_seconds",
      help: "Time from a review request's arrival to its answer (body read, parsed, reviewed, written), by kind and mode.",
      labelNames: ["kind", "mode"],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    conversionDuration: new Histogram({
      name: "octorun_conversion_review_duration_seconds",
      help: "Time from a ConversionReview's arrival to its answer.",
      buckets: DURATION_BUCKETS,
      registers,
    }),
    conversions: new Counter({
      name: "octorun_conversion_reviews_total",
      help: "ConversionReviews answered, by result (success, failure, error).",
      labelNames: ["result"],
      registers,
    }),
    convertedObjects: new Counter({
      name: "octorun_conversion_objects_total",
      help: "Objects in the ConversionReviews answered.",
      registers,
    }),
    badRequests: new Counter({
      name: "octorun_admission_bad_requests_total",
      help: "Requests refused before review (wrong content type, not JSON, too large, unknown kind), by endpoint and status code.",
      labelNames: ["endpoint", "code"],
      registers,
    }),
    tlsReloads: new Counter({
      name: "octorun_admission_tls_reloads_total",
      help: "Serving certificate loads after a change of the files, by result (success, failure).",
      labelNames: ["result"],
      registers,
    }),
    connections: new Counter({
      name: "octorun_admission_tls_connections_total",
      help: "TLS connections accepted (each one a handshake; the apiserver normally reuses a few).",
      registers,
    }),
    certificateExpiry: new Gauge({
      name: "octorun_admission_tls_certificate_expiry_timestamp_seconds",
      help: "When the serving certificate in use expires (Unix seconds).",
      registers,
    }),
  };
}
