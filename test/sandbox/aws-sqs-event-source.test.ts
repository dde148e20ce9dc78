import { createHash } from "node:crypto";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sandboxClientConfig } from "../../src/sandbox/aws/env";
import {
  type LocalLambda,
  type SqsEventSource,
  startLocalLambda,
  startSqsEventSource,
} from "../../src/sandbox/aws/lambda";
import { type SqsStandIn, startSqsStandIn } from "../../src/sandbox/aws/sqs";
import { failedMessageIds } from "../../src/sandbox/aws/sqs-event-source";
import { eventually } from "../support/eventually";
import { buildTestBundle, type TestBundle } from "../support/lambda-bundle";

// Reports "poison" always and "flaky" on its first delivery; logs every record it sees.
const CONSUMER = `
export const handler = async (event) => {
  const batchItemFailures = [];
  for (const record of event.Records) {
    console.log(JSON.stringify({ seen: record.body, count: record.attributes.ApproximateReceiveCount, record }));
    const flakyFirstTry = record.body === "flaky" && record.attributes.ApproximateReceiveCount === "1";
    if (record.body === "poison" || flakyFirstTry) batchItemFailures.push({ itemIdentifier: record.messageId });
  }
  return { batchItemFailures };
};
`;

// Throws when any record of the batch is "bad".
const THROWER = `
export const handler = async (event) => {
  for (const record of event.Records) console.log(JSON.stringify({ seen: record.body, count: record.attributes.ApproximateReceiveCount }));
  if (event.Records.some((r) => r.body === "bad")) throw new Error("cannot process batch");
  return {};
};
`;

// Logs the bodies of each batch it is invoked with.
const BATCHER = `
export const handler = async (event) => {
  console.log(JSON.stringify({ batch: event.Records.map((r) => r.body) }));
  return {};
};
`;

interface Seen {
  seen: string;
  count: string;
  record?: Record<string, unknown>;
}

const seenBy = (fn: LocalLambda): Seen[] =>
  fn.logs.filter((l) => l.line.startsWith("{")).map((l) => JSON.parse(l.line) as Seen);

