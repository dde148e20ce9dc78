/**
 * Bounded exponential backoff that prefers the server's own `Retry-After` when it gave one.
 * Shared by the bridge (Resend and Clerk calls) and by application code (see `clerk-errors.ts`).
 */
export interface BackoffPolicy {
  /** Attempts in total, the first included. */
  maxAttempts: number;
  /** First computed delay; doubles on every further attempt. */
  baseDelayMs: number;
  /** No single wait is longer than this, even when the server asks for more. */
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 5_000 };

/**
 * The wait before retry number `attempt` (1 = the first retry). A server-given `retryAfterMs` wins
 * over the exponential schedule, because retrying earlier only earns another 429; both are capped.
 * Full jitter spreads concurrent workers apart when the server gave no hint.
 */
export function backoffDelayMs(
  attempt: number,
  retryAfterMs: number | undefined,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.min(retryAfterMs, policy.maxDelayMs);
  const exponential = policy.baseDelayMs * 2 ** Math.max(0, attempt - 1);
  return Math.round(Math.min(exponential, policy.maxDelayMs) * random());
}

/** Parses an HTTP `Retry-After` value (delta seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What a failed attempt means for the retry loop. */
export type AttemptVerdict = { retry: false } | { retry: true; retryAfterMs?: number };

export interface RetryOptions {
  policy?: BackoffPolicy;
  sleep?: (ms: number) => Promise<void>;
  /** Called before each wait, e.g. to log the attempt; never given the error's secrets. */
  onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
}

/**
 * Runs `fn` until it succeeds, `classify` says the error is final, or the attempts run out;
 * then rethrows the last error so the caller (or SQS) decides what happens next.
 */
export async function withBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  classify: (error: unknown) => AttemptVerdict,
  options: RetryOptions = {},
): Promise<T> {
  const policy = options.policy ?? DEFAULT_BACKOFF;
  const sleep = options.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const verdict = classify(error);
      if (!verdict.retry || attempt >= policy.maxAttempts) throw error;
      const delay = backoffDelayMs(attempt, verdict.retryAfterMs, policy);
      options.onRetry?.(attempt, delay, error);
      await sleep(delay);
    }
  }
}

export function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
