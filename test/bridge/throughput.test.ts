import type { SQSRecord } from "aws-lambda";
import { Resend } from "resend";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type BatchOutcome, resendEmailSender } from "../../src/bridge/email-sender";
import { decide, type QueueMessage } from "../../src/bridge/events";
import { DynamoSendPacer, PACING_KEY } from "../../src/bridge/pacing";
import { BridgeStore } from "../../src/bridge/store";
import { createTelemetry } from "../../src/bridge/telemetry";
import { createWorkerHandler, type WorkerDeps } from "../../src/bridge/worker";
import { prefixedId } from "../../src/sandbox/core/ids";
import { eventually } from "../support/eventually";
import { clerkEmailCreated } from "./fixtures";
import { type Pipeline, SENDING_DOMAIN, startPipeline } from "./harness";

/** Resend's documented team limit at its lowest: the stand-in answers 429 above it. */
const TEAM_LIMIT = 2;
const CODE_LIFETIME_MS = 600_000;

/** What ingest would queue for a Clerk `email.created` to `to`. */
function sendMessage(to: string): QueueMessage {
  const decision = decide("clerk", clerkEmailCreated(to));
  if (decision.action !== "enqueue") throw new Error(`not queued: ${JSON.stringify(decision)}`);
  return {
    source: "clerk",
    svixId: prefixedId("msg"),
    type: decision.type,
    receivedAt: new Date().toISOString(),
    job: decision.job,
  };
}

function sqsRecord(message: QueueMessage): SQSRecord {
  return {
    messageId: prefixedId("sqs"),
    receiptHandle: "killed-invocation",
    body: JSON.stringify(message),
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: String(Date.now()),
      SenderId: "test",
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:local:000000000000:bridge-local",
    awsRegion: "local",
  };
}

