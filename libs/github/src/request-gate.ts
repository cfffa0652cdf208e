// GitHub's secondary-limit guidance (GitHub REST API docs, "Rate limits for the REST API" and "Best
// practices"): no more than a handful of concurrent requests per credential, and content-creating
// requests few at a time (the docs say serially; actions-runner-controller generates JIT
// configurations two at a time by default). One gate per installation (or token) budget, shared
// by every client of it.

export interface RequestGateLimits {
  /** Requests in flight at once (default 10). */
  maxConcurrent?: number;
  /** Writes (non-GET) among them (default 1). */
  maxConcurrentWrites?: number;
}

export class RequestGate {
  private readonly maxConcurrent: number;
  private readonly maxConcurrentWrites: number;
  private running = 0;
  private writing = 0;
  private readonly waiting: { write: boolean; resolve: () => void }[] = [];

  constructor(limits: RequestGateLimits = {}) {
    this.maxConcurrent = limits.maxConcurrent ?? 10;
    this.maxConcurrentWrites = Math.min(limits.maxConcurrentWrites ?? 1, this.maxConcurrent);
    if (this.maxConcurrentWrites < 1) throw new RangeError("request gate: at least one write must be allowed at once");
  }

  /** Resolves with a release function once the request may go. */
  acquire(write: boolean): Promise<() => void> {
    return new Promise((resolve) => {
      this.waiting.push({
        write,
        resolve: () => {
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.running -= 1;
            if (write) this.writing -= 1;
            this.pump();
          });
        },
      });
      this.pump();
    });
  }

  private pump(): void {
    // First come, first served, except that a write waits while the writes in flight are at their limit.
    for (let i = 0; i < this.waiting.length && this.running < this.maxConcurrent; ) {
      const next = this.waiting[i] as { write: boolean; resolve: () => void };
      if (next.write && this.writing >= this.maxConcurrentWrites) {
        i += 1;
        continue;
      }
      this.waiting.splice(i, 1);
      this.running += 1;
      if (next.write) this.writing += 1;
      next.resolve();
    }
  }
}
