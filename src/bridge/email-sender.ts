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

/** Resend did not accept the request; `retryable` says whether the same request may succeed later. */
export interface SendFailure {
  ok: false;
  retryable: boolean;
  status: number | null;
  name: string;
  /** Resend's own explanation; only the delivery canary records it (its recipient is a test address). */
  message?: string;
  retryAfterMs?: number;
}

export type SendOutcome = { ok: true; id: string } | SendFailure;

/** One email of a batch: accepted (with its id when Resend's answer lets it be matched) or refused alone. */
export type BatchItemResult = { ok: true; id?: string } | { ok: false; message: string };

/** A batch request Resend answered: one result per email, in the order they were sent. */
export type BatchOutcome = { ok: true; items: BatchItemResult[] } | SendFailure;

export interface EmailSender {
  /** `POST /emails`: one email. */
  send(email: OutgoingEmail, idempotencyKey: string): Promise<SendOutcome>;
  /**
   * `POST /emails/batch` (at most 100, one request against the rate limit) with permissive validation:
   * an email Resend refuses fails alone, the others are sent.
   */
  sendBatch(emails: OutgoingEmail[], idempotencyKey: string): Promise<BatchOutcome>;
}

/** Resend's batch endpoint takes at most this many emails per request. */
export const MAX_BATCH_EMAILS = 100;

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
  const sdk = () => {
    client ??= (resend as () => Resend)();
    return client;
  };
  return {
    async send(email, idempotencyKey) {
      let result: Awaited<ReturnType<Resend["emails"]["send"]>>;
      try {
        result = await sdk().emails.send(resendPayload(email), {
          idempotencyKey,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        return unanswered(err);
      }
      return result.data ? { ok: true, id: result.data.id } : failureOf(result);
    },
    async sendBatch(emails, idempotencyKey) {
      let result: Awaited<ReturnType<typeof sendPermissive>>;
      try {
        result = await sendPermissive(sdk(), emails.map(resendPayload), idempotencyKey, timeoutMs);
      } catch (err) {
        return unanswered(err);
      }
      return result.data ? { ok: true, items: batchItems(emails.length, result.data) } : failureOf(result);
    },
  };
}

function sendPermissive(
  client: Resend,
  payload: ReturnType<typeof resendPayload>[],
  idempotencyKey: string,
  timeoutMs: number,
) {
  return client.batch.send(payload, {
    idempotencyKey,
    batchValidation: "permissive" as const,
    signal: AbortSignal.timeout(timeoutMs),
  });
}

/** What Resend receives for one email: every header value on one line (see {@link headerText}). */
function resendPayload(email: OutgoingEmail) {
  return {
    from: email.from,
    to: [email.to],
    subject: headerText(email.subject),
    html: email.html,
    ...(email.text !== undefined ? { text: email.text } : {}),
    ...(email.replyTo ? { replyTo: headerText(email.replyTo) } : {}),
    headers: Object.fromEntries(Object.entries(email.headers).map(([k, v]) => [k, headerText(v)])),
    tags: email.tags,
  };
}

/** No answer at all (timeout, network): Resend may or may not have the request, so retry with the same key. */
function unanswered(err: unknown): SendFailure {
  const { name, message } = err as Error;
  return {
    ok: false,
    retryable: true,
    status: null,
    name: name || "timeout",
    ...(message ? { message } : {}),
  };
}

function failureOf(result: {
  error: { statusCode: number | null; name: string; message?: string } | null;
  headers: Record<string, string> | null;
}): SendFailure {
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
  return {
    ok: false,
    retryable,
    status,
    name,
    ...(error?.message ? { message: error.message } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}

/**
 * Permissive validation answers `{data: [{id}…], errors: [{index, message}…]}`: the refused emails by their
 * index, the ids of the accepted ones in the order they were sent (the SDK types no index for them). When
 * the counts do not add up the ids cannot be matched, and the accepted emails are reported without one:
 * their events still carry the `clerk_email_id` tag.
 */
function batchItems(
  count: number,
  answer: { data: Array<{ id: string }>; errors?: Array<{ index: number; message: string }> },
): BatchItemResult[] {
  const refused = new Map((answer.errors ?? []).map((e) => [e.index, e.message]));
  const acceptedCount = count - [...refused.keys()].filter((i) => i >= 0 && i < count).length;
  const ids = answer.data.length === acceptedCount ? answer.data.map((d) => d.id) : [];
  let next = 0;
  return Array.from({ length: count }, (_, index): BatchItemResult => {
    const message = refused.get(index);
    if (message !== undefined) return { ok: false, message };
    const id = ids[next++];
    return id ? { ok: true, id } : { ok: true };
  });
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
