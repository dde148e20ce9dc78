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