describe("throughput at Resend's team limit: pacing and batching", () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({
      resendRateLimit: TEAM_LIMIT,
      bridge: {
        // Several concurrent workers, and a visibility timeout far longer than any wait the tests allow:
        // a record that comes back early came back because the bridge asked it to.
        queue: { visibilityTimeoutMs: 60_000, maxReceiveCount: 5, batchSize: 25, concurrency: 4 },
      },
    });
  });
  afterAll(() => p.close());
  afterEach(() => p.resend.server.faults.clear());

  /** Another worker invocation on the bridge's table and schedule, as Lambda would run one beside it. */
  const otherWorker = (deps: Partial<WorkerDeps>) =>
    createWorkerHandler({
      store: new BridgeStore(p.dynamo.client, p.tableName),
      pacer: new DynamoSendPacer(p.dynamo.client, p.tableName, 1_000),
      email: resendEmailSender(new Resend(p.resend.apiKey, { baseUrl: p.resend.url }), 5_000),
      users: {
        getUser: async () => undefined,
        findByEmail: async () => undefined,
        setEmailStatus: async () => undefined,
      },
      telemetry: createTelemetry({ logLevel: "SILENT", emitMetrics: false }),
      settings: {
        fromAddress: `auth@${SENDING_DOMAIN}`,
        fromName: "Acme",
        replyTo: undefined,
        codeLifetimeSeconds: 600,
        codeLifetimes: {},
        stack: "e2e",
        extraHeaders: {},
      },
      backoff: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      ...deps,
    });
  const sendRequests = () =>
    p.resend.server.requests.filter((r) => r.method === "POST" && /^\/emails(\/batch)?$/.test(r.path));
  const sentTo = (address: string) => p.resend.emails().filter((e) => e.to.includes(address));

  it("a burst of 100 codes from four concurrent workers: no 429, batched, each sent once within its lifetime", async () => {
    const before = sendRequests().length;
    const addresses = Array.from({ length: 100 }, (_, i) => `delivered+burst${i}@resend.dev`);
    const events = addresses.map((a) => clerkEmailCreated(a));
    // The rush lands in the queue before the workers look, so they find full batches (SQS under load).
    p.bridge.queue.stop();
    const answers = await Promise.all(events.map((e) => p.deliver("clerk", e)));
    expect(answers.map((r) => r.status)).toEqual(addresses.map(() => 202));
    p.bridge.queue.start(p.bridge.worker);
    await p.settle();

    const requests = sendRequests().slice(before);
    expect(requests.filter((r) => r.status === 429)).toEqual([]);
    // One request per batch of up to 25 (the local queue's batch size), not one per code.
    expect(requests.map((r) => `${r.path} ${r.status}`)).toEqual(
      Array.from({ length: 4 }, () => "/emails/batch 200"),
    );
    // Paced to the bridge's share (50% of 2/s): slots one second apart across all four workers. A request
    // can start late on its slot (its group was still being recorded), never early: no gap is near zero.
    const starts = requests.map((r) => Date.parse(r.at)).sort((a, b) => a - b);
    for (let i = 1; i < starts.length; i++) {
      expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(500);
    }
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(2_500);
    for (const [i, address] of addresses.entries()) {
      const sent = sentTo(address);
      expect(sent, address).toHaveLength(1);
      const createdAt = (events[i] as { timestamp: number }).timestamp;
      expect(Date.parse(sent[0]!.createdAt) - createdAt).toBeLessThan(CODE_LIFETIME_MS);
      const record = await p.bridge.store.getSend((events[i]!.data as { id: string }).id);
      expect(record).toMatchObject({ status: "sent", resendEmailId: sent[0]!.id });
    }
    expect(p.bridge.queue.deadLetters).toEqual([]);
  });

  it("a lone code is one POST /emails under its own key, at once", async () => {
    const before = sendRequests().length;
    const event = clerkEmailCreated("delivered+lone@resend.dev");
    expect((await p.deliver("clerk", event)).status).toBe(202);
    await p.settle();
    const requests = sendRequests().slice(before);
    expect(requests.map((r) => `${r.path} ${r.status}`)).toEqual(["/emails 200"]);
    expect(requests[0]!.headers["idempotency-key"]).toBe(`clerk-email/${(event.data as { id: string }).id}`);
  });

  it("a worker killed between recording a batch and Resend's answer: the retry re-sends that batch under its key", async () => {
    const messages = ["a", "b", "c"].map((x) => sendMessage(`delivered+killed-${x}@resend.dev`));
    const real = resendEmailSender(new Resend(p.resend.apiKey, { baseUrl: p.resend.url }), 5_000);
    let firstAnswer: BatchOutcome | undefined;
    // Another worker on the same table and schedule whose invocation dies once its request is on the wire.
    const killed = otherWorker({
      email: {
        send: () => new Promise(() => undefined),
        sendBatch: (emails, key) => {
          void real.sendBatch(emails, key).then((answer) => {
            firstAnswer = answer;
          });
          return new Promise(() => undefined);
        },
      },
    });
    void killed({ Records: messages.map(sqsRecord) });
    const answer = await eventually(() => firstAnswer);
    if (!answer.ok) throw new Error(`Resend refused the batch: ${answer.name}`);
    const firstIds = answer.items.map((item) => (item.ok ? item.id : undefined));
    const batchRequests = () => p.resend.server.requests.filter((r) => r.path === "/emails/batch");
    const key = batchRequests().at(-1)!.headers["idempotency-key"];
    expect(key).toMatch(/^clerk-batch\//);
    // Recorded before the call: every member is claimed and nothing has an outcome yet.
    for (const m of messages) {
      const job = m.job as { clerkEmailId: string };
      expect(await p.bridge.store.getSend(job.clerkEmailId)).toMatchObject({
        groupId: expect.stringMatching(/^batch:/),
      });
      expect((await p.bridge.store.getSend(job.clerkEmailId))?.status).toBeUndefined();
    }

    // SQS gives the first record back to a healthy worker, alone: the whole recorded batch is re-sent.
    await p.bridge.queue.send(messages[0]!);
    await p.settle();
    const sameKey = batchRequests().filter((r) => r.headers["idempotency-key"] === key);
    expect(sameKey.map((r) => r.status)).toEqual([200, 200]);
    expect(sameKey[1]!.body).toBe(sameKey[0]!.body);
    for (const [i, m] of messages.entries()) {
      const job = m.job as { clerkEmailId: string; to: string };
      expect(sentTo(job.to), job.to).toHaveLength(1);
      expect(await p.bridge.store.getSend(job.clerkEmailId)).toMatchObject({
        status: "sent",
        resendEmailId: firstIds[i],
      });
    }

    // The other records come back later: already done, nothing is sent.
    const before = sendRequests().length;
    for (const m of messages.slice(1)) await p.bridge.queue.send(m);
    await p.settle();
    expect(sendRequests().length).toBe(before);
  });

  it("a 429 caused by someone else on the team returns the record after Resend's retry-after, not the visibility timeout", async () => {
    p.resend.server.faults.add({
      kind: "rate_limit",
      method: "POST",
      path: "^/emails$",
      count: 1,
      retryAfterSeconds: 1,
    });
    const event = clerkEmailCreated("delivered+foreign429@resend.dev");
    expect((await p.deliver("clerk", event)).status).toBe(202);
    const limited = await eventually(() => sendRequests().find((r) => r.status === 429));
    const accepted = await eventually(
      () => sendRequests().find((r) => r.status === 200 && r.body.includes("foreign429")),
      10_000,
    );
    const waited = Date.parse(accepted.at) - Date.parse(limited.at);
    expect(waited).toBeGreaterThanOrEqual(1_000);
    expect(waited).toBeLessThan(5_000);
    expect(p.bridge.queue.changes.at(-1)).toMatchObject({ seconds: 1 });
    await p.settle();
    expect(sentTo("delivered+foreign429@resend.dev")).toHaveLength(1);
  });

  it("a schedule longer than a worker may wait: the record goes back for that long, its claim released, nothing sent", async () => {
    const message = sendMessage("delivered+paced@resend.dev");
    const pacer = new DynamoSendPacer(p.dynamo.client, p.tableName, 1_000);
    await pacer.holdUntil(Date.now() + 30_000);
    const returned: Array<{ messageId: string; seconds: number }> = [];
    const worker = otherWorker({
      pacer,
      maxPacingWaitMs: 20_000,
      records: {
        returnAfter: async (record, seconds) => void returned.push({ messageId: record.messageId, seconds }),
      },
    });
    const before = sendRequests().length;
    const record = sqsRecord(message);
    try {
      expect(await worker({ Records: [record] })).toEqual({
        batchItemFailures: [{ itemIdentifier: record.messageId }],
      });
    } finally {
      await p.dynamo.client.delete(p.tableName, PACING_KEY);
    }
    expect(returned).toHaveLength(1);
    expect(returned[0]!.seconds).toBeGreaterThanOrEqual(29);
    expect(returned[0]!.seconds).toBeLessThanOrEqual(30);
    expect(sendRequests().length).toBe(before);
    // Released: when the record comes back, the code is checked and grouped afresh.
    const released = await p.bridge.store.getSend((message.job as { clerkEmailId: string }).clerkEmailId);
    expect({ status: released?.status, groupId: released?.groupId }).toEqual({
      status: undefined,
      groupId: undefined,
    });
  });

  it("one invalid address in a batch fails only itself", async () => {
    const good = ["delivered+batchok1@resend.dev", "delivered+batchok2@resend.dev"];
    // Resend refuses example.com recipients (docs: use its test addresses); ingest lets them through.
    const events = [...good, "someone@example.com"].map((a) => clerkEmailCreated(a));
    p.bridge.queue.stop();
    for (const e of events) expect((await p.deliver("clerk", e)).status).toBe(202);
    p.bridge.queue.start(p.bridge.worker);
    await p.settle();
    const [ok1, ok2, bad] = await Promise.all(
      events.map((e) => p.bridge.store.getSend((e.data as { id: string }).id)),
    );
    expect(ok1).toMatchObject({ status: "sent" });
    expect(ok2).toMatchObject({ status: "sent" });
    expect(bad).toMatchObject({
      status: "failed",
      detail: expect.stringMatching(/^validation_error: .*example\.com/),
    });
    for (const a of good) expect(sentTo(a)).toHaveLength(1);
    expect(p.bridge.queue.deadLetters).toEqual([]);
  });
});
