import { defaultSleep, withBackoff } from "../lib/backoff";
import { type BatchItemResult, MAX_BATCH_EMAILS, type OutgoingEmail, type SendFailure } from "./email-sender";
import type { SendJob } from "./events";
import type { Logger } from "./log";
import {
  buildEmail,
  idempotencyKeyFor,
  preSendChecks,
  recordFailed,
  recordSent,
  type SendDeps,
  sendBase,
  triageSend,
} from "./send-job";
import type { GroupMember } from "./store";
import { METRICS } from "./telemetry";

/** One SQS record holding a send job, with the record's own logger. */
export interface SendItem {
  messageId: string;
  job: SendJob;
  logger: Logger;
}

/**
 * What becomes of an SQS record: acknowledged, or left for redelivery after `afterSeconds` (a visibility
 * change on that record) or, without it, after the queue's visibility timeout.
 */
export type RecordVerdict = { kind: "done" } | { kind: "retry"; afterSeconds?: number; reason: string };

const DONE: RecordVerdict = { kind: "done" };
export const DEFAULT_MAX_PACING_WAIT_MS = 20_000;
/** DynamoDB items hold at most 400 KB, and a batch group's record holds its emails. */
const MAX_GROUP_BYTES = 300_000;
/** A member another group claimed first (a duplicate SQS delivery racing this one): look again soon. */
const CLAIM_CONFLICT_RETRY_SECONDS = 2;
/** Resend's 429 without `retry-after`: its limit is per second. */
const DEFAULT_RETRY_AFTER_MS = 1_000;

interface Member {
  ref: GroupMember;
  email: OutgoingEmail;
  logger: Logger;
  /** The group it was claimed for before, whose record was never written (so nothing was sent). */
  previous?: string;
}

/**
 * Emails sent in one Resend request. A lone email is `POST /emails` under its own key (`clerk-email/<id>`,
 * as ever); more are one `POST /emails/batch` under the group's key, recorded before the request.
 */
interface SendGroup {
  groupId: string;
  single: boolean;
  idempotencyKey: string;
  members: Member[];
  /** Recorded by an earlier attempt, which may have reached Resend: sent as recorded, never released. */
  resumed: boolean;
}

type Attempt =
  | { kind: "accepted"; items: BatchItemResult[] }
  | { kind: "refused"; failure: SendFailure; mayHaveBeenAccepted: boolean }
  | { kind: "paced"; waitMs: number; mayHaveBeenAccepted: boolean };

class AttemptFailed extends Error {
  override name = "AttemptFailed";
  constructor(readonly failure: SendFailure) {
    super(failure.name);
  }
}

class PacingRefused extends Error {
  override name = "PacingRefused";
  constructor(readonly waitMs: number) {
    super(`Resend schedule is ${waitMs} ms long`);
  }
}

/**
 * The send jobs of one SQS batch. Each email is triaged (already processed, claimed by a group, or checked
 * before sending); emails claimed by an earlier group are re-sent in that group exactly as recorded; the
 * rest are sent together, up to 100 per `POST /emails/batch`, so a rush costs one request per batch rather
 * than per code. Every request waits for its slot on the shared schedule (`pacing.ts`). Returns a verdict
 * per SQS message id.
 */
