/**
 * Vendor time for the stand-in: every duration the real service spends (verification checks,
 * the 72 h failure window, the 24 h secret overlap) is written in real units and multiplied by
 * `timeScale`, so a test can watch a 72 h window pass in a couple of seconds.
 */
export class VendorClock {
  private readonly timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private closedFlag = false;

  constructor(public timeScale = 1) {}

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Real milliseconds that `vendorMs` of vendor time takes now. */
  scaled(vendorMs: number): number {
    return vendorMs * this.timeScale;
  }

  /**
   * Waits `vendorMs` of vendor time; resolves at once (and for every pending wait) after `close()`.
   * `background` waits do not keep the process alive (periodic re-checks must not block exit).
   */
  sleep(vendorMs: number, background = false): Promise<void> {
    if (this.closedFlag) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        resolve,
        timer: setTimeout(() => {
          this.timers.delete(entry);
          resolve();
        }, this.scaled(vendorMs)),
      };
      if (background) entry.timer.unref();
      this.timers.add(entry);
    });
  }

  close(): void {
    this.closedFlag = true;
    for (const entry of this.timers) {
      clearTimeout(entry.timer);
      entry.resolve();
    }
    this.timers.clear();
  }
}

/** Resend's API timestamps look like Postgres output: `2026-03-28 17:12:02.059+00`, not ISO 8601. */
export function pgTimestamp(date: Date): string {
  return `${date.toISOString().replace("T", " ").replace("Z", "")}+00`;
}

/** Tracks background work (verifications, email event sequences) so `settle()` can await it. */
export class BackgroundWork {
  private readonly running = new Set<Promise<unknown>>();

  track<T>(work: Promise<T>): Promise<T> {
    const tracked = work.finally(() => this.running.delete(tracked));
    this.running.add(tracked);
    return tracked;
  }

  get size(): number {
    return this.running.size;
  }

  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
