import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { type CanaryRecords, isCanarySendJob, processCanarySend } from "./canary";
import { processDelivery } from "./delivery-job";
import type { QueueMessage } from "./events";
import { jobIds } from "./ingest";
import type { Logger } from "./log";
import type { RecordReturner } from "./queue";
import { processSends, type RecordVerdict, type SendItem } from "./send-group";
import type { SendDeps } from "./send-job";
import { METRICS } from "./telemetry";
import { reconcileUser } from "./users";

export type WorkerDeps = SendDeps & {
  /** Records other than sends processed at once within a batch. */
  concurrency?: number;
  /** Without it, a record left for retry comes back after the queue's visibility timeout. */
  records?: RecordReturner;
  /** Where the outcome of each deployment canary is recorded for its status route; none: not recorded. */
  canary?: CanaryRecords;
};

export type WorkerHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

class PoisonMessage extends Error {
  override name = "PoisonMessage";
}

/**
 * The SQS handler (`ReportBatchItemFailures`). The batch's send jobs are sent together (`send-group.ts`);
 * the other jobs one by one. A record that fails is reported in `batchItemFailures` and redelivered, after
 * the delay its verdict names (a 429's `retry-after`) or the visibility timeout; after `maxReceiveCount`
 * receives the redrive policy moves it to the DLQ. Outcomes that retrying cannot change (permanent 4xx,
 * stale codes) are recorded and acknowledged.
 */
export function createWorkerHandler(deps: WorkerDeps): WorkerHandler {
  const { logger } = deps.telemetry;
  return async (event) => {
    const failures: SQSBatchResponse["batchItemFailures"] = [];
    const leaveForRetry = async (
      record: SQSRecord,
      reason: { error: string; detail?: string },
      afterSeconds?: number,
    ) => {
      if (afterSeconds !== undefined && deps.records) {
        try {
          await deps.records.returnAfter(record, afterSeconds);
        } catch (err) {
          logger.warn("could not shorten the record's visibility; it returns after the queue's timeout", {
            messageId: record.messageId,
            error: (err as Error).name,
          });
        }
      }
      failures.push({ itemIdentifier: record.messageId });
      deps.telemetry.count(METRICS.retried);
      logger.warn("record failed; left for SQS redelivery", {
        messageId: record.messageId,
        receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? 0),
        ...reason,
        ...(afterSeconds !== undefined ? { afterSeconds } : {}),
      });
    };

    const sends: Array<{ record: SQSRecord; item: SendItem }> = [];
    const others: Array<{ record: SQSRecord; message: QueueMessage; logger: Logger }> = [];
    for (const record of event.Records ?? []) {
      let message: QueueMessage;
      try {
        message = parseMessage(record.body);
      } catch (err) {
        await leaveForRetry(record, failureOf(err));
        continue;
      }
      const child = recordLogger(record, message, deps);
      if (message.job.kind === "send") {
        sends.push({ record, item: { messageId: record.messageId, job: message.job, logger: child } });
      } else {
        others.push({ record, message, logger: child });
      }
    }

    const sendVerdicts = async () => {
      let verdicts: Map<string, RecordVerdict>;
      try {
        verdicts = await sendVerdictsOf(
          sends.map((s) => s.item),
          deps,
        );
      } catch (err) {
        verdicts = new Map(
          sends.map((s) => [s.record.messageId, { kind: "retry", reason: (err as Error).name }]),
        );
      }
      for (const { record } of sends) {
        const verdict = verdicts.get(record.messageId);
        if (verdict?.kind === "done") continue;
        await leaveForRetry(
          record,
          { error: verdict?.reason ?? "no outcome" },
          verdict?.kind === "retry" ? verdict.afterSeconds : undefined,
        );
      }
    };
    let next = 0;
    const lane = async () => {
      while (next < others.length) {
        const { record, message, logger: child } = others[next++] as (typeof others)[number];
        try {
          await processRecord(message, { ...deps, telemetry: { ...deps.telemetry, logger: child } });
        } catch (err) {
          await leaveForRetry(record, failureOf(err));
        }
      }
    };
    await Promise.all([
      sends.length > 0 ? sendVerdicts() : undefined,
      ...Array.from({ length: Math.max(1, deps.concurrency ?? 1) }, lane),
    ]);
    deps.telemetry.flush();
    return { batchItemFailures: failures };
  };
}

