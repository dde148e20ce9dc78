/**
 * Vendor time for a stand-in: every duration the real service spends (verification checks, the 72 h
 * failure window, the 24 h secret overlap, webhook retry gaps) is written in real units and multiplied
 * by `timeScale`, so a test can watch a 72 h window pass in a couple of seconds. `close()` ends every
 * pending wait at once, so a closed stand-in leaves no timer behind.
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
