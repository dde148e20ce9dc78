import { stackTagValue } from "../settings/fields";
import { type DeliveryJob, isCanarySend } from "./events";
import type { SendSettings } from "./send-job";
import { type BridgeStore, type HardReason, ownsAddress } from "./store";
import { METRICS, type MetricName, type Telemetry } from "./telemetry";
import { reconcileUser, type UserDirectory, type UserView } from "./users";

export interface DeliveryDeps {
  store: BridgeStore;
  users: UserDirectory;
  telemetry: Telemetry;
  settings: Pick<SendSettings, "stack">;
}

type Verdict =
  | { kind: "hard"; reason: HardReason; metric: MetricName }
  | { kind: "soft"; metric: MetricName }
  | { kind: "lifted" }
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
    case "suppression.removed":
      return { kind: "lifted" };
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
 * Whose mail an event is about, from its tags (the bridge tags every send with `stack`):
 * - `own`: this stack's send to a user;
 * - `canary`: this stack's synthetic canary send ({@link isCanarySend});
 * - `other_stack`: another stack's send on the same Resend team: ignored entirely;
 * - `team`: no `stack` tag: another sender on the team, or a `suppression.*` event (those carry no tags).
 */
export type EventOrigin = "own" | "canary" | "other_stack" | "team";

export function eventOrigin(tags: Readonly<Record<string, string>>, stack: string): EventOrigin {
  if (tags.stack === undefined) return "team";
  // Sends carry the stack encoded for Resend's tag alphabet (`prod.eu` → `prod_deu`): compare like with like.
  if (tags.stack !== stackTagValue(stack)) return "other_stack";
  return isCanarySend(tags) ? "canary" : "own";
}

/**
 * One Resend event, for every recipient it names. Events of another stack are dropped before anything is
 * written. Otherwise the event joins its email's timeline (this stack's sends only); undeliverable
 * addresses go on the ledger (this stack's and untagged team events: Resend suppresses team-wide) and
 * `suppression.removed` lifts them; then the Clerk users who own each address are reconciled. Only this
 * stack's user mail counts in the delivery metrics; canaries never touch the ledger.
 */
export async function processDelivery(job: DeliveryJob, deps: DeliveryDeps): Promise<void> {
  const { logger } = deps.telemetry;
  const origin = eventOrigin(job.tags, deps.settings.stack);
  if (origin === "other_stack") {
    logger.info("event for another stack ignored", { type: job.type, stack: job.tags.stack });
    return;
  }
  // A user id tag is a hint from this stack's own send; anyone else's tags are not trusted with it.
  const taggedUserId = origin === "own" ? job.tags.clerk_user_id : undefined;
  let clerkEmailId = origin === "team" ? undefined : job.tags.clerk_email_id;
  if (job.resendEmailId && origin !== "team") {
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
  const log = { ...ids, type: job.type, origin, recipients: job.addresses.length };

  const verdict = verdictFor(job);
  // Suppression events are team-wide facts (never tagged) and have their own metric.
  const counted = origin === "own" || job.type.startsWith("suppression.");
  if (counted && "metric" in verdict && verdict.metric) {
    deps.telemetry.count(verdict.metric, job.addresses.length);
  }
  if (verdict.kind === "record") return;
  if (origin === "canary") {
    logger.info("canary send event: kept off the ledger", log);
    return;
  }
  if (verdict.kind === "soft") {
    if (origin !== "own") return;
    for (const address of job.addresses) {
      const hits = await deps.store.recordSoft(address, job.type);
      logger.info("soft delivery problem recorded; not blocking", { ...log, subtype: job.subtype, hits });
    }
    return;
  }

  for (const address of job.addresses) {
    if (verdict.kind === "lifted") {
      const lifted = await deps.store.liftSuppression(address, {
        at: job.occurredAt,
        by: "suppression.removed",
        keepNewerBlock: true,
      });
      logger.info("Resend lifted its suppression; ledger updated", { ...log, outcome: lifted.outcome });
      if (lifted.outcome === "newer_block") continue;
      const linked = lifted.outcome === "lifted" ? lifted.previous.userId : undefined;
      await reconcileOwners(address, linked, deps);
      continue;
    }
    const recorded = await deps.store.recordSuppression({
      address,
      reason: verdict.reason,
      eventType: job.type,
      occurredAt: job.occurredAt,
    });
    if (!recorded) {
      logger.info("event predates the lift of this address's block; ignored", log);
      continue;
    }
    logger.info("address recorded as undeliverable", { ...log, reason: verdict.reason });
    const owners = await reconcileOwners(address, taggedUserId ?? recorded.userId, deps);
    if (owners === 0) logger.info("no Clerk user owns the address yet; user.created will flag it", log);
  }
}

/**
 * Finds the Clerk users who own `address` (the hinted user if Clerk says it owns it, else the user Clerk
 * finds by the address), links the address to each, and reconciles their `email_status`. Returns how many.
 */
export async function reconcileOwners(
  address: string,
  hintUserId: string | undefined,
  deps: Pick<DeliveryDeps, "store" | "users" | "telemetry">,
): Promise<number> {
  const owners = await ownersOf(address, hintUserId, deps.users);
  for (const owner of owners) {
    await deps.store.linkUser(owner, address);
    await reconcileUser(owner, deps, { snapshotIsFresh: true });
  }
  return owners.length;
}

/** Clerk users whose email addresses include `address`; a hint naming a user who does not own it is ignored. */
export async function ownersOf(
  address: string,
  hintUserId: string | undefined,
  users: UserDirectory,
): Promise<UserView[]> {
  const hinted = hintUserId ? await users.getUser(hintUserId) : undefined;
  if (hinted && ownsAddress(hinted, address)) return [hinted];
  const found = await users.findByEmail(address);
  return found && ownsAddress(found, address) ? [found] : [];
}
