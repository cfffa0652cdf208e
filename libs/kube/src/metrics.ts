import type { Metric, Registry } from "prom-client";

/**
 * The metric `name` on `registry`, created on first use. Several queues or controllers share one
 * registry (and so one metric, told apart by labels); registering twice would throw.
 */
export function sharedMetric<M extends Metric>(registry: Registry, name: string, create: () => M): M {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as M;
  const metric = create();
  registry.registerMetric(metric);
  return metric;
}
