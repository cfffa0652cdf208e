// The Prometheus text exposition format (version 0.0.4), written by hand: state families are
// rendered once per object change and kept as text, so a scrape only concatenates strings.

/** `name{label="value",...} value` lines of one object in one family, or "" when it has none. */
export type Labels = ReadonlyArray<readonly [name: string, value: string]>;

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : value;
}

/** Escapes HELP text: backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value as Prometheus parses it (`NaN`, `+Inf`, `-Inf`, or the shortest decimal). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

/** One sample line, with its trailing line feed. */
export function sample(name: string, labels: Labels, value: number): string {
  // Built with join: a flat string costs less memory than the rope `+=` makes, and samples are kept.
  const parts: string[] = [name];
  if (labels.length > 0) {
    parts.push("{");
    for (let i = 0; i < labels.length; i++) {
      const [label, labelValue] = labels[i]!;
      parts.push(i > 0 ? "," : "", label, '="', escapeLabelValue(labelValue), '"');
    }
    parts.push("}");
  }
  parts.push(" ", formatValue(value), "\n");
  return parts.join("");
}

/** The `# HELP` and `# TYPE` lines of a family. */
export function familyHeader(name: string, help: string, type: "gauge" | "counter" | "histogram" | "untyped"): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}
