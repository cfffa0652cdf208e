import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/**
 * The client's metrics, in the registry the service passes in (never the global one). Clients of
 * several credentials share the families; each labels its series with its credential's name.
 */
export class GitHubMetrics {
  readonly credential: string;
  readonly requests: Counter<"operation" | "status" | "credential">;
  readonly duration: Histogram<"operation" | "credential">;
  readonly remaining: Gauge<"budget" | "credential">;
  readonly waits: Counter<"kind" | "credential">;

  constructor(registry: Registry | undefined, credential: string) {
    this.credential = credential;
    const registers = registry ? [registry] : [];
    const reuse = <T>(name: string, make: () => T): T => (registry?.getSingleMetric(name) as T | undefined) ?? make();
    this.requests = reuse(
      "octorun_github_requests_total",
      () =>
        new Counter({
          name: "octorun_github_requests_total",
          help: "GitHub REST requests by operation id and HTTP status (0: no response).",
          labelNames: ["operation", "status", "credential"],
          registers,
        }),
    );
    this.duration = reuse(
      "octorun_github_request_duration_seconds",
      () =>
        new Histogram({
          name: "octorun_github_request_duration_seconds",
          help: "Duration of GitHub REST requests by operation id.",
          labelNames: ["operation", "credential"],
          buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers,
        }),
    );
    this.remaining = reuse(
      "octorun_github_rate_limit_remaining",
      () =>
        new Gauge({
          name: "octorun_github_rate_limit_remaining",
          help: "Requests left in GitHub's primary rate-limit window, per installation (or token) budget.",
          labelNames: ["budget", "credential"],
          registers,
        }),
    );
    this.waits = reuse(
      "octorun_github_rate_limit_waits_total",
      () =>
        new Counter({
          name: "octorun_github_rate_limit_waits_total",
          help: "Times a GitHub request waited for a primary or secondary rate limit (or gave up waiting).",
          labelNames: ["kind", "credential"],
          registers,
        }),
    );
  }
}
