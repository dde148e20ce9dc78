import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { AwsJsonClient, CallOptions } from "./aws/client";
import type { QueueMessage } from "./events";

/** Where ingest puts work for the worker. */
export interface JobQueue {
  /** Rejects once `options.deadlineAt` has passed rather than keep trying. */
  send(message: QueueMessage, options?: CallOptions): Promise<void>;
}

/**
 * The deployed queue, through an SQS {@link AwsJsonClient}; redrive to the dead-letter queue is SQS's own
 * policy, set by the Pulumi program.
 */
export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly sqs: AwsJsonClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: QueueMessage, options?: CallOptions): Promise<void> {
    await this.sqs.call(
      "SendMessage",
      { QueueUrl: this.queueUrl, MessageBody: JSON.stringify(message) },
      options,
    );
  }
}

export type BatchConsumer = (event: SQSEvent) => Promise<SQSBatchResponse>;

export interface InProcessQueueOptions {
  /** How long a received message stays invisible before it can be received again. */
  visibilityTimeoutMs: number;
  /** Receives allowed before the message goes to the dead-letter list (SQS redrive `maxReceiveCount`). */
  maxReceiveCount: number;
  batchSize?: number;
  /** Batches processed at once, like Lambda's SQS concurrency. */
  concurrency?: number;
}

interface Stored {
  id: string;
  body: string;
  sentAt: number;
  receiveCount: number;
  visibleAt: number;
  lastError?: string;
}

export interface DeadLetter {
  messageId: string;
  body: string;
  receiveCount: number;
}

/**
 * An in-memory SQS for the local server and tests, with the semantics the bridge relies on:
 * visibility timeout, partial batch failure (`batchItemFailures`), and redrive to a dead-letter list once a
 * message has been received `maxReceiveCount` times. Consumers get real `SQSEvent`s.
 */
export class InProcessQueue implements JobQueue {
  readonly deadLetters: DeadLetter[] = [];
  private readonly messages = new Map<string, Stored>();
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private consumer: BatchConsumer | undefined;
  private idleWaiters: Array<() => void> = [];
  private readonly batchSize: number;
  private readonly concurrency: number;

  constructor(private readonly options: InProcessQueueOptions) {
    this.batchSize = options.batchSize ?? 10;
    this.concurrency = options.concurrency ?? 1;
  }

  async send(message: QueueMessage): Promise<void> {
    this.sendRaw(JSON.stringify(message));
  }

  /** Enqueues any body, including ones the worker cannot parse (how poison messages are tested). */
  sendRaw(body: string): string {
    const id = crypto.randomUUID();
    this.messages.set(id, { id, body, sentAt: Date.now(), receiveCount: 0, visibleAt: 0 });
    this.schedule(0);
    return id;
  }

  /** Starts delivering batches to `consumer`. */
  start(consumer: BatchConsumer): void {
    this.consumer = consumer;
    this.schedule(0);
  }

  stop(): void {
    this.consumer = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Messages waiting or in flight. */
  get depth(): number {
    return this.messages.size;
  }

  /** Resolves once every message has been processed successfully or dead-lettered. */
  settle(): Promise<void> {
    if (this.messages.size === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(delayMs: number): void {
    if (!this.consumer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pump(), Math.max(0, delayMs));
  }

  private pump(): void {
    this.timer = undefined;
    const consumer = this.consumer;
    if (!consumer) return;
    while (this.running < this.concurrency) {
      const batch = this.receive();
      if (batch.length === 0) break;
      this.running++;
      void this.deliver(consumer, batch).finally(() => {
        this.running--;
        this.pump();
      });
    }
    this.afterPump();
  }

  private afterPump(): void {
    if (this.messages.size === 0 && this.running === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
      return;
    }
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const m of this.messages.values()) if (m.visibleAt > now) next = Math.min(next, m.visibleAt);
    if (Number.isFinite(next)) this.schedule(next - now);
  }

  /** Takes visible messages, redriving those already received `maxReceiveCount` times. */
  private receive(): Stored[] {
    const now = Date.now();
    const batch: Stored[] = [];
    for (const m of this.messages.values()) {
      if (batch.length >= this.batchSize) break;
      if (m.visibleAt > now) continue;
      if (m.receiveCount >= this.options.maxReceiveCount) {
        this.messages.delete(m.id);
        this.deadLetters.push({ messageId: m.id, body: m.body, receiveCount: m.receiveCount });
        continue;
      }
      m.receiveCount++;
      m.visibleAt = now + this.options.visibilityTimeoutMs;
      batch.push(m);
    }
    return batch;
  }

  private async deliver(consumer: BatchConsumer, batch: Stored[]): Promise<void> {
    let failed: Set<string>;
    try {
      const response = await consumer({ Records: batch.map(toRecord) });
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch {
      // A thrown handler fails the whole batch, as on Lambda.
      failed = new Set(batch.map((m) => m.id));
    }
    for (const m of batch) if (!failed.has(m.id)) this.messages.delete(m.id);
  }
}

function toRecord(m: Stored): SQSRecord {
  return {
    messageId: m.id,
    receiptHandle: `${m.id}#${m.receiveCount}`,
    body: m.body,
    attributes: {
      ApproximateReceiveCount: String(m.receiveCount),
      SentTimestamp: String(m.sentAt),
      SenderId: "local",
      ApproximateFirstReceiveTimestamp: String(m.sentAt),
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:local:000000000000:bridge-local",
    awsRegion: "local",
  };
}
