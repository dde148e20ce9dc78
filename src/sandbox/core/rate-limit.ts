/** Fixed-window counter per key, the way both vendors describe their limits ("N requests per window"). */
export class WindowRateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    public limit: number,
    public windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request for `key`; says whether it is allowed and when the window resets. */
  take(key = "*"): { allowed: boolean; remaining: number; resetMs: number } {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || now - window.start >= this.windowMs) {
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    const resetMs = window.start + this.windowMs - now;
    if (window.count >= this.limit) return { allowed: false, remaining: 0, resetMs };
    window.count += 1;
    return { allowed: true, remaining: this.limit - window.count, resetMs };
  }

  reset(): void {
    this.windows.clear();
  }
}
