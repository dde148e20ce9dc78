import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { processDelivery } from "./delivery-job";
import type { QueueMessage } from "./events";
import { jobIds } from "./ingest";
import { processSend, type SendDeps } from "./send-job";
import { METRICS } from "./telemetry";
import { reconcileUser } from "./users";

export type WorkerDeps = SendDeps & {
  /** Records processed at once within a batch; Resend's team rate limit argues for few. */
  concurrency?: number;
};

export type WorkerHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

class PoisonMessage extends Error {
  override name = "PoisonMessage";
}

/**
 * The SQS handler (`ReportBatchItemFailures`). A record that throws is reported as failed and redelivered
 * after the visibility timeout; after `maxReceiveCount` receives the redrive policy moves it to the DLQ.
 * Outcomes that retrying cannot change (permanent 4xx, stale codes) are recorded and acknowledged.
 */
export function createWorkerHandler(deps: WorkerDeps): WorkerHandler {
  const { logger } = deps.telemetry;
  return async (event) => {
    const failures: SQSBatchResponse["batchItemFailures"] = [];
    const records = event.Records ?? [];
    let next = 0;
    const lane = async () => {
      while (next < records.length) {
        const record = records[next++] as SQSRecord;
        try {
          await processRecord(record, deps);
        } catch (err) {
          failures.push({ itemIdentifier: record.messageId });
          deps.telemetry.count(METRICS.retried);
          logger.warn("record failed; left for SQS redelivery", {
            messageId: record.messageId,
            receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? 0),
            error: (err as Error).name,
            detail: (err as Error).message,
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, deps.concurrency ?? 1) }, lane));
    deps.telemetry.flush();
    return { batchItemFailures: failures };
  };
}

async function processRecord(record: SQSRecord, deps: WorkerDeps): Promise<void> {
  const message = parseMessage(record.body);
  // A child logger per record, so every line carries the ids even when records are processed concurrently.
  const logger = deps.telemetry.logger.createChild({
    persistentKeys: {
      svixId: message.svixId,
      type: message.type,
      messageId: record.messageId,
      ...jobIds(message),
    },
  });
  const scoped = { ...deps, telemetry: { ...deps.telemetry, logger } };
  const job = message.job;
  switch (job.kind) {
    case "send":
      await processSend(job, scoped);
      return;
    case "delivery":
      await processDelivery(job, scoped);
      return;
    case "user":
      await reconcileUser(
        {
          id: job.userId,
          addresses: job.addresses,
          publicMetadata: job.publicMetadata,
          ...(job.primaryAddress ? { primaryAddress: job.primaryAddress } : {}),
        },
        scoped,
        { snapshotIsFresh: false },
      );
      return;
    case "user_deleted": {
      // The user's links go; the blocks stay, so a later sign-up with the address is blocked and flagged.
      const unlinked = await deps.store.unlinkUser(job.userId);
      logger.info("deleted user unlinked from the ledger", { unlinked });
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
