// GitHub's secondary-limit guidance (GitHub REST API docs, "Rate limits for the REST API" and "Best practices"): no more than a handful of
// concurrent requests per credential, and content-creating requests one at a time. One gate per
// installation (or token) budget, shared by every client of it.

export class RequestGate {
  private readonly maxConcurrent: number;
  private running = 0;
  private writing = false;
  private readonly waiting: { write: boolean; resolve: () => void }[] = [];

  constructor(maxConcurrent = 10) {
    this.maxConcurrent = maxConcurrent;
  }

  /** Resolves with a release function once the request may go. Writes (non-GET) go one at a time. */
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
            if (write) this.writing = false;
            this.pump();
          });
        },
      });
      this.pump();
    });
  }

  private pump(): void {
    // First come, first served, except that a write waits for the write before it.
    for (let i = 0; i < this.waiting.length && this.running < this.maxConcurrent; ) {
      const next = this.waiting[i] as { write: boolean; resolve: () => void };
      if (next.write && this.writing) {
        i += 1;
        continue;
      }
      this.waiting.splice(i, 1);
      this.running += 1;
      if (next.write) this.writing = true;
      next.resolve();
    }
  }
}
