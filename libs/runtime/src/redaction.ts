const REDACTED = "[REDACTED]";
const SECRET_KEY = /secret|token|password|passwd|private[_-]?key|jit[_-]?config|authorization|credential/i;

/**
 * Removes secrets from anything about to be logged: values under keys that name a secret, and
 * every registered secret value wherever it appears inside a string.
 */
export class Redactor {
  readonly #values = new Set<string>();

  /** Registers a secret value (values shorter than 4 characters would redact noise, so they are refused). */
  add(value: string | undefined): void {
    if (value && value.length >= 4) this.#values.add(value);
  }

  redactString(text: string): string {
    let result = text;
    for (const value of this.#values) result = result.split(value).join(REDACTED);
    return result;
  }

  /** A redacted deep copy of plain data; symbols (winston's own keys) are kept as they are. */
  redact<T>(value: T, depth = 0): T {
    if (typeof value === "string") return this.redactString(value) as T;
    if (value === null || typeof value !== "object" || depth > 8) return value;
    if (value instanceof Error) {
      return {
        name: value.name,
        message: this.redactString(value.message),
        stack: this.redactString(value.stack ?? ""),
      } as T;
    }
    if (Array.isArray(value)) return value.map((item) => this.redact(item, depth + 1)) as T;
    const copy: Record<string | symbol, unknown> = {};
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      copy[key] = SECRET_KEY.test(key) && item !== undefined && item !== null ? REDACTED : this.redact(item, depth + 1);
    }
    for (const symbol of Object.getOwnPropertySymbols(value)) {
      copy[symbol] = (value as Record<symbol, unknown>)[symbol];
    }
    return copy as T;
  }
}
