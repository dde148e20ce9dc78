import { createHash, randomBytes, randomUUID } from "node:crypto";
import { AwsServiceError } from "./json-protocol";

/** A message attribute as the SQS JSON protocol carries it (binary values are base64 strings). */
export interface SqsMessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
  StringListValues?: string[];
  BinaryListValues?: string[];
}

export interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  messageAttributes: Record<string, SqsMessageAttribute>;
  md5OfMessageAttributes?: string;
  sentAt: number;
  /** When the message may next be received (delay or visibility timeout), epoch ms. */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** The only receipt handle that can delete the message or change its visibility. */
  currentReceiptHandle?: string;
  deadLetterSourceArn?: string;
}

export type MessageState = "visible" | "delayed" | "inflight";

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

/** Attributes a standard queue accepts, with AWS's limits; values are kept as strings like AWS does. */
const ATTRIBUTE_RANGES: Record<string, [number, number]> = {
  VisibilityTimeout: [0, 43_200],
  DelaySeconds: [0, 900],
  MaximumMessageSize: [1_024, 1_048_576],
  MessageRetentionPeriod: [60, 1_209_600],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  KmsDataKeyReusePeriodSeconds: [60, 86_400],
};
const FREE_FORM_ATTRIBUTES = new Set([
  "Policy",
  "RedriveAllowPolicy",
  "KmsMasterKeyId",
  "SqsManagedSseEnabled",
]);

const DEFAULT_QUEUE_ATTRIBUTES: Record<string, string> = {
  VisibilityTimeout: "30",
  DelaySeconds: "0",
  MaximumMessageSize: "262144",
  MessageRetentionPeriod: "345600",
  ReceiveMessageWaitTimeSeconds: "0",
  SqsManagedSseEnabled: "true",
};

/**
 * One standard queue: messages in arrival order, visibility timeouts, receive counts and receipt
 * handles. Durations (seconds in the API) become milliseconds multiplied by `timeScale`.
 */
export class SqsQueue {
  readonly messages: StoredMessage[] = [];
  readonly attributes: Record<string, string>;
  readonly createdAt = Date.now();
  lastModifiedAt = Date.now();
  lastPurgeAt = 0;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly arn: string,
    attributes: Record<string, string>,
    private readonly timeScale: number,
  ) {
    this.attributes = { ...DEFAULT_QUEUE_ATTRIBUTES, ...attributes };
  }

  scaledMs(seconds: number): number {
    return seconds * 1000 * this.timeScale;
  }

  numberAttribute(name: string): number {
    return Number(this.attributes[name] ?? DEFAULT_QUEUE_ATTRIBUTES[name] ?? 0);
  }

  get redrivePolicy(): RedrivePolicy | undefined {
    const raw = this.attributes["RedrivePolicy"];
    return raw ? (JSON.parse(raw) as RedrivePolicy) : undefined;
  }

  stateOf(message: StoredMessage, now = Date.now()): MessageState {
    if (message.visibleAt <= now) return "visible";
    return message.receiveCount === 0 ? "delayed" : "inflight";
  }

  /** Drops messages older than the retention period (counted from the original send, as AWS does). */
  expire(now = Date.now()): void {
    const retentionMs = this.scaledMs(this.numberAttribute("MessageRetentionPeriod"));
    for (let i = this.messages.length - 1; i >= 0; i--) {
      if (this.messages[i]!.sentAt + retentionMs <= now) this.messages.splice(i, 1);
    }
  }

  enqueue(input: {
    body: string;
    delaySeconds?: number;
    messageAttributes?: Record<string, SqsMessageAttribute>;
  }): StoredMessage {
    const now = Date.now();
    const attributes = input.messageAttributes ?? {};
    const message: StoredMessage = {
      messageId: randomUUID(),
      body: input.body,
      md5OfBody: md5Hex(Buffer.from(input.body, "utf8")),
      messageAttributes: attributes,
      md5OfMessageAttributes: Object.keys(attributes).length ? md5OfMessageAttributes(attributes) : undefined,
      sentAt: now,
      visibleAt: now + this.scaledMs(input.delaySeconds ?? this.numberAttribute("DelaySeconds")),
      receiveCount: 0,
    };
    this.messages.push(message);
    return message;
  }

  /** Accepts a message moved here by a source queue's redrive policy; it keeps its id and history. */
  acceptDeadLetter(message: StoredMessage, sourceArn: string): void {
    message.deadLetterSourceArn = sourceArn;
    message.visibleAt = Date.now();
    message.currentReceiptHandle = undefined;
    this.messages.push(message);
  }

  /**
   * Takes up to `max` visible messages, making each invisible for `visibilitySeconds`. A message that
   * has already been received `maxReceiveCount` times is handed to `redrive` instead of delivered.
   */
  receive(
    max: number,
    visibilitySeconds: number,
    redrive: (message: StoredMessage, policy: RedrivePolicy) => boolean,
  ): StoredMessage[] {
    const now = Date.now();
    this.expire(now);
    const policy = this.redrivePolicy;
    const taken: StoredMessage[] = [];
    for (let i = 0; i < this.messages.length && taken.length < max; i++) {
      const message = this.messages[i]!;
      if (message.visibleAt > now) continue;
      if (policy && message.receiveCount >= policy.maxReceiveCount && redrive(message, policy)) {
        this.messages.splice(i, 1);
        i -= 1;
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + this.scaledMs(visibilitySeconds);
      message.currentReceiptHandle = encodeReceiptHandle(this.arn, message.messageId);
      taken.push(message);
    }
    return taken;
  }

  /** Finds the message a receipt handle was issued for; `stale` when it has been received again since. */
  byReceiptHandle(handle: string, messageId: string): { message?: StoredMessage; stale: boolean } {
    const message = this.messages.find((m) => m.messageId === messageId);
    if (!message) return { stale: false };
    return { message, stale: message.currentReceiptHandle !== handle };
  }

  remove(message: StoredMessage): void {
    const index = this.messages.indexOf(message);
    if (index >= 0) this.messages.splice(index, 1);
  }

  setAttributes(attributes: Record<string, string>, resolveQueueArn: (arn: string) => boolean): void {
    for (const [name, value] of Object.entries(attributes)) {
      validateAttribute(name, String(value), resolveQueueArn);
    }
    Object.assign(this.attributes, attributes);
    this.lastModifiedAt = Date.now();
  }
}

