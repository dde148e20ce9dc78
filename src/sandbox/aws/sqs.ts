import type { StandInServer } from "../core/server";
import { sleep } from "../core/server";
import { SANDBOX_ACCOUNT_ID, SANDBOX_REGION } from "./env";
import { AwsServiceError, createAwsJsonServer, requiredString } from "./json-protocol";
import {
  decodeReceiptHandle,
  type MessageState,
  type SqsMessageAttribute,
  SqsQueue,
  type StoredMessage,
} from "./sqs-queue";

export interface SqsStandInOptions {
  /** Multiplies every SQS duration (visibility, delay, long-poll wait, retention); 0.01 turns 30 s into 300 ms. */
  timeScale?: number;
}

export interface SqsMessageSnapshot {
  messageId: string;
  body: string;
  state: MessageState;
  receiveCount: number;
  messageAttributes: Record<string, SqsMessageAttribute>;
  sentAt: string;
  deadLetterSourceArn?: string;
}

export interface SqsStandIn {
  /** Base URL for `AWS_ENDPOINT_URL_SQS` or a client's `endpoint`; queue URLs live under it. */
  endpoint: string;
  server: StandInServer;
  /** Creates a queue directly (as a deployed `aws.sqs.Queue` would exist); returns its URL. */
  createQueue(name: string, attributes?: Record<string, string>): string;
  queueUrl(name: string): string;
  queueArn(name: string): string;
  /** Every message currently held by the queue, in arrival order. */
  messages(queueName: string): SqsMessageSnapshot[];
  /** The messages of the dead-letter queue named by this queue's RedrivePolicy. */
  deadLetters(queueName: string): SqsMessageSnapshot[];
  close(): Promise<void>;
}

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
/** The caller identity every sandbox message is "sent" by. */
const SANDBOX_SENDER_ID = "AIDASANDBOXSENDER0000";
const LONG_POLL_TICK_MS = 10;

/**
 * A local SQS (standard queues) speaking the AWS JSON 1.0 protocol the v3 SDK uses, with AWS's
 * query-compatible error headers so the SDK raises its named exceptions (`QueueDoesNotExist`, ...).
 */