/**
 * The batch's sends: users' mail together (`send-group.ts`); each deployment canary alone, with its outcome
 * recorded for the status route. Alone, because in a batch its verdict would be the batch's: a refusal the
 * canary must report (and acknowledge) would otherwise be the group's, which users' mail waits out.
 */
async function sendVerdictsOf(items: SendItem[], deps: WorkerDeps): Promise<Map<string, RecordVerdict>> {
  const { canary } = deps;
  const canaries = canary ? items.filter((item) => isCanarySendJob(item.job)) : [];
  const users = items.filter((item) => !canaries.includes(item));
  const verdicts = await Promise.all([
    users.length > 0 ? processSends(users, deps) : new Map<string, RecordVerdict>(),
    ...canaries.map(
      async (item) => new Map([[item.messageId, await processCanarySend(item, deps, canary!, processSends)]]),
    ),
  ]);
  return new Map(verdicts.flatMap((byRecord) => [...byRecord]));
}

function failureOf(err: unknown): { error: string; detail: string } {
  return { error: (err as Error).name, detail: (err as Error).message };
}

/** A child logger per record, so every line carries the ids even when records are processed together. */
function recordLogger(record: SQSRecord, message: QueueMessage, deps: WorkerDeps): Logger {
  return deps.telemetry.logger.createChild({
    persistentKeys: {
      svixId: message.svixId,
      type: message.type,
      messageId: record.messageId,
      ...jobIds(message),
    },
  });
}

async function processRecord(message: QueueMessage, deps: WorkerDeps): Promise<void> {
  const job = message.job;
  switch (job.kind) {
    case "send":
      return;
    case "delivery":
      await processDelivery(job, deps);
      return;
    case "user": {
      const snapshot = {
        id: job.userId,
        addresses: job.addresses,
        publicMetadata: job.publicMetadata,
        ...(job.primaryAddress ? { primaryAddress: job.primaryAddress } : {}),
        ...(job.updatedAtMs !== undefined ? { updatedAtMs: job.updatedAtMs } : {}),
      };
      await deps.users.remember?.(snapshot);
      await reconcileUser(snapshot, deps, { snapshotIsFresh: false });
      return;
    }
    case "user_deleted": {
      // The user's links go; the blocks stay, so a later sign-up with the address is blocked and flagged.
      const unlinked = await deps.store.unlinkUser(job.userId);
      await deps.users.forget?.(job.userId);
      deps.telemetry.logger.info("deleted user unlinked from the ledger", { unlinked });
      return;
    }
  }
}

const JOB_KINDS = new Set(["send", "delivery", "user", "user_deleted"]);

function parseMessage(body: string): QueueMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new PoisonMessage("queue message body is not JSON");
  }
  const m = parsed as Partial<QueueMessage> | null;
  if (!m || typeof m !== "object" || !m.job || !JOB_KINDS.has(m.job.kind as string)) {
    throw new PoisonMessage("queue message has no known job.kind");
  }
  const message = m as QueueMessage;
  // Delivery jobs queued before a deploy named one recipient as `address`.
  const legacy = message.job as { kind: string; address?: unknown; addresses?: unknown };
  if (legacy.kind === "delivery" && !Array.isArray(legacy.addresses)) {
    if (typeof legacy.address !== "string") throw new PoisonMessage("delivery job has no addresses");
    legacy.addresses = [legacy.address];
  }
  return message;
}
