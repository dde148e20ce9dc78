import type { DeliveryJob } from "./events";
import { type BridgeStore, type HardReason, normalizeAddress } from "./store";
import { METRICS, type MetricName, type Telemetry } from "./telemetry";
import { reconcileUser, type UserDirectory } from "./users";

export interface DeliveryDeps {
  store: BridgeStore;
  users: UserDirectory;
  telemetry: Telemetry;
}

type Verdict =
  | { kind: "hard"; reason: HardReason; metric: MetricName }
  | { kind: "soft"; metric: MetricName }
  | { kind: "record"; metric?: MetricName };

/** A hard bounce is `bounce.type === 'Permanent'`; any other type (Transient, Undetermined, Temporary…) is soft. */
export function verdictFor(job: DeliveryJob): Verdict {
  switch (job.type) {
    case "email.bounced":
      return job.subtype === "Permanent"
        ? { kind: "hard", reason: "bounce", metric: METRICS.bouncedHard }
        : { kind: "soft", metric: METRICS.bouncedSoft };
    case "email.complained":
      return { kind: "hard", reason: "complaint", metric: METRICS.complained };
    // Suppressions follow a bounce or complaint already counted (or a manual entry): counted apart so
    // bounce- and complaint-rate alarms see each problem once.
    case "email.suppressed":
      return { kind: "hard", reason: "suppressed", metric: METRICS.resendSuppressed };
    case "suppression.added":
      return {
        kind: "hard",
        reason:
          job.subtype === "complaint" ? "complaint" : job.subtype === "bounce" ? "bounce" : "suppressed",
        metric: METRICS.resendSuppressed,
      };
    case "email.delivery_delayed":
      return { kind: "soft", metric: METRICS.bouncedSoft };
    case "email.delivered":
      return { kind: "record", metric: METRICS.delivered };
    case "email.failed":
      return { kind: "record", metric: METRICS.failed };
    default:
      return { kind: "record" };
  }
}

/**
 * One Resend event: add it to the email's timeline, then put undeliverable addresses on the ledger and flag
 * the Clerk user (found by the `clerk_user_id` tag, else by address). With no user yet (a sign-up bounce),
 * the ledger remembers and `user.created` flags the user later.
 */
export async function processDelivery(job: DeliveryJob, deps: DeliveryDeps): Promise<void> {
  const { logger } = deps.telemetry;
  const taggedUserId = job.tags.clerk_user_id;
  let clerkEmailId: string | undefined = job.tags.clerk_email_id;
  if (job.resendEmailId) {
    clerkEmailId ??= await deps.store.clerkEmailIdFor(job.resendEmailId);
    await deps.store.appendTimeline(
      { resendEmailId: job.resendEmailId, ...(clerkEmailId ? { clerkEmailId } : {}) },
      { type: job.type, at: job.occurredAt, ...(job.subtype ? { detail: job.subtype } : {}) },
    );
  }
  const ids = {
    ...(job.resendEmailId ? { resendEmailId: job.resendEmailId } : {}),
    ...(clerkEmailId ? { clerkEmailId } : {}),
    ...(taggedUserId ? { userId: taggedUserId } : {}),
  };

  const verdict = verdictFor(job);
  if (verdict.metric) deps.telemetry.count(verdict.metric);
  if (verdict.kind === "record") return;
  if (verdict.kind === "soft") {
    const hits = await deps.store.recordSoft(job.address, job.type);
    logger.info("soft delivery problem recorded; not blocking", {
      ...ids,
      type: job.type,
      subtype: job.subtype,
      hits,
    });
    return;
  }

  await deps.store.recordSuppression({
    address: job.address,
    reason: verdict.reason,
    eventType: job.type,
    ...(taggedUserId ? { userId: taggedUserId } : {}),
  });
  logger.info("address recorded as undeliverable", { ...ids, type: job.type, reason: verdict.reason });

  const user = taggedUserId
    ? await deps.users.getUser(taggedUserId)
    : await deps.users.findByEmail(job.address);
  if (!user) {
    logger.info("no Clerk user for the address yet; user.created will flag it", ids);
    return;
  }
  if (user.addresses.some((a) => normalizeAddress(a) === normalizeAddress(job.address))) {
    await deps.store.linkUser(job.address, user.id);
  }
  await reconcileUser(user, deps, { snapshotIsFresh: true });
}
