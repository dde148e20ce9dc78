import { type BackoffPolicy, defaultSleep, withBackoff } from "../lib/backoff";
import { stackTagValue } from "../settings/fields";
import { formatFromHeader } from "../settings/from-header";
import { sendLifetimeSeconds } from "./clerk-templates";
import { recordTestModeSend } from "./clerk-test-mode";
import type { BridgeConfig } from "./config";
import { reconcileOwners } from "./delivery-job";
import { type EmailSender, type OutgoingEmail, type SendOutcome, tagValue } from "./email-sender";
import { isCanarySend, type SendJob } from "./events";
import type { BridgeStore } from "./store";
import { METRICS, type Telemetry } from "./telemetry";
import type { UserDirectory } from "./users";

export type SendSettings = Pick<
  BridgeConfig,
  "fromAddress" | "fromName" | "replyTo" | "codeLifetimeSeconds" | "codeLifetimes" | "stack" | "extraHeaders"
>;

export interface SendDeps {
  store: BridgeStore;
  email: EmailSender;
  users: UserDirectory;
  telemetry: Telemetry;
  settings: SendSettings;
  backoff: BackoffPolicy;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Thrown to leave the SQS record for redelivery; the cause is a name, never a payload. */
class RetryLater extends Error {
  override name = "RetryLater";
}

class SendFailed extends Error {
  constructor(readonly outcome: Extract<SendOutcome, { ok: false }>) {
    super(outcome.name);
  }
}

/** Same Clerk email → same key, so a redelivered or retried job never sends twice (Resend keeps keys 24 h). */
export function idempotencyKeyFor(clerkEmailId: string): string {
  return `clerk-email/${clerkEmailId}`;
}

function buildEmail(job: SendJob, settings: SendSettings): OutgoingEmail {
  const tags = [
    { name: "clerk_email_id", value: tagValue(job.clerkEmailId) },
    ...(job.userId ? [{ name: "clerk_user_id", value: tagValue(job.userId) }] : []),
    ...(job.slug ? [{ name: "template", value: tagValue(job.slug) }] : []),
    { name: "stack", value: stackTagValue(settings.stack) },
  ];
  return {
    from: formatFromHeader(settings.fromName, settings.fromAddress),
    to: job.to,
    subject: job.subject,
    html: job.html,
    ...(job.text !== undefined ? { text: job.text } : {}),
    ...(settings.replyTo ? { replyTo: settings.replyTo } : {}),
    // X-Entity-Ref-ID keeps Gmail from threading one-time codes together; it is set last so configured
    // extras cannot replace it.
    headers: { ...settings.extraHeaders, "X-Entity-Ref-ID": job.clerkEmailId },
    tags,
  };
}

export type SendResult =
  | "sent"
  | "already_processed"
  | "dropped_stale"
  | "suppressed"
  | "failed"
  | "test_mode";

/**
 * One Clerk `email.created` (delivered_by_clerk false): drop stale codes, honour the suppression ledger, else
 * send through Resend with an idempotency key. Rate limits and 5xx are retried in-process with bounded
 * backoff, then left to SQS; permanent 4xx are recorded and not retried.
 */
export async function processSend(job: SendJob, deps: SendDeps): Promise<SendResult> {
  const { logger } = deps.telemetry;
  const now = deps.now ?? Date.now;
  const ids = { clerkEmailId: job.clerkEmailId, ...(job.userId ? { userId: job.userId } : {}) };

  // Both reads are needed on the common path; issuing them together takes one round trip off each send.
  const [existing, suppression] = await Promise.all([
    deps.store.getSend(job.clerkEmailId),
    deps.store.getSuppression(job.to),
  ]);
  if (existing?.status) {
    logger.info("email already processed", { ...ids, status: existing.status });
    return "already_processed";
  }
  const base = { clerkEmailId: job.clerkEmailId, to: job.to, userId: job.userId, slug: job.slug };

  // Clerk's own rules: test-mode recipients are not sent to, and each template has its lifetime.
  if (job.clerkTestMode) return recordTestModeSend(job, deps);
  const ageMs = now() - job.createdAtMs;
  if (ageMs > sendLifetimeSeconds(job, deps) * 1000) {
    await deps.store.recordSend({
      ...base,
      status: "dropped_stale",
      detail: `age ${Math.round(ageMs / 1000)} s`,
    });
    deps.telemetry.count(METRICS.droppedStale);
    logger.warn("stale email dropped: its code has expired", {
      ...ids,
      ageSeconds: Math.round(ageMs / 1000),
    });
    return "dropped_stale";
  }

  if (suppression) {
    await deps.store.recordSend({ ...base, status: "suppressed", detail: suppression.reason });
    deps.telemetry.count(METRICS.suppressed);
    logger.info("email not sent: recipient is on the suppression ledger", {
      ...ids,
      reason: suppression.reason,
    });
    await reconcileOwners(job.to, job.userId, deps);
    return "suppressed";
  }

  const email = buildEmail(job, deps.settings);
  try {
    const sent = await withBackoff(
      async () => {
        const outcome = await deps.email.send(email, idempotencyKeyFor(job.clerkEmailId));
        if (!outcome.ok) throw new SendFailed(outcome);
        return outcome;
      },
      (err) =>
        err instanceof SendFailed && err.outcome.retryable
          ? { retry: true, retryAfterMs: err.outcome.retryAfterMs }
          : { retry: false },
      {
        policy: deps.backoff,
        sleep: deps.sleep ?? defaultSleep,
        onRetry: (attempt, delayMs, err) => {
          deps.telemetry.count(METRICS.retried);
          logger.warn("Resend send failed; backing off", {
            ...ids,
            attempt,
            delayMs,
            error: (err as Error).message,
          });
        },
      },
    );
    await deps.store.recordSend({ ...base, status: "sent", resendEmailId: sent.id });
    // The sent count is the denominator of the bounce- and complaint-rate alarms: users' mail only.
    if (!isCanarySend(Object.fromEntries(email.tags.map((t) => [t.name, t.value])))) {
      deps.telemetry.count(METRICS.sent);
    }
    logger.info("email sent", { ...ids, resendEmailId: sent.id });
    return "sent";
  } catch (err) {
    if (!(err instanceof SendFailed)) throw err;
    if (err.outcome.retryable)
      throw new RetryLater(`Resend ${err.outcome.status ?? "network"} ${err.outcome.name}`);
    await deps.store.recordSend({ ...base, status: "failed", detail: err.outcome.name });
    deps.telemetry.count(METRICS.failed);
    logger.error("Resend refused the email; not retrying", {
      ...ids,
      status: err.outcome.status,
      error: err.outcome.name,
    });
    return "failed";
  }
}
