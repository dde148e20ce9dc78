import {
  BatchEntryIdsNotDistinct,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  InvalidAttributeValue,
  MessageNotInflight,
  PurgeQueueCommand,
  PurgeQueueInProgress,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  TooManyEntriesInBatchRequest,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sandboxClientConfig } from "../../src/sandbox/aws/env";
import { type SqsStandIn, startSqsStandIn } from "../../src/sandbox/aws/sqs";
import { md5OfMessageAttributes } from "../../src/sandbox/aws/sqs-queue";
import { sleep } from "../../src/sandbox/core/server";

// 1 "second" of SQS time is 20 ms here.
const TIME_SCALE = 0.02;

describe("SQS stand-in through @aws-sdk/client-sqs", () => {
  let sqs: SqsStandIn;
  let client: SQSClient;
  let counter = 0;

  const newQueue = async (attributes?: Record<string, string>) => {
    counter += 1;
    const { QueueUrl } = await client.send(
      new CreateQueueCommand({ QueueName: `q-${counter}`, Attributes: attributes }),
    );
    return QueueUrl!;
  };

  beforeAll(async () => {
    sqs = await startSqsStandIn({ timeScale: TIME_SCALE });
    client = new SQSClient(sandboxClientConfig(sqs.endpoint));
  });

  afterAll(async () => {
    client?.destroy();
    await sqs?.close();
  });

  it("creates queues with AWS-format URLs and ARNs, idempotently, and resolves them by name", async () => {
    const url = await newQueue({ VisibilityTimeout: "45" });
    const name = `q-${counter}`;
    expect(url).toBe(`${sqs.endpoint}/000000000000/${name}`);
    const again = await client.send(
      new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "45" } }),
    );
    expect(again.QueueUrl).toBe(url);
    await expect(
      client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "10" } })),
    ).rejects.toMatchObject({ name: "QueueNameExists" });
    expect((await client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl).toBe(url);
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn", "VisibilityTimeout"] }),
    );
    expect(Attributes).toEqual({
      QueueArn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
      VisibilityTimeout: "45",
    });
  });

  it("reaches the stand-in through AWS_ENDPOINT_URL_SQS, as the bridge does", async () => {
    const url = await newQueue();
    const saved = process.env["AWS_ENDPOINT_URL_SQS"];
    process.env["AWS_ENDPOINT_URL_SQS"] = sqs.endpoint;
    try {
      const { endpoint: _ignored, ...withoutEndpoint } = sandboxClientConfig(sqs.endpoint);
      const envClient = new SQSClient(withoutEndpoint);
      await envClient.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "via env" }));
      envClient.destroy();
    } finally {
      if (saved === undefined) delete process.env["AWS_ENDPOINT_URL_SQS"];
      else process.env["AWS_ENDPOINT_URL_SQS"] = saved;
    }
    expect(sqs.messages(`q-${counter}`).map((m) => m.body)).toEqual(["via env"]);
  });

  it("round-trips body and message attributes with the checksums the SDK verifies", async () => {
    const url = await newQueue();
    const MessageAttributes = {
      kind: { DataType: "String", StringValue: "bounce" },
      attempt: { DataType: "Number", StringValue: "2" },
      blob: { DataType: "Binary", BinaryValue: new Uint8Array([1, 2, 3]) },
    };
    const sent = await client.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: '{"type":"email.bounced"}', MessageAttributes }),
    );
    const { Messages } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
      }),
    );
    expect(Messages).toHaveLength(1);
    const [message] = Messages!;
    expect(message!.MessageId).toBe(sent.MessageId);
    expect(message!.Body).toBe('{"type":"email.bounced"}');
    expect(message!.Attributes?.["ApproximateReceiveCount"]).toBe("1");
    expect(Object.keys(message!.Attributes ?? {}).sort()).toEqual([
      "ApproximateReceiveCount",
      "SentTimestamp",
    ]);
    expect(message!.MessageAttributes?.["kind"]?.StringValue).toBe("bounce");
    expect([...(message!.MessageAttributes?.["blob"]?.BinaryValue ?? [])]).toEqual([1, 2, 3]);
    expect(message!.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    // Independent of order: the checksum sorts by attribute name.
    expect(
      md5OfMessageAttributes({
        kind: { DataType: "String", StringValue: "bounce" },
        blob: { DataType: "Binary", BinaryValue: Buffer.from([1, 2, 3]).toString("base64") },
        attempt: { DataType: "Number", StringValue: "2" },
      }),
    ).toBe(sent.MD5OfMessageAttributes);
  });

  it("hides a received message for its visibility timeout and only honours the newest receipt handle", async () => {
    const url = await newQueue({ VisibilityTimeout: "5" }); // 100 ms at this scale
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "m" }));
    const first = (await client.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages![0]!;
    expect((await client.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages ?? []).toHaveLength(0);
    expect(sqs.messages(`q-${counter}`)[0]!.state).toBe("inflight");

    await sleep(130);
    const second = (
      await client.send(new ReceiveMessageCommand({ QueueUrl: url, MessageSystemAttributeNames: ["All"] }))
    ).Messages![0]!;
    expect(second.MessageId).toBe(first.MessageId);
    expect(second.Attributes?.["ApproximateReceiveCount"]).toBe("2");
    expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);

    // A stale handle "succeeds" without deleting, as AWS documents.
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle }));
    expect(sqs.messages(`q-${counter}`)).toHaveLength(1);
    await expect(
      client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: first.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      ),
    ).rejects.toBeInstanceOf(MessageNotInflight);

    // Visibility 0 makes it receivable at once.
    await client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: second.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const third = (await client.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages![0]!;
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: third.ReceiptHandle }));
    expect(sqs.messages(`q-${counter}`)).toHaveLength(0);
  });

  it("moves a message to the DLQ on the receive after maxReceiveCount receives", async () => {
    const dlqUrl = await newQueue();
    const dlqName = `q-${counter}`;
    const dlqArn = (
      await client.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }))
    ).Attributes!["QueueArn"]!;
    const url = await newQueue({ VisibilityTimeout: "1" });
    const name = `q-${counter}`;
    const RedrivePolicy = JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 });
    await client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { RedrivePolicy } }));
    const { MessageId } = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "poison" }));

    for (let receive = 1; receive <= 2; receive++) {
      const got = await client.send(
        new ReceiveMessageCommand({ QueueUrl: url, MessageSystemAttributeNames: ["All"] }),
      );
      expect(got.Messages?.[0]?.Attributes?.["ApproximateReceiveCount"]).toBe(String(receive));
      await sleep(40); // let the 20 ms visibility timeout lapse without deleting
    }
    const third = await client.send(new ReceiveMessageCommand({ QueueUrl: url }));
    expect(third.Messages ?? []).toHaveLength(0);
    expect(sqs.messages(name)).toHaveLength(0);
    expect(sqs.deadLetters(name).map((m) => [m.messageId, m.body])).toEqual([[MessageId, "poison"]]);
    expect(sqs.messages(dlqName)).toHaveLength(1);

    const fromDlq = await client.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MessageSystemAttributeNames: ["All"] }),
    );
    expect(fromDlq.Messages?.[0]?.MessageId).toBe(MessageId);
    expect(fromDlq.Messages?.[0]?.Attributes?.["DeadLetterQueueSourceArn"]).toBe(sqs.queueArn(name));
  });

  it("rejects a RedrivePolicy whose dead-letter target does not exist", async () => {
    const url = await newQueue();
    const RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: "arn:aws:sqs:us-east-1:000000000000:missing-dlq",
      maxReceiveCount: 3,
    });
    await expect(
      client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { RedrivePolicy } })),
    ).rejects.toBeInstanceOf(InvalidAttributeValue);
  });

  it("runs batch sends and deletes with per-entry results and request-level batch errors", async () => {
    const url = await newQueue();
    const batch = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: "a", MessageBody: "one" },
          { Id: "b", MessageBody: "two", DelaySeconds: 900 },
          { Id: "c", MessageBody: "bad\u0000char" },
        ],
      }),
    );
    expect(batch.Successful?.map((s) => s.Id)).toEqual(["a", "b"]);
    expect(batch.Failed).toEqual([
      expect.objectContaining({ Id: "c", SenderFault: true, Code: "InvalidMessageContents" }),
    ]);
    expect(sqs.messages(`q-${counter}`).map((m) => m.state)).toEqual(["visible", "delayed"]);

    await expect(
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: [
            { Id: "x", MessageBody: "1" },
            { Id: "x", MessageBody: "2" },
          ],
        }),
      ),
    ).rejects.toBeInstanceOf(BatchEntryIdsNotDistinct);
    await expect(
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: "m" })),
        }),
      ),
    ).rejects.toBeInstanceOf(TooManyEntriesInBatchRequest);

    const received = (
      await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }))
    ).Messages!;
    expect(received.map((m) => m.Body)).toEqual(["one"]);
    const deleted = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: "ok", ReceiptHandle: received[0]!.ReceiptHandle },
          { Id: "bogus", ReceiptHandle: "not-a-handle" },
        ],
      }),
    );
    expect(deleted.Successful?.map((s) => s.Id)).toEqual(["ok"]);
    expect(deleted.Failed?.[0]).toMatchObject({ Id: "bogus", Code: "ReceiptHandleIsInvalid" });
    expect(sqs.messages(`q-${counter}`).map((m) => m.body)).toEqual(["two"]);
  });

  it("long-polls: returns as soon as a message arrives, or empty when the wait ends", async () => {
    const url = await newQueue();
    const started = Date.now();
    const empty = await client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5 }));
    expect(empty.Messages ?? []).toHaveLength(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90); // 5 s scaled to 100 ms

    const pending = client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 }));
    await sleep(30);
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "late" }));
    const got = await pending;
    expect(got.Messages?.[0]?.Body).toBe("late");
    expect(Date.now() - started).toBeLessThan(400 + 100);
  });

  it("purges a queue once per 60 s", async () => {
    const url = await newQueue();
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x" }));
    await client.send(new PurgeQueueCommand({ QueueUrl: url }));
    expect(sqs.messages(`q-${counter}`)).toHaveLength(0);
    await expect(client.send(new PurgeQueueCommand({ QueueUrl: url }))).rejects.toBeInstanceOf(
      PurgeQueueInProgress,
    );
  });

  it("raises the SDK's named exceptions for unknown queues and invalid receipt handles", async () => {
    await expect(client.send(new GetQueueUrlCommand({ QueueName: "nope" }))).rejects.toBeInstanceOf(
      QueueDoesNotExist,
    );
    await expect(
      client.send(
        new SendMessageCommand({ QueueUrl: `${sqs.endpoint}/000000000000/nope`, MessageBody: "x" }),
      ),
    ).rejects.toBeInstanceOf(QueueDoesNotExist);
    const url = await newQueue();
    await expect(
      client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: "garbage" })),
    ).rejects.toBeInstanceOf(ReceiptHandleIsInvalid);
    await expect(
      client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 })),
    ).rejects.toMatchObject({ name: "InvalidParameterValue" });
  });
});