function validateAttribute(name: string, value: string, resolveQueueArn: (arn: string) => boolean): void {
  const range = ATTRIBUTE_RANGES[name];
  if (range) {
    const n = Number(value);
    if (!Number.isInteger(n) || n < range[0] || n > range[1]) {
      throw new AwsServiceError(
        "InvalidAttributeValue",
        `Invalid value for the parameter ${name}: "${value}"; use an integer from ${range[0]} to ${range[1]}`,
      );
    }
    return;
  }
  if (name === "RedrivePolicy") {
    validateRedrivePolicy(value, resolveQueueArn);
    return;
  }
  if (name === "FifoQueue" || name === "ContentBasedDeduplication") {
    throw new AwsServiceError(
      "InvalidAttributeName",
      `${name}: FIFO queues are not emulated by the SQS stand-in; declare a standard queue`,
    );
  }
  if (!FREE_FORM_ATTRIBUTES.has(name)) {
    throw new AwsServiceError("InvalidAttributeName", `Unknown Attribute ${name}.`);
  }
}

function validateRedrivePolicy(value: string, resolveQueueArn: (arn: string) => boolean): void {
  if (value === "") return;
  let policy: Partial<RedrivePolicy>;
  try {
    policy = JSON.parse(value) as Partial<RedrivePolicy>;
  } catch {
    throw new AwsServiceError("InvalidAttributeValue", "RedrivePolicy must be a JSON object string");
  }
  const maxReceiveCount = Number(policy.maxReceiveCount);
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
    throw new AwsServiceError(
      "InvalidAttributeValue",
      "RedrivePolicy.maxReceiveCount must be an integer from 1 to 1000",
    );
  }
  if (typeof policy.deadLetterTargetArn !== "string" || !resolveQueueArn(policy.deadLetterTargetArn)) {
    throw new AwsServiceError(
      "InvalidAttributeValue",
      `Value ${value} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist (create the DLQ first and use its QueueArn).`,
    );
  }
}

/** An opaque-looking handle that still names its queue and message, so no handle table is needed. */
function encodeReceiptHandle(queueArn: string, messageId: string): string {
  return Buffer.from(`${queueArn} ${messageId} ${randomBytes(48).toString("hex")}`, "utf8").toString(
    "base64",
  );
}

export function decodeReceiptHandle(handle: string): { queueArn: string; messageId: string } | undefined {
  const parts = Buffer.from(handle, "base64").toString("utf8").split(" ");
  if (parts.length !== 3 || !parts[0]?.startsWith("arn:aws:sqs:") || !parts[1]) return undefined;
  return { queueArn: parts[0], messageId: parts[1] };
}

function md5Hex(data: Buffer): string {
  return createHash("md5").update(data).digest("hex");
}

/**
 * SQS's checksum over message attributes: for each attribute by name, length-prefixed name, data
 * type, a transport byte (1 string, 2 binary) and the length-prefixed value.
 */
export function md5OfMessageAttributes(attributes: Record<string, SqsMessageAttribute>): string {
  const parts: Buffer[] = [];
  const lengthPrefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const attribute = attributes[name]!;
    lengthPrefixed(Buffer.from(name, "utf8"));
    lengthPrefixed(Buffer.from(attribute.DataType, "utf8"));
    if (attribute.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      lengthPrefixed(Buffer.from(attribute.BinaryValue, "base64"));
    } else {
      parts.push(Buffer.from([1]));
      lengthPrefixed(Buffer.from(attribute.StringValue ?? "", "utf8"));
    }
  }
  return md5Hex(Buffer.concat(parts));
}
