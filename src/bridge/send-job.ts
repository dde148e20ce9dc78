import type { BackoffPolicy } from "../lib/backoff";
import { stackTagValue } from "../settings/fields";
import { formatFromHeader } from "../settings/from-header";
import { isCanarySendJob } from "./canary";
import { sendLifetimeSeconds } from "./clerk-templates";
import { recordTestModeSend } from "./clerk-test-mode";
import type { BridgeConfig } from "./config";
import { reconcileOwners } from "./delivery-job";
import { type EmailSender, type OutgoingEmail, tagValue } from "./email-sender";
import { CANARY_TAG, isCanarySend, type SendJob } from "./events";
import type { Logger } from "./log";
import type { SendPacer } from "./pacing";
import type { BridgeStore, GroupMember, Suppression } from "./store";
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
  /** The team-wide Resend schedule every worker shares (`pacing.ts`). */
  pacer: SendPacer;
  /**
   * The longest an invocation waits for its request slot; a longer schedule returns the records to the
   * queue until their slot comes. Keep it well under the function's timeout.
   */
  maxPacingWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Same Clerk email → same key, so a redelivered or retried lone send never sends twice (Resend keeps keys 24 h). */
export function idempotencyKeyFor(clerkEmailId: string): string {
  return `clerk-email/${clerkEmailId}`;
}

export function buildEmail(job: SendJob, settings: SendSettings): OutgoingEmail {
  const tags = [
    { name: "clerk_email_id", value: tagValue(job.clerkEmailId) },
    ...(job.userId ? [{ name: "clerk_user_id", value: tagValue(job.userId) }] : []),
    ...(job.slug ? [{ name: "template", value: tagValue(job.slug) }] : []),
    { name: "stack", value: stackTagValue(settings.stack) },
    ...(isCanarySendJob(job) ? [CANARY_TAG] : []),
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

/** What the store and the checks say about one email before anything is sent. */
export type Triage =
  /** Nothing to send: it already has an outcome, or a check recorded why it is not sent. */
  | { kind: "settled"; result: SendResult }
  /** Claimed for a send group earlier (a worker died or gave up waiting for Resend): re-send that group. */
  | { kind: "claimed"; groupId: string }
  | { kind: "ready" };

/** What a pre-send check sees: the job's context, read once for all the checks. */
export interface CheckContext {
  deps: SendDeps;
  logger: Logger;
  /** The ledger's active block on the recipient, if any. */
  suppression: Suppression | undefined;
}

/** One check before a send: records why the email is not sent and says so, or answers undefined to go on. */
export type PreSendCheck = (job: SendJob, context: CheckContext) => Promise<SendResult | undefined>;

/** Clerk's test-mode recipients (`+clerk_test`, code 424242) are acknowledged, never sent through Resend. */
const skipTestMode: PreSendCheck = async (job, { deps }) =>
  job.clerkTestMode ? recordTestModeSend(job, deps) : undefined;

/** Each template has its own lifetime (codes and links minutes, invitations days: clerk-templates.ts). */
const dropIfStale: PreSendCheck = async (job, { deps, logger }) => {
  const ageMs = (deps.now ?? Date.now)() - job.createdAtMs;
  if (ageMs <= sendLifetimeSeconds(job, deps) * 1000) return undefined;
  await deps.store.recordSend({
    ...sendBase(job),
    status: "dropped_stale",
    detail: `age ${Math.round(ageMs / 1000)} s`,
  });
  deps.telemetry.count(METRICS.droppedStale);
  logger.warn("stale email dropped: its code has expired", {
    ...ids(job),
    ageSeconds: Math.round(ageMs / 1000),
  });
  return "dropped_stale";
};

const holdIfSuppressed: PreSendCheck = async (job, { deps, logger, suppression }) => {
  if (!suppression) return undefined;
  await deps.store.recordSend({ ...sendBase(job), status: "suppressed", detail: suppression.reason });
  deps.telemetry.count(METRICS.suppressed);
  logger.info("email not sent: recipient is on the suppression ledger", {
    ...ids(job),
    reason: suppression.reason,
  });
  await reconcileOwners(job.to, job.userId, deps);
  return "suppressed";
};

/** In order; the first that answers decides. A new rule about which emails are sent goes here. */
const PRE_SEND_CHECKS: PreSendCheck[] = [skipTestMode, dropIfStale, holdIfSuppressed];

/** Runs the pre-send checks on an email that has no outcome and no group yet. */
export async function preSendChecks(job: SendJob, context: CheckContext): Promise<Triage> {
  for (const check of PRE_SEND_CHECKS) {
    const result = await check(job, context);
    if (result) return { kind: "settled", result };
  }
  return { kind: "ready" };
}

/**
 * One Clerk `email.created` (delivered_by_clerk false) before it joins a send group: already processed →
 * skip; claimed by a group → that group; else the pre-send checks (stale code, suppressed recipient).
 */
export async function triageSend(job: SendJob, deps: SendDeps, logger: Logger): Promise<Triage> {
  // Both reads are needed on the common path; issuing them together takes one round trip off each send.
  const [existing, suppression] = await Promise.all([
    deps.store.getSend(job.clerkEmailId),
    deps.store.getSuppression(job.to),
  ]);
  if (existing?.status) {
    logger.info("email already processed", { ...ids(job), status: existing.status });
    return { kind: "settled", result: "already_processed" };
  }
  if (existing?.groupId) return { kind: "claimed", groupId: existing.groupId };
  return preSendChecks(job, { deps, logger, suppression });
}

/** Resend accepted the email (`resendEmailId` is unknown when its batch answer could not be matched). */
export async function recordSent(
  job: GroupMember,
  email: OutgoingEmail,
  resendEmailId: string | undefined,
  deps: SendDeps,
  logger: Logger,
): Promise<void> {
  await deps.store.recordSend({
    ...sendBase(job),
    status: "sent",
    ...(resendEmailId ? { resendEmailId } : {}),
  });
  // The sent count is the denominator of the bounce- and complaint-rate alarms: users' mail only.
  if (!isCanarySend(Object.fromEntries(email.tags.map((t) => [t.name, t.value])))) {
    deps.telemetry.count(METRICS.sent);
  }
  logger.info("email sent", { ...ids(job), ...(resendEmailId ? { resendEmailId } : {}) });
}

/**
 * Resend refused the email for good (a 4xx that retrying cannot change): recorded, not retried. The record
 * keeps Resend's message (about a field, e.g. the `to` of one email of a batch); the log only its name.
 */
export async function recordFailed(
  job: GroupMember,
  refusal: { name: string; status: number | null; message?: string },
  deps: SendDeps,
  logger: Logger,
): Promise<void> {
  const detail = refusal.message ? `${refusal.name}: ${refusal.message.slice(0, 200)}` : refusal.name;
  await deps.store.recordSend({ ...sendBase(job), status: "failed", detail });
  deps.telemetry.count(METRICS.failed);
  logger.error("Resend refused the email; not retrying", {
    ...ids(job),
    status: refusal.status,
    error: refusal.name,
  });
}

/** The fields of a job its send record keeps, also what a send group records per member. */
export function sendBase(job: GroupMember): GroupMember {
  return {
    clerkEmailId: job.clerkEmailId,
    to: job.to,
    ...(job.userId ? { userId: job.userId } : {}),
    ...(job.slug ? { slug: job.slug } : {}),
  };
}

function ids(job: GroupMember) {
  return { clerkEmailId: job.clerkEmailId, ...(job.userId ? { userId: job.userId } : {}) };
}
