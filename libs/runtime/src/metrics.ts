import { collectDefaultMetrics, Registry } from "prom-client";

/** The process's one registry, with process and Node metrics; passed to every part that records metrics. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
