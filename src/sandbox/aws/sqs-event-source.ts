import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { sleep } from "../core/server";
import { SANDBOX_REGION, sandboxClientConfig } from "./env";
import type { LocalLambda } from "./lambda";

export interface SqsEventSourceOptions {
  queueUrl: string;
  lambda: LocalLambda;
  /** Records per invocation (1-10000, default 10); above 10 several receives fill one batch. */
  batchSize?: number;
  /**
   * `maximumBatchingWindowInSeconds` (0-300, default 0): once a first record is in, how long Lambda keeps
   * gathering before it invokes with a batch that is not full. AWS requires at least 1 for a batchSize
   * above 10.
   */
  maximumBatchingWindowInSeconds?: number;
  /** The SQS stand-in's timeScale, so the batching window passes in the same scaled time as the queue's. */
  timeScale?: number;
  /** Concurrent invocations (scalingConfig.maximumConcurrency, 2-1000, default 2). */
  maximumConcurrency?: number;
  /** `functionResponseTypes: ["ReportBatchItemFailures"]`. */
  reportBatchItemFailures?: boolean;
  /** Long-poll wait per receive in SQS seconds (scaled by the stand-in's timeScale); default 20. */
  waitTimeSeconds?: number;
}

export interface SqsEventSourceStats {
  invocations: number;
  records: number;
  deleted: number;
  /** Invocations that threw or timed out: their whole batch stayed on the queue. */
  functionErrors: number;
  /** Records reported in batchItemFailures and so left on the queue. */
  itemFailures: number;
  pollErrors: number;
}

export interface SqsEventSource {
  readonly stats: SqsEventSourceStats;
  stop(): Promise<void>;
}

/** How often a batching window looks for more records while it is open. */
const WINDOW_POLL_MS = 10;

/**
 * An event source mapping from a queue of the SQS stand-in to a local function: long-polls the queue
 * with the real SDK client, invokes the function with SQS event records, and deletes what succeeded.
 * Failed messages are not touched: they reappear after the visibility timeout and the queue's own
 * RedrivePolicy moves them to the DLQ, as in AWS.
 */
