import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { AwsJsonClient } from "../../src/bridge/aws/client";
import { InProcessQueue, SqsRecordReturner } from "../../src/bridge/queue";
import { sandboxClientConfig } from "../../src/sandbox/aws/env";
import { startSqsStandIn } from "../../src/sandbox/aws/sqs";
import { eventually } from "../support/eventually";

describe("InProcessQueue", () => {
  it("redelivers failed records after the visibility timeout and dead-letters after maxReceiveCount", async () => {
    const queue = new InProcessQueue({ visibilityTimeoutMs: 20, maxReceiveCount: 3, batchSize: 10 });
    const seen: Record<string, number[]> = {};
    queue.start(async (event: SQSEvent) => {
      const failures = [];
      for (const r of event.Records) {
        seen[r.body] = [...(seen[r.body] ?? []), Number(r.attributes.ApproximateReceiveCount)];
        if (r.body === "poison" || (r.body === "flaky" && seen.flaky?.length === 1)) {
          failures.push({ itemIdentifier: r.messageId });
        }
      }
      return { batchItemFailures: failures };
    });
    queue.sendRaw("good");
    queue.sendRaw("flaky");
    const poisonId = queue.sendRaw("poison");
    await queue.settle();
    queue.stop();
    expect(seen.good).toEqual([1]);
    expect(seen.flaky).toEqual([1, 2]);
    expect(seen.poison).toEqual([1, 2, 3]);
    expect(queue.deadLetters).toEqual([{ messageId: poisonId, body: "poison", receiveCount: 3 }]);
    expect(queue.depth).toBe(0);
  });

  it("keeps a record invisible while it is being processed and fails the whole batch when the handler throws", async () => {
    const queue = new InProcessQueue({ visibilityTimeoutMs: 30, maxReceiveCount: 5, concurrency: 4 });
    let receives = 0;
    queue.start(async () => {
      receives++;
      if (receives === 1) throw new Error("crash");
      await new Promise((r) => setTimeout(r, 5));
      return { batchItemFailures: [] };
    });
    queue.sendRaw("one");
    await queue.settle();
    queue.stop();
    expect(receives).toBe(2);
    expect(queue.deadLetters).toHaveLength(0);
  });
});

describe("giving a record back early (ChangeMessageVisibility)", () => {
  it("InProcessQueue: a returned record comes back after the delay asked for, and an outdated receipt is refused", async () => {
    const queue = new InProcessQueue({ visibilityTimeoutMs: 60_000, maxReceiveCount: 5 });
    const received: Array<{ at: number; count: string }> = [];
    let first: SQSEvent["Records"][number] | undefined;
    queue.start(async (event: SQSEvent) => {
      const record = event.Records[0]!;
      received.push({ at: Date.now(), count: record.attributes.ApproximateReceiveCount });
      if (received.length > 1) return { batchItemFailures: [] };
      first = record;
      await queue.returnAfter(record, 0.05);
      return { batchItemFailures: [{ itemIdentifier: record.messageId }] };
    });
    queue.sendRaw("rate-limited");
    await queue.settle();
    queue.stop();
    expect(received.map((r) => r.count)).toEqual(["1", "2"]);
    // Back after about 50 ms, not the 60 s visibility timeout.
    expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(45);
    expect(received[1]!.at - received[0]!.at).toBeLessThan(5_000);
    expect(queue.changes).toEqual([{ messageId: first!.messageId, seconds: 0.05 }]);
    await expect(queue.returnAfter(first!, 1)).rejects.toThrow(/MessageNotInflight/);
  });

  it("SqsRecordReturner: the SQS stand-in makes the received message visible again after the seconds given", async () => {
    const sqs = await startSqsStandIn({ timeScale: 0.01 });
    const client = new SQSClient(sandboxClientConfig(sqs.endpoint));
    try {
      // A 10-minute visibility timeout is 6 s here: far beyond the poll below.
      const url = sqs.createQueue("returns", { VisibilityTimeout: "600" });
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "rate-limited" }));
      const { Messages } = await client.send(new ReceiveMessageCommand({ QueueUrl: url }));
      const message = Messages![0]!;
      expect(sqs.messages("returns").map((m) => m.state)).toEqual(["inflight"]);
      const returner = new SqsRecordReturner(
        new AwsJsonClient("sqs", sandboxClientConfig(sqs.endpoint)),
        url,
      );
      await returner.returnAfter(
        { messageId: message.MessageId!, receiptHandle: message.ReceiptHandle! } as SQSRecord,
        1,
      );
      await eventually(() => (sqs.messages("returns")[0]?.state === "visible" ? true : undefined), 3_000);
      // Received again, the old receipt no longer changes anything.
      await client.send(new ReceiveMessageCommand({ QueueUrl: url }));
      await expect(
        returner.returnAfter(
          { messageId: message.MessageId!, receiptHandle: message.ReceiptHandle! } as SQSRecord,
          1,
        ),
      ).rejects.toMatchObject({ name: "MessageNotInflight" });
    } finally {
      client.destroy();
      await sqs.close();
    }
  });
});
