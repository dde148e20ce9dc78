import type { Resend } from "resend";
import { parseRetryAfter } from "../lib/backoff";

export interface OutgoingEmail {
  from: string;
  to: string;
  subject: string;
  html: string;
  text?: string;
  replyTo?: string;
  headers: Record<string, string>;
  tags: Array<{ name: string; value: string }>;
}

export type SendOutcome =
  | { ok: true; id: string }
  | { ok: false; retryable: boolean; status: number | null; name: string; retryAfterMs?: number };

export interface EmailSender {
  send(email: OutgoingEmail, idempotencyKey: string): Promise<SendOutcome>;
}

/** Resend errors worth retrying: the request may succeed later with the same idempotency key. */
const RETRYABLE_NAMES = new Set([
  "rate_limit_exceeded",
  "daily_quota_exceeded",
  "monthly_quota_exceeded",
  "concurrent_idempotent_requests",
  "resource_locked",
  "application_error",
  "internal_server_error",
  "service_unavailable",
]);

/**
 * Resend refusing the key itself, not the email: a key revoked before its replacement reached SSM (a rotation
 * done in the wrong order). The email goes back to the queue, so the next attempt, after the worker re-read
 * its keys, sends it; recording it `failed` would lose the code. Past the queue's receive count it is parked in
 * the dead-letter queue, where it can be replayed, instead of being dropped.
 */
const KEY_REFUSALS = new Set([
  "missing_api_key",
  "invalid_api_key",
  "restricted_api_key",
  "suspended_api_key",
]);

function isKeyRefusal(status: number, name: string): boolean {
  return status === 401 || KEY_REFUSALS.has(name);
}

/**
 * Sends through the `resend` SDK, which returns `{data, error, headers}` and never throws on HTTP errors.
 * The outcome says whether a retry can help; the SDK has no timeout, so one is applied with an abort signal.
 * `resend` may be a factory, called at the first send: the SDK's constructor builds a `Headers`, which loads
 * Node's fetch implementation (undici, about 20 ms), and a cold start should not pay that before it is used.
 */
export function resendEmailSender(resend: Resend | (() => Resend), timeoutMs: number): EmailSender {
  let client = typeof resend === "function" ? undefined : resend;
  return {
    async send(email, idempotencyKey) {
      let result: Awaited<ReturnType<Resend["emails"]["send"]>>;
      try {
        client ??= (resend as () => Resend)();
        result = await client.emails.send(
          {
            from: email.from,
            to: [email.to],
            subject: headerText(email.subject),
            html: email.html,
            ...(email.text !== undefined ? { text: email.text } : {}),
            ...(email.replyTo ? { replyTo: headerText(email.replyTo) } : {}),
            headers: Object.fromEntries(Object.entries(email.headers).map(([k, v]) => [k, headerText(v)])),
            tags: email.tags,
          },
          { idempotencyKey, signal: AbortSignal.timeout(timeoutMs) },
        );
      } catch (err) {
        return { ok: false, retryable: true, status: null, name: (err as Error).name || "timeout" };
      }
      if (result.data) return { ok: true, id: result.data.id };
      const error = result.error;
      const status = error?.statusCode ?? null;
      const name = error?.name ?? "unknown_error";
      const retryable =
        status === null ||
        status === 429 ||
        status >= 500 ||
        RETRYABLE_NAMES.has(name) ||
        isKeyRefusal(status, name);
      const retryAfterMs = parseRetryAfter(result.headers?.["retry-after"]);
      return { ok: false, retryable, status, name, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    },
  };
}

/** Resend tag values allow ASCII letters, digits, `_` and `-` only, up to 256 characters. */
export function tagValue(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 256);
}

/**
 * A header value on one line: control characters (CR and LF above all, which would start a new header)
 * and Unicode line breaks become one space. The subject comes from Clerk's payload, so it is untrusted.
 */
export function headerText(value: string): string {
  return value.replace(/[\p{Cc}\u2028\u2029]+/gu, " ").trim();
}