export async function processSends(items: SendItem[], deps: SendDeps): Promise<Map<string, RecordVerdict>> {
  const byEmail = new Map<string, SendItem[]>();
  for (const item of items) {
    byEmail.set(item.job.clerkEmailId, [...(byEmail.get(item.job.clerkEmailId) ?? []), item]);
  }
  const verdicts = new Map<string, RecordVerdict>();
  const claimed = new Map<string, SendItem[]>();
  const ready: Member[] = [];

  const firsts = [...byEmail.values()].map((same) => same[0] as SendItem);
  const triaged = await Promise.allSettled(firsts.map((item) => triageSend(item.job, deps, item.logger)));
  // In the order SQS gave the records, so a batch lists its emails as they were queued.
  firsts.forEach((item, i) => {
    const id = item.job.clerkEmailId;
    const triage = triaged[i] as PromiseSettledResult<Awaited<ReturnType<typeof triageSend>>>;
    if (triage.status === "rejected") verdicts.set(id, unexpected(triage.reason));
    else if (triage.value.kind === "settled") verdicts.set(id, DONE);
    else if (triage.value.kind === "claimed") {
      claimed.set(triage.value.groupId, [...(claimed.get(triage.value.groupId) ?? []), item]);
    } else ready.push(newMember(item.job, deps, item.logger));
  });

  const groups: SendGroup[] = [];
  await Promise.all(
    [...claimed].map(async ([groupId, present]) => {
      try {
        const group = await recordedGroup(groupId, present, deps);
        if (group) {
          groups.push(group);
          return;
        }
        // Claimed, but the group's record was never written, so its request was never made: check and
        // group these emails afresh.
        for (const { job, logger } of present) {
          const suppression = await deps.store.getSuppression(job.to);
          const triage = await preSendChecks(job, { deps, logger, suppression });
          if (triage.kind === "settled") verdicts.set(job.clerkEmailId, DONE);
          else ready.push({ ...newMember(job, deps, logger), previous: groupId });
        }
      } catch (err) {
        for (const { job } of present) verdicts.set(job.clerkEmailId, unexpected(err));
      }
    }),
  );
  groups.push(...newGroups(ready));

  await Promise.all(
    groups.map(async (group) => {
      let outcome: Map<string, RecordVerdict>;
      try {
        outcome = await sendGroup(group, deps);
      } catch (err) {
        deps.telemetry.logger.warn("send group failed; its records are left for redelivery", {
          groupId: group.groupId,
          error: (err as Error).name,
          detail: (err as Error).message,
        });
        outcome = new Map(group.members.map((m) => [m.ref.clerkEmailId, unexpected(err)]));
      }
      for (const [id, verdict] of outcome) verdicts.set(id, verdict);
    }),
  );

  return new Map(
    items.map((item) => [item.messageId, verdicts.get(item.job.clerkEmailId) ?? unexpected(undefined)]),
  );
}

function newMember(job: SendJob, deps: SendDeps, logger: Logger): Member {
  return { ref: sendBase(job), email: buildEmail(job, deps.settings), logger };
}

function unexpected(err: unknown): RecordVerdict {
  return { kind: "retry", reason: err instanceof Error ? err.name : "no outcome" };
}

/** The group an email was claimed for, as recorded; undefined when its record was never written. */
async function recordedGroup(
  groupId: string,
  present: SendItem[],
  deps: SendDeps,
): Promise<SendGroup | undefined> {
  if (groupId.startsWith("single:")) {
    // A lone email's request is rebuilt from its own job: only its own SQS record can bring it back.
    const { job, logger } = present[0] as SendItem;
    return {
      groupId,
      single: true,
      idempotencyKey: idempotencyKeyFor(job.clerkEmailId),
      members: [newMember(job, deps, logger)],
      resumed: true,
    };
  }
  const record = await deps.store.getSendGroup(groupId);
  if (!record) return undefined;
  const loggers = new Map(present.map((item) => [item.job.clerkEmailId, item.logger]));
  return {
    groupId,
    single: false,
    idempotencyKey: record.idempotencyKey,
    members: record.members.map((ref, i) => ({
      ref,
      email: record.emails[i] as OutgoingEmail,
      logger: loggers.get(ref.clerkEmailId) ?? deps.telemetry.logger,
    })),
    resumed: true,
  };
}

