// Registrations take turns. GitHub gets content-creating requests one at a time (libs/github's
// request gate), so a scale-up of hundreds of Runners registers them one after another. A worker
// that waited in that line would sit idle meanwhile, and with every worker waiting no Runner would
// be planned past its registration: Pods Ready but never checked online, Complete runners not
// cleaned up. So a Runner whose turn has not come gives its worker back and waits here; when a
// turn ends, the first in line is handed the turn and woken (its key added to the work queue).

export class RegistrationTurns {
  readonly #limit: number;
  readonly #wake: (key: string) => void;
  /** Keys holding a turn: registering now, or woken and about to. */
  readonly #holders = new Set<string>();
  /** Keys in line, first come first served (a Set keeps insertion order). */
  readonly #line = new Set<string>();

  constructor(options: { limit: number; wake: (key: string) => void }) {
    if (options.limit < 1) throw new Error(`registration turns: limit must be at least 1, not ${options.limit}`);
    this.#limit = options.limit;
    this.#wake = options.wake;
  }

  /** True when `key` may register now (it holds a turn, or one is free); otherwise it joins the line. */
  take(key: string): boolean {
    if (this.#holders.has(key)) return true;
    if (this.#holders.size < this.#limit && this.#line.size === 0) {
      this.#holders.add(key);
      return true;
    }
    this.#line.add(key);
    this.#handOver();
    return this.#holders.has(key);
  }

  /**
   * After a reconcile of `key`: a turn it held passes to the first in line; a key that no longer
   * needs to register (`waiting` false: registered meanwhile, deleted) leaves the line.
   */
  settle(key: string, waiting: boolean): void {
    if (!waiting) this.#line.delete(key);
    if (!this.#holders.delete(key)) return;
    this.#handOver();
  }

  get waiting(): number {
    return this.#line.size;
  }

  #handOver(): void {
    while (this.#holders.size < this.#limit) {
      const next = this.#line.values().next();
      if (next.done) return;
      this.#line.delete(next.value);
      this.#holders.add(next.value);
      this.#wake(next.value);
    }
  }
}