export async function startSqsEventSource(options: SqsEventSourceOptions): Promise<SqsEventSource> {
  const batchSize = options.batchSize ?? 10;
  const concurrency = options.maximumConcurrency ?? 2;
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 10_000)) {
    throw new Error(`SQS event source: batchSize must be an integer from 1 to 10000 (got ${batchSize})`);
  }
  if (!(Number.isInteger(concurrency) && concurrency >= 2 && concurrency <= 1000)) {
    throw new Error(
      `SQS event source: maximumConcurrency must be an integer from 2 to 1000 (got ${concurrency})`,
    );
  }
  const windowSeconds = options.maximumBatchingWindowInSeconds ?? 0;
  if (!(Number.isInteger(windowSeconds) && windowSeconds >= 0 && windowSeconds <= 300)) {
    throw new Error(
      `SQS event source: maximumBatchingWindowInSeconds must be an integer from 0 to 300 (got ${windowSeconds})`,
    );
  }
  if (batchSize > 10 && windowSeconds < 1) {
    throw new Error(
      `SQS event source: a batchSize of ${batchSize} needs maximumBatchingWindowInSeconds of at least 1 (AWS rejects the mapping)`,
    );
  }
  const windowMs = windowSeconds * 1000 * (options.timeScale ?? 1);
  const { queueUrl, lambda } = options;
  const client = new SQSClient(sandboxClientConfig(new URL(queueUrl).origin));
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn", "VisibilityTimeout"] }),
  );
  const queueArn = Attributes?.["QueueArn"] ?? "";
  const visibility = Number(Attributes?.["VisibilityTimeout"] ?? 30);
  if (visibility < lambda.timeoutSeconds) {
    client.destroy();
    throw new Error(
      `SQS event source: queue visibility timeout ${visibility} s is less than function ${lambda.name}'s timeout ${lambda.timeoutSeconds} s; AWS rejects this mapping, raise the queue's visibilityTimeoutSeconds`,
    );
  }

  const stats: SqsEventSourceStats = {
    invocations: 0,
    records: 0,
    deleted: 0,
    functionErrors: 0,
    itemFailures: 0,
    pollErrors: 0,
  };
  const abort = new AbortController();

  const receive = async (max: number, wait: number): Promise<Message[]> => {
    const { Messages } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, max),
        WaitTimeSeconds: wait,
        MessageSystemAttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
      { abortSignal: abort.signal },
    );
    return Messages ?? [];
  };

  /** A long poll for the first record, then whatever arrives until the batch is full or the window ends. */
  const fillBatch = async (): Promise<Message[]> => {
    const batch = await receive(batchSize, options.waitTimeSeconds ?? 20);
    const windowEnds = Date.now() + windowMs;
    while (batch.length > 0 && batch.length < batchSize && !abort.signal.aborted) {
      const more = await receive(batchSize - batch.length, 0);
      if (more.length > 0) {
        batch.push(...more);
        continue;
      }
      const left = windowEnds - Date.now();
      if (left <= 0) break;
      await sleep(Math.min(left, WINDOW_POLL_MS));
    }
    return batch;
  };

  const deleteSucceeded = async (messages: Message[]) => {
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      const result = await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      stats.deleted += result.Successful?.length ?? 0;
    }
  };

  const processBatch = async (messages: Message[]) => {
    stats.invocations += 1;
    stats.records += messages.length;
    let result: unknown;
    try {
      result = await lambda.invoke({ Records: messages.map((m) => toSqsRecord(m, queueArn)) });
    } catch {
      stats.functionErrors += 1;
      return; // the whole batch becomes visible again after the visibility timeout
    }
    const failed = options.reportBatchItemFailures ? failedMessageIds(result, messages) : new Set<string>();
    stats.itemFailures += failed.size;
    await deleteSucceeded(messages.filter((m) => !failed.has(m.MessageId!)));
  };

  const poller = async () => {
    while (!abort.signal.aborted) {
      try {
        const batch = await fillBatch();
        if (batch.length > 0) await processBatch(batch);
      } catch {
        if (abort.signal.aborted) return;
        stats.pollErrors += 1;
        await sleep(100);
      }
    }
  };

  const pollers = Array.from({ length: concurrency }, () => poller());
  let stopped: Promise<void> | undefined;
  return {
    stats,
    stop() {
      stopped ??= (async () => {
        abort.abort();
        await Promise.all(pollers);
        client.destroy();
      })();
      return stopped;
    },
  };
}

/**
 * Which messages the function reported as failed. Per AWS: null/empty responses or an empty list
 * mean full success; an itemIdentifier that is missing, empty, or not a message of this batch makes
 * the whole batch a failure.
 */
export function failedMessageIds(result: unknown, messages: Message[]): Set<string> {
  const all = new Set(messages.map((m) => m.MessageId!));
  if (result === null || result === undefined || typeof result !== "object") return new Set();
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === null || failures === undefined) return new Set();
  if (!Array.isArray(failures)) return all;
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== "string" || !all.has(id)) return all;
    failed.add(id);
  }
  return failed;
}

/** An SQS event record exactly as Lambda's SQS poller builds it. */
function toSqsRecord(message: Message, queueArn: string) {
  const messageAttributes: Record<string, object> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString("base64") }
        : {}),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((b) => Buffer.from(b).toString("base64")),
      dataType: value.DataType,
    };
  }
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? "1",
      SentTimestamp: message.Attributes?.SentTimestamp ?? "",
      SenderId: message.Attributes?.SenderId ?? "",
      ApproximateFirstReceiveTimestamp: message.Attributes?.ApproximateFirstReceiveTimestamp ?? "",
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? "",
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: SANDBOX_REGION,
  };
}