/** Up to 100 emails per request, and few enough bytes that the group's record fits a DynamoDB item. */
function newGroups(ready: Member[]): SendGroup[] {
  const chunks: Member[][] = [];
  let current: Member[] = [];
  let bytes = 0;
  for (const member of ready) {
    const size = Buffer.byteLength(JSON.stringify(member.email));
    if (current.length > 0 && (current.length >= MAX_BATCH_EMAILS || bytes + size > MAX_GROUP_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(member);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks.map((members) => {
    if (members.length === 1) {
      const id = (members[0] as Member).ref.clerkEmailId;
      return {
        groupId: `single:${id}`,
        single: true,
        idempotencyKey: idempotencyKeyFor(id),
        members,
        resumed: false,
      };
    }
    const uuid = crypto.randomUUID();
    return {
      groupId: `batch:${uuid}`,
      single: false,
      idempotencyKey: `clerk-batch/${uuid}`,
      members,
      resumed: false,
    };
  });
}

/**
 * Claims the members (a new group), records a batch group, waits for the request's slot, sends and records
 * each member's outcome. The claims and the slot are requested together, so a lone code on an idle
 * schedule waits for neither.
 */
async function sendGroup(group: SendGroup, deps: SendDeps): Promise<Map<string, RecordVerdict>> {
  const verdicts = new Map<string, RecordVerdict>();
  const [slot, claims] = await Promise.all([
    deps.pacer.reserve(deps.maxPacingWaitMs ?? DEFAULT_MAX_PACING_WAIT_MS),
    group.resumed
      ? group.members.map(() => true)
      : Promise.all(
          group.members.map((m) => deps.store.claimForGroup(m.ref.clerkEmailId, group.groupId, m.previous)),
        ),
  ]);
  const members: Member[] = [];
  group.members.forEach((member, i) => {
    if (claims[i]) members.push(member);
    else {
      member.logger.info("email claimed by another send group; looking again shortly", {
        clerkEmailId: member.ref.clerkEmailId,
      });
      verdicts.set(member.ref.clerkEmailId, {
        kind: "retry",
        afterSeconds: CLAIM_CONFLICT_RETRY_SECONDS,
        reason: "claimed by another send group",
      });
    }
  });
  if (members.length === 0) return verdicts;
  const sending: SendGroup = { ...group, members };

  let attempt: Attempt;
  if (!slot.granted) {
    attempt = { kind: "paced", waitMs: slot.waitMs, mayHaveBeenAccepted: false };
  } else {
    if (!group.resumed && !group.single) {
      await deps.store.putSendGroup({
        groupId: group.groupId,
        members: members.map((m) => m.ref),
        emails: members.map((m) => m.email),
        idempotencyKey: group.idempotencyKey,
      });
    }
    attempt = await send(sending, slot.atMs, deps);
  }
  for (const [id, verdict] of await settle(sending, attempt, deps)) verdicts.set(id, verdict);
  return verdicts;
}

/**
 * The request, at its slot, with in-process retries for answers that leave it open whether Resend has it
 * (no answer, 5xx, a concurrent request under the key): each retry is the same request under the same key,
 * on a slot of its own. A 429 is not retried here: the records go back to the queue for its `retry-after`.
 */
async function send(group: SendGroup, firstSlotAt: number, deps: SendDeps): Promise<Attempt> {
  const sleep = deps.sleep ?? defaultSleep;
  const now = deps.now ?? Date.now;
  let mayHaveBeenAccepted = false;
  try {
    const items = await withBackoff(
      async (attempt) => {
        let slotAt = firstSlotAt;
        if (attempt > 1) {
          const slot = await deps.pacer.reserve(deps.maxPacingWaitMs ?? DEFAULT_MAX_PACING_WAIT_MS);
          if (!slot.granted) throw new PacingRefused(slot.waitMs);
          slotAt = slot.atMs;
        }
        if (slotAt > now()) await sleep(slotAt - now());
        const outcome = group.single
          ? await deps.email.send((group.members[0] as Member).email, group.idempotencyKey)
          : await deps.email.sendBatch(
              group.members.map((m) => m.email),
              group.idempotencyKey,
            );
        if (!outcome.ok) {
          const { status } = outcome;
          mayHaveBeenAccepted ||= status === null || status >= 500 || status === 409;
          throw new AttemptFailed(outcome);
        }
        return "items" in outcome ? outcome.items : [{ ok: true as const, id: outcome.id }];
      },
      (err) =>
        err instanceof AttemptFailed && err.failure.retryable && err.failure.status !== 429
          ? { retry: true, retryAfterMs: err.failure.retryAfterMs }
          : { retry: false },
      {
        policy: deps.backoff,
        sleep,
        onRetry: (attempt, delayMs, err) => {
          deps.telemetry.count(METRICS.retried);
          deps.telemetry.logger.warn("Resend send failed; backing off", {
            groupId: group.groupId,
            emails: group.members.length,
            attempt,
            delayMs,
            error: (err as Error).message,
          });
        },
      },
    );
    return { kind: "accepted", items };
  } catch (err) {
    if (err instanceof AttemptFailed) return { kind: "refused", failure: err.failure, mayHaveBeenAccepted };
    if (err instanceof PacingRefused) return { kind: "paced", waitMs: err.waitMs, mayHaveBeenAccepted };
    throw err;
  }
}

/** Records each member's outcome and says what becomes of its SQS record. */
async function settle(
  group: SendGroup,
  attempt: Attempt,
  deps: SendDeps,
): Promise<Map<string, RecordVerdict>> {
  const all = (verdict: RecordVerdict) => new Map(group.members.map((m) => [m.ref.clerkEmailId, verdict]));
  if (attempt.kind === "accepted") {
    await Promise.all(
      group.members.map((m, i) => {
        const item = attempt.items[i] ?? { ok: true };
        return item.ok
          ? recordSent(m.ref, m.email, item.id, deps, m.logger)
          : recordFailed(
              m.ref,
              { name: "validation_error", status: 422, message: item.message },
              deps,
              m.logger,
            );
      }),
    );
    await forget(group, deps);
    return all(DONE);
  }
  if (attempt.kind === "paced") {
    // The schedule is longer than this invocation may wait: the records come back when their turn is near.
    if (!attempt.mayHaveBeenAccepted) await release(group, deps);
    return all({ kind: "retry", afterSeconds: Math.ceil(attempt.waitMs / 1000), reason: "paced" });
  }
  const { failure } = attempt;
  if (failure.status === 429) {
    // Someone else on the team used the budget: every worker holds off for Resend's retry-after, and these
    // records come back exactly then, not after the queue's visibility timeout.
    const retryAfterMs = failure.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
    deps.telemetry.count(METRICS.rateLimited);
    deps.telemetry.logger.warn("Resend rate limit reached; records return after its retry-after", {
      groupId: group.groupId,
      emails: group.members.length,
      error: failure.name,
      retryAfterMs,
    });
    await deps.pacer.holdUntil((deps.now ?? Date.now)() + retryAfterMs);
    if (!attempt.mayHaveBeenAccepted) await release(group, deps);
    return all({
      kind: "retry",
      afterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
      reason: failure.name,
    });
  }
  if (!failure.retryable) {
    // By name, as before: Resend's message about a whole request stays out of the records (the delivery
    // canary reads it from the answer itself).
    const refusal = { name: failure.name, status: failure.status };
    await Promise.all(group.members.map((m) => recordFailed(m.ref, refusal, deps, m.logger)));
    await forget(group, deps);
    return all(DONE);
  }
  // Maybe sent (no answer, 5xx) or refused for the key: the group stays recorded and is re-sent as it is.
  return all({ kind: "retry", reason: `Resend ${failure.status ?? "network"} ${failure.name}` });
}

/**
 * Undoes the claims and the record of a new group Resend certainly did not accept, so its emails are
 * checked (a stale code is dropped) and grouped afresh when they come back. A group that may have reached
 * Resend is never released: only re-sending it under its key keeps each email sent once.
 */
async function release(group: SendGroup, deps: SendDeps): Promise<void> {
  if (group.resumed) return;
  // The record goes first: if a claim then stays behind, its member finds no record and is grouped afresh.
  // The other way round, a member left claimed would bring back a record listing members already regrouped.
  if (!group.single) await deps.store.deleteSendGroup(group.groupId);
  await Promise.all(
    group.members.map((m) => deps.store.releaseGroupClaim(m.ref.clerkEmailId, group.groupId)),
  );
}

/** Every member has its outcome: the group's record (it holds the codes) is no longer needed. */
async function forget(group: SendGroup, deps: SendDeps): Promise<void> {
  if (group.single) return;
  await deps.store.deleteSendGroup(group.groupId).catch((err: Error) => {
    deps.telemetry.logger.warn("send group record not deleted; it expires on its own", {
      groupId: group.groupId,
      error: err.name,
    });
  });
}