export async function startSqsStandIn(options: SqsStandInOptions = {}): Promise<SqsStandIn> {
  const timeScale = options.timeScale ?? 1;
  if (!(timeScale > 0)) throw new Error(`SQS stand-in timeScale must be > 0 (got ${timeScale})`);
  const queues = new Map<string, SqsQueue>();
  let endpoint = "";
  let closed = false;

  const arnOf = (name: string) => `arn:aws:sqs:${SANDBOX_REGION}:${SANDBOX_ACCOUNT_ID}:${name}`;
  const byArn = (arn: string) => [...queues.values()].find((q) => q.arn === arn);
  const notFound = () =>
    new AwsServiceError(
      "QueueDoesNotExist",
      "The specified queue does not exist.",
      400,
      "AWS.SimpleQueueService.NonExistentQueue",
    );

  const queueFromUrl = (input: Record<string, unknown>): SqsQueue => {
    const url = requiredString(input, "QueueUrl", "MissingParameter");
    // Any host is accepted (the SDK may send to the queue URL's origin); account and name must match.
    const match = /\/(\d{12})\/([^/?#]+)\/?$/.exec(url);
    const queue = match && match[1] === SANDBOX_ACCOUNT_ID ? queues.get(match[2]!) : undefined;
    if (!queue) throw notFound();
    return queue;
  };

  const createQueue = (name: string, attributes: Record<string, string> = {}): string => {
    if (name.endsWith(".fifo")) {
      throw new AwsServiceError(
        "InvalidAttributeName",
        `${name}: FIFO queues are not emulated by the SQS stand-in`,
      );
    }
    if (!QUEUE_NAME.test(name)) {
      throw new AwsServiceError(
        "InvalidParameterValue",
        `QueueName "${name}" is invalid: use 1-80 letters, digits, hyphens or underscores`,
      );
    }
    const existing = queues.get(name);
    if (existing) {
      const differing = Object.entries(attributes).find(([k, v]) => existing.attributes[k] !== String(v));
      if (differing) {
        throw new AwsServiceError(
          "QueueNameExists",
          `A queue already exists with the same name and a different value for attribute ${differing[0]}`,
          400,
          "QueueAlreadyExists",
        );
      }
      return existing.url;
    }
    const queue = new SqsQueue(name, `${endpoint}/${SANDBOX_ACCOUNT_ID}/${name}`, arnOf(name), {}, timeScale);
    queue.setAttributes(stringify(attributes), (arn) => byArn(arn) !== undefined);
    queues.set(name, queue);
    return queue.url;
  };

  const redrive = (source: SqsQueue) => (message: StoredMessage, policy: { deadLetterTargetArn: string }) => {
    const dlq = byArn(policy.deadLetterTargetArn);
    if (!dlq) return false; // AWS keeps the message when the DLQ is gone.
    dlq.acceptDeadLetter(message, source.arn);
    return true;
  };

  const receiveMessage = async (input: Record<string, unknown>) => {
    const queue = queueFromUrl(input);
    const max = intInRange(input, "MaxNumberOfMessages", 1, 10, 1);
    const visibility = intInRange(
      input,
      "VisibilityTimeout",
      0,
      43_200,
      queue.numberAttribute("VisibilityTimeout"),
    );
    const wait = intInRange(
      input,
      "WaitTimeSeconds",
      0,
      20,
      queue.numberAttribute("ReceiveMessageWaitTimeSeconds"),
    );
    const deadline = Date.now() + queue.scaledMs(wait);
    let taken = queue.receive(max, visibility, redrive(queue));
    while (taken.length === 0 && !closed && Date.now() < deadline) {
      await sleep(Math.min(LONG_POLL_TICK_MS, deadline - Date.now()));
      taken = queue.receive(max, visibility, redrive(queue));
    }
    const systemNames = [
      ...((input["AttributeNames"] as string[] | undefined) ?? []),
      ...((input["MessageSystemAttributeNames"] as string[] | undefined) ?? []),
    ];
    const attributeFilter = (input["MessageAttributeNames"] as string[] | undefined) ?? [];
    return { Messages: taken.map((m) => toWireMessage(m, systemNames, attributeFilter)) };
  };

  const sendOne = (queue: SqsQueue, entry: Record<string, unknown>) => {
    const body = entry["MessageBody"];
    validateBody(body, queue.numberAttribute("MaximumMessageSize"));
    const messageAttributes = validateMessageAttributes(entry["MessageAttributes"]);
    const delaySeconds = intInRange(entry, "DelaySeconds", 0, 900, queue.numberAttribute("DelaySeconds"));
    const message = queue.enqueue({ body, delaySeconds, messageAttributes });
    return {
      MessageId: message.messageId,
      MD5OfMessageBody: message.md5OfBody,
      ...(message.md5OfMessageAttributes ? { MD5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
    };
  };

  const withReceipt = (queue: SqsQueue, handle: unknown) => {
    const decoded = typeof handle === "string" ? decodeReceiptHandle(handle) : undefined;
    if (!decoded || decoded.queueArn !== queue.arn) {
      throw new AwsServiceError(
        "ReceiptHandleIsInvalid",
        `The input receipt handle "${String(handle).slice(0, 16)}..." is not a valid receipt handle for ${queue.name}.`,
        404,
        "ReceiptHandleIsInvalid",
      );
    }
    return queue.byReceiptHandle(handle as string, decoded.messageId);
  };

  const deleteOne = (queue: SqsQueue, handle: unknown) => {
    const { message, stale } = withReceipt(queue, handle);
    // AWS: deleting with an outdated handle succeeds but does not delete; deleting twice is a no-op.
    if (message && !stale) queue.remove(message);
  };

  const changeVisibilityOne = (queue: SqsQueue, handle: unknown, entry: Record<string, unknown>) => {
    const seconds = intInRange(entry, "VisibilityTimeout", 0, 43_200, Number.NaN);
    const { message, stale } = withReceipt(queue, handle);
    if (!message || stale) {
      throw new AwsServiceError(
        "MessageNotInflight",
        "The message referred to is not in flight (deleted, or received again with a newer receipt handle).",
        400,
        "AWS.SimpleQueueService.MessageNotInflight",
      );
    }
    message.visibleAt = Date.now() + queue.scaledMs(seconds);
  };

  const server = createAwsJsonServer({
    name: "SQS",
    namespace: "com.amazonaws.sqs",
    targetPrefix: "AmazonSQS",
    jsonVersion: "1.0",
    operations: {
      CreateQueue: (input) => ({
        QueueUrl: createQueue(
          requiredString(input, "QueueName", "MissingParameter"),
          (input["Attributes"] as Record<string, string>) ?? {},
        ),
      }),
      GetQueueUrl: (input) => {
        const queue = queues.get(requiredString(input, "QueueName", "MissingParameter"));
        if (!queue) throw notFound();
        return { QueueUrl: queue.url };
      },
      ListQueues: (input) => {
        const prefix = typeof input["QueueNamePrefix"] === "string" ? input["QueueNamePrefix"] : "";
        return { QueueUrls: [...queues.values()].filter((q) => q.name.startsWith(prefix)).map((q) => q.url) };
      },
      DeleteQueue: (input) => {
        queues.delete(queueFromUrl(input).name);
        return {};
      },
      GetQueueAttributes: (input) => {
        const queue = queueFromUrl(input);
        return {
          Attributes: queueAttributes(queue, (input["AttributeNames"] as string[] | undefined) ?? []),
        };
      },
      SetQueueAttributes: (input) => {
        const queue = queueFromUrl(input);
        queue.setAttributes(stringify((input["Attributes"] as Record<string, string>) ?? {}), (arn) =>
          Boolean(byArn(arn)),
        );
        return {};
      },
      SendMessage: (input) => sendOne(queueFromUrl(input), input),
      SendMessageBatch: (input) => {
        const queue = queueFromUrl(input);
        return runBatch(input, (entry) => sendOne(queue, entry));
      },
      ReceiveMessage: receiveMessage,
      DeleteMessage: (input) => {
        deleteOne(queueFromUrl(input), requiredString(input, "ReceiptHandle", "MissingParameter"));
        return {};
      },
      DeleteMessageBatch: (input) => {
        const queue = queueFromUrl(input);
        return runBatch(input, (entry) => {
          deleteOne(queue, entry["ReceiptHandle"]);
          return {};
        });
      },
      ChangeMessageVisibility: (input) => {
        changeVisibilityOne(queueFromUrl(input), input["ReceiptHandle"], input);
        return {};
      },
      ChangeMessageVisibilityBatch: (input) => {
        const queue = queueFromUrl(input);
        return runBatch(input, (entry) => {
          changeVisibilityOne(queue, entry["ReceiptHandle"], entry);
          return {};
        });
      },
      PurgeQueue: (input) => {
        const queue = queueFromUrl(input);
        const now = Date.now();
        if (queue.lastPurgeAt && now - queue.lastPurgeAt < queue.scaledMs(60)) {
          throw new AwsServiceError(
            "PurgeQueueInProgress",
            `Only one PurgeQueue operation on ${queue.name} is allowed every 60 seconds.`,
            403,
            "AWS.SimpleQueueService.PurgeQueueInProgress",
          );
        }
        queue.lastPurgeAt = now;
        queue.messages.length = 0;
        return {};
      },
    },
  });

  const snapshotsOf = (queue: SqsQueue): SqsMessageSnapshot[] => {
    queue.expire();
    return queue.messages.map((m) => ({
      messageId: m.messageId,
      body: m.body,
      state: queue.stateOf(m),
      receiveCount: m.receiveCount,
      messageAttributes: m.messageAttributes,
      sentAt: new Date(m.sentAt).toISOString(),
      ...(m.deadLetterSourceArn ? { deadLetterSourceArn: m.deadLetterSourceArn } : {}),
    }));
  };
  const named = (name: string) => {
    const queue = queues.get(name);
    if (!queue)
      throw new Error(
        `SQS stand-in has no queue "${name}"; known: ${[...queues.keys()].join(", ") || "none"}`,
      );
    return queue;
  };
  const deadLettersOf = (name: string) => {
    const policy = named(name).redrivePolicy;
    const dlq = policy ? byArn(policy.deadLetterTargetArn) : undefined;
    if (!dlq) throw new Error(`SQS queue "${name}" has no RedrivePolicy pointing at an existing queue`);
    return snapshotsOf(dlq);
  };

  server.control("GET", "/queues", () => ({
    status: 200,
    body: {
      data: [...queues.values()].map((q) => ({
        name: q.name,
        url: q.url,
        arn: q.arn,
        ...queueAttributes(q, ["All"]),
      })),
    },
  }));
  server.control("GET", "/queues/:name/messages", (req) => {
    const queue = queues.get(req.params["name"] ?? "");
    return queue
      ? { status: 200, body: { data: snapshotsOf(queue) } }
      : { status: 404, body: { message: `no queue ${req.params["name"]}` } };
  });

  endpoint = await server.listen();
  return {
    endpoint,
    server,
    createQueue,
    queueUrl: (name) => named(name).url,
    queueArn: (name) => named(name).arn,
    messages: (name) => snapshotsOf(named(name)),
    deadLetters: deadLettersOf,
    async close() {
      closed = true;
      await server.close();
    },
  };
}

function queueAttributes(queue: SqsQueue, names: string[]): Record<string, string> {
  queue.expire();
  const now = Date.now();
  const counts = { visible: 0, delayed: 0, inflight: 0 };
  for (const m of queue.messages) counts[queue.stateOf(m, now)] += 1;
  const all: Record<string, string> = {
    ...queue.attributes,
    QueueArn: queue.arn,
    ApproximateNumberOfMessages: String(counts.visible),
    ApproximateNumberOfMessagesNotVisible: String(counts.inflight),
    ApproximateNumberOfMessagesDelayed: String(counts.delayed),
    CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
    LastModifiedTimestamp: String(Math.floor(queue.lastModifiedAt / 1000)),
  };
  if (names.includes("All")) return all;
  const picked: Record<string, string> = {};
  for (const name of names) {
    if (!(name in all)) throw new AwsServiceError("InvalidAttributeName", `Unknown Attribute ${name}.`);
    picked[name] = all[name]!;
  }
  return picked;
}

function toWireMessage(message: StoredMessage, systemNames: string[], attributeFilter: string[]) {
  const system: Record<string, string> = {
    SenderId: SANDBOX_SENDER_ID,
    SentTimestamp: String(message.sentAt),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
  };
  if (message.deadLetterSourceArn) system["DeadLetterQueueSourceArn"] = message.deadLetterSourceArn;
  const wantAll = systemNames.includes("All");
  const Attributes = Object.fromEntries(
    Object.entries(system).filter(([k]) => wantAll || systemNames.includes(k)),
  );
  const MessageAttributes = Object.fromEntries(
    Object.entries(message.messageAttributes).filter(([name]) =>
      attributeFilter.some((f) => matchesFilter(name, f)),
    ),
  );
  return {
    MessageId: message.messageId,
    ReceiptHandle: message.currentReceiptHandle,
    MD5OfBody: message.md5OfBody,
    Body: message.body,
    ...(Object.keys(Attributes).length ? { Attributes } : {}),
    ...(Object.keys(MessageAttributes).length
      ? { MessageAttributes, MD5OfMessageAttributes: message.md5OfMessageAttributes }
      : {}),
  };
}

function matchesFilter(name: string, filter: string): boolean {
  if (filter === "All" || filter === ".*") return true;
  if (filter.endsWith(".*")) return name.startsWith(filter.slice(0, -1));
  return name === filter;
}

/** Runs a batch operation the way SQS does: request-level checks, then one result per entry. */
function runBatch(input: Record<string, unknown>, perEntry: (entry: Record<string, unknown>) => object) {
  const entries = (input["Entries"] as Record<string, unknown>[] | undefined) ?? [];
  if (entries.length === 0) {
    throw new AwsServiceError(
      "EmptyBatchRequest",
      "There should be at least one entry in the request.",
      400,
      "AWS.SimpleQueueService.EmptyBatchRequest",
    );
  }
  if (entries.length > 10) {
    throw new AwsServiceError(
      "TooManyEntriesInBatchRequest",
      `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
      400,
      "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    );
  }
  const ids = entries.map((e) => String(e["Id"] ?? ""));
  const badId = ids.find((id) => !BATCH_ENTRY_ID.test(id));
  if (badId !== undefined) {
    throw new AwsServiceError(
      "InvalidBatchEntryId",
      `A batch entry id "${badId}" is invalid: use 1-80 letters, digits, hyphens or underscores`,
      400,
      "AWS.SimpleQueueService.InvalidBatchEntryId",
    );
  }
  if (new Set(ids).size !== ids.length) {
    throw new AwsServiceError(
      "BatchEntryIdsNotDistinct",
      "Two or more batch entries have the same Id.",
      400,
      "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    );
  }
  const Successful: object[] = [];
  const Failed: object[] = [];
  entries.forEach((entry, i) => {
    const Id = ids[i]!;
    try {
      Successful.push({ Id, ...perEntry(entry) });
    } catch (err) {
      if (!(err instanceof AwsServiceError)) throw err;
      Failed.push({
        Id,
        SenderFault: err.status < 500,
        Code: err.queryCode ?? err.code,
        Message: err.message,
      });
    }
  });
  return { Successful, Failed };
}

function intInRange(
  input: Record<string, unknown>,
  member: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const raw = input[member];
  if (raw === undefined || raw === null) {
    if (Number.isNaN(fallback)) throw new AwsServiceError("MissingParameter", `${member} is required`);
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AwsServiceError(
      "InvalidParameterValue",
      `Value ${String(raw)} for parameter ${member} is invalid. Reason: must be an integer from ${min} to ${max}.`,
    );
  }
  return value;
}

/** SQS allows only #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF in bodies. */
function hasInvalidCharacter(body: string): boolean {
  for (const char of body) {
    const c = char.codePointAt(0)!;
    const allowed =
      c === 0x9 ||
      c === 0xa ||
      c === 0xd ||
      (c >= 0x20 && c <= 0xd7ff) ||
      (c >= 0xe000 && c <= 0xfffd) ||
      (c >= 0x10000 && c <= 0x10ffff);
    if (!allowed) return true;
  }
  return false;
}

function validateBody(body: unknown, maxBytes: number): asserts body is string {
  if (typeof body !== "string" || body.length === 0) {
    throw new AwsServiceError("MissingParameter", "The request must contain the parameter MessageBody.");
  }
  if (Buffer.byteLength(body, "utf8") > maxBytes) {
    throw new AwsServiceError(
      "InvalidParameterValue",
      `One or more parameters are invalid. Reason: Message must be shorter than ${maxBytes} bytes.`,
    );
  }
  if (hasInvalidCharacter(body)) {
    throw new AwsServiceError("InvalidMessageContents", "Invalid characters found in MessageBody.");
  }
}

function validateMessageAttributes(raw: unknown): Record<string, SqsMessageAttribute> | undefined {
  if (raw === undefined || raw === null) return undefined;
  const attributes = raw as Record<string, SqsMessageAttribute>;
  if (Object.keys(attributes).length > 10) {
    throw new AwsServiceError("InvalidParameterValue", "Number of message attributes cannot exceed 10.");
  }
  for (const [name, attribute] of Object.entries(attributes)) {
    if (!/^(String|Number|Binary)(\..+)?$/.test(attribute?.DataType ?? "")) {
      throw new AwsServiceError(
        "InvalidParameterValue",
        `The message attribute '${name}' has an invalid DataType; use String, Number or Binary (optionally with a .suffix).`,
      );
    }
    const binary = attribute.DataType.startsWith("Binary");
    if (binary ? attribute.BinaryValue === undefined : attribute.StringValue === undefined) {
      throw new AwsServiceError(
        "InvalidParameterValue",
        `The message attribute '${name}' must contain a non-empty ${binary ? "BinaryValue" : "StringValue"}.`,
      );
    }
  }
  return attributes;
}

function stringify(attributes: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, String(v)]));
}