describe("SQS event source mapping", () => {
  let bundle: TestBundle;
  let sqs: SqsStandIn;
  let client: SQSClient;
  let sources: SqsEventSource[] = [];
  const lambdas: LocalLambda[] = [];

  /**
   * A queue whose 20 s visibility timeout is 400 ms at this time scale (well above a worker's cold
   * start, so only failures make a message visible again), with a DLQ after `maxReceiveCount`.
   */
  const queueWithDlq = (name: string, maxReceiveCount: number) => {
    const dlqUrl = sqs.createQueue(`${name}-dlq`);
    const url = sqs.createQueue(name, {
      VisibilityTimeout: "20",
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: sqs.queueArn(`${name}-dlq`), maxReceiveCount }),
    });
    return { url, dlqUrl };
  };
  const fn = async (file: string, name: string) => {
    const lambda = await startLocalLambda({
      name,
      bundleFile: bundle.file(file),
      handler: `${file}.handler`,
      timeoutSeconds: 5,
    });
    lambdas.push(lambda);
    return lambda;
  };

  beforeAll(async () => {
    bundle = await buildTestBundle({ consumer: CONSUMER, thrower: THROWER, batcher: BATCHER });
    sqs = await startSqsStandIn({ timeScale: 0.02 });
    client = new SQSClient(sandboxClientConfig(sqs.endpoint));
  });

  afterEach(async () => {
    await Promise.all(sources.map((s) => s.stop()));
    sources = [];
  });

  afterAll(async () => {
    client?.destroy();
    await Promise.all(lambdas.map((l) => l.close()));
    await sqs?.close();
    await bundle?.remove();
  });

  it("deletes succeeded records, retries reported failures, and redrives a poison message to the DLQ", async () => {
    const { url } = queueWithDlq("partial", 3);
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          {
            Id: "1",
            MessageBody: "ok-1",
            MessageAttributes: { kind: { DataType: "String", StringValue: "bounce" } },
          },
          { Id: "2", MessageBody: "flaky" },
          { Id: "3", MessageBody: "poison" },
          { Id: "4", MessageBody: "ok-2" },
        ],
      }),
    );
    const consumer = await fn("consumer", "worker-partial");
    const source = await startSqsEventSource({
      queueUrl: url,
      lambda: consumer,
      batchSize: 10,
      maximumConcurrency: 2,
      reportBatchItemFailures: true,
      waitTimeSeconds: 1,
    });
    sources.push(source);

    await expect
      .poll(() => [sqs.messages("partial").length, sqs.deadLetters("partial").map((m) => m.body)], {
        timeout: 5_000,
      })
      .toEqual([0, ["poison"]]);

    await source.stop(); // lets in-flight invocations finish before their logs are read
    const deliveries = (body: string) =>
      seenBy(consumer)
        .filter((s) => s.seen === body)
        .map((s) => s.count);
    await expect.poll(() => deliveries("ok-1")).toEqual(["1"]);
    await expect.poll(() => deliveries("ok-2")).toEqual(["1"]);
    await expect.poll(() => deliveries("flaky")).toEqual(["1", "2"]);
    await expect.poll(() => deliveries("poison")).toEqual(["1", "2", "3"]);
    expect(source.stats).toMatchObject({ deleted: 3, functionErrors: 0, itemFailures: 4 });

    const record = seenBy(consumer).find((s) => s.seen === "ok-1")!.record!;
    expect(Object.keys(record).sort()).toEqual(
      [
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "md5OfMessageAttributes",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
      ].sort(),
    );
    expect(record).toMatchObject({
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:partial",
      awsRegion: "us-east-1",
      messageAttributes: {
        kind: { stringValue: "bounce", stringListValues: [], binaryListValues: [], dataType: "String" },
      },
    });
    expect(Object.keys(record["attributes"] as object).sort()).toEqual([
      "ApproximateFirstReceiveTimestamp",
      "ApproximateReceiveCount",
      "SenderId",
      "SentTimestamp",
    ]);
    expect(record["md5OfBody"]).toBe(createHash("md5").update("ok-1").digest("hex"));
  });

  it("leaves the whole batch on the queue when the function throws", async () => {
    const { url } = queueWithDlq("throwing", 2);
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: "1", MessageBody: "good" },
          { Id: "2", MessageBody: "bad" },
        ],
      }),
    );
    const thrower = await fn("thrower", "worker-throwing");
    const source = await startSqsEventSource({ queueUrl: url, lambda: thrower, waitTimeSeconds: 1 });
    sources.push(source);

    await expect
      .poll(
        () =>
          sqs
            .deadLetters("throwing")
            .map((m) => m.body)
            .sort(),
        { timeout: 5_000 },
      )
      .toEqual(["bad", "good"]);
    await source.stop();
    // "good" was never deleted: it failed along with "bad" on every delivery.
    await expect
      .poll(() =>
        seenBy(thrower)
          .filter((s) => s.seen === "good")
          .map((s) => s.count),
      )
      .toEqual(["1", "2"]);
    expect(source.stats.deleted).toBe(0);
    expect(source.stats.functionErrors).toBe(2);
  });

  it("gathers records for maximumBatchingWindowInSeconds before invoking with a batch that is not full", async () => {
    const batches = (fn: LocalLambda) =>
      fn.logs
        .filter((l) => l.line.startsWith('{"batch"'))
        .map((l) => (JSON.parse(l.line) as { batch: string[] }).batch);
    const send = (url: string, body: string) =>
      client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: "1", MessageBody: body }] }));

    // A 10 s window (200 ms at this time scale, inside the 20 s visibility timeout): a record sent once the
    // first is taken joins its batch.
    const windowed = queueWithDlq("windowed", 3);
    const withWindow = await fn("batcher", "worker-windowed");
    sources.push(
      await startSqsEventSource({
        queueUrl: windowed.url,
        lambda: withWindow,
        batchSize: 10,
        maximumBatchingWindowInSeconds: 10,
        timeScale: 0.02,
        waitTimeSeconds: 1,
      }),
    );
    await send(windowed.url, "first");
    await eventually(() => (sqs.messages("windowed")[0]?.state === "inflight" ? true : undefined));
    await send(windowed.url, "second");
    await eventually(() => (batches(withWindow).length > 0 ? true : undefined));
    expect(batches(withWindow)).toEqual([["first", "second"]]);

    // No window: the first record is invoked as soon as it is received, alone.
    const immediate = queueWithDlq("immediate", 3);
    const noWindow = await fn("batcher", "worker-immediate");
    sources.push(
      await startSqsEventSource({
        queueUrl: immediate.url,
        lambda: noWindow,
        batchSize: 10,
        waitTimeSeconds: 1,
      }),
    );
    await send(immediate.url, "first");
    await eventually(() => (batches(noWindow).length > 0 ? true : undefined));
    await send(immediate.url, "second");
    await eventually(() => (batches(noWindow).length > 1 ? true : undefined));
    expect(batches(noWindow)).toEqual([["first"], ["second"]]);
  });

  it("refuses a mapping AWS would refuse", async () => {
    const consumer = await fn("consumer", "worker-config");
    const tight = sqs.createQueue("tight", { VisibilityTimeout: "2" });
    await expect(startSqsEventSource({ queueUrl: tight, lambda: consumer })).rejects.toThrow(
      /visibility timeout 2 s/,
    );
    const { url } = queueWithDlq("config", 3);
    await expect(
      startSqsEventSource({ queueUrl: url, lambda: consumer, maximumConcurrency: 1 }),
    ).rejects.toThrow(/maximumConcurrency/);
    await expect(startSqsEventSource({ queueUrl: url, lambda: consumer, batchSize: 100 })).rejects.toThrow(
      /batchSize of 100 needs maximumBatchingWindowInSeconds of at least 1/,
    );
    await expect(
      startSqsEventSource({ queueUrl: url, lambda: consumer, maximumBatchingWindowInSeconds: 301 }),
    ).rejects.toThrow(/maximumBatchingWindowInSeconds must be an integer from 0 to 300/);
  });
});

describe("batchItemFailures interpretation", () => {
  const messages = [{ MessageId: "m1" }, { MessageId: "m2" }];

  it("treats empty and null responses as full success", () => {
    for (const result of [null, undefined, {}, { batchItemFailures: [] }, { batchItemFailures: null }]) {
      expect(failedMessageIds(result, messages).size).toBe(0);
    }
  });

  it("keeps only the reported messages", () => {
    expect([...failedMessageIds({ batchItemFailures: [{ itemIdentifier: "m2" }] }, messages)]).toEqual([
      "m2",
    ]);
  });

  it("fails the whole batch on an empty, null or unknown itemIdentifier", () => {
    for (const itemIdentifier of ["", null, "not-in-batch"]) {
      expect([...failedMessageIds({ batchItemFailures: [{ itemIdentifier }] }, messages)].sort()).toEqual([
        "m1",
        "m2",
      ]);
    }
    expect(failedMessageIds({ batchItemFailures: [{ id: "m1" }] }, messages).size).toBe(2);
  });
});
