// Reads a Prometheus histogram series from a service's /metrics text: mean, and the bucket bound
// a quantile falls under (a histogram only tells that much).

export interface HistogramReading {
  count: number;
  meanMs: number;
  /** Upper bound (ms) of the bucket holding the quantile; Infinity past the last bucket. */
  quantileBoundMs(q: number): number;
}

/** The histogram `name` with the label set `labels` (e.g. `action="assigned"`), undefined when absent. */
export function readHistogram(text: string, name: string, labels: string): HistogramReading | undefined {
  const value = (line: string) => Number(line.slice(line.lastIndexOf(" ") + 1));
  const lines = text.split("\n");
  const sumLine = lines.find((l) => l.startsWith(`${name}_sum{${labels}}`));
  const countLine = lines.find((l) => l.startsWith(`${name}_count{${labels}}`));
  if (!sumLine || !countLine) return undefined;
  const count = value(countLine);
  const buckets = lines
    .filter((l) => l.startsWith(`${name}_bucket{`) && l.includes(labels))
    .map((l) => {
      const le = /le="([^"]+)"/.exec(l)?.[1] ?? "+Inf";
      return { boundMs: le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le) * 1000, cumulative: value(l) };
    })
    .sort((a, b) => a.boundMs - b.boundMs);
  return {
    count,
    meanMs: count > 0 ? (value(sumLine) / count) * 1000 : 0,
    quantileBoundMs: (q) => buckets.find((b) => b.cumulative >= q * count)?.boundMs ?? Number.POSITIVE_INFINITY,
  };
}
