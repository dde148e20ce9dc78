import { randomBytes } from "node:crypto";
import type { SQSEvent } from "aws-lambda";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CANARY_RECIPIENT,
  CANARY_SIGNATURE_HEADER,
  CanaryRecords,
  canaryStatusSignature,
  processCanarySend,
  svixSignature,
} from "../../src/bridge/canary";
import type { EmailSender } from "../../src/bridge/email-sender";
import { lambdaWorkerHandler } from "../../src/bridge/lambda-worker";
import { type LocalDynamo, startLocalDynamo } from "../../src/bridge/local-dynamo";
import { DynamoSendPacer } from "../../src/bridge/pacing";
import { processSends } from "../../src/bridge/send-group";
import type { SendDeps } from "../../src/bridge/send-job";
import { BridgeStore } from "../../src/bridge/store";
import { createTelemetry, METRICS } from "../../src/bridge/telemetry";
import { createWorkerHandler } from "../../src/bridge/worker";
import { awsSandboxEnvironment } from "../../src/sandbox/aws/env";
import { type SsmStandIn, startSsmStandIn } from "../../src/sandbox/aws/ssm";
import { newSigningSecret } from "../../src/sandbox/core/ids";
import { WEBHOOK_SECRET_UNSET } from "../../src/settings/webhook-secret";
import { captureStdout, clerkEmailCreated, signed, sqsRecord } from "./fixtures";
import { type Pipeline, startPipeline } from "./harness";

const canaryId = () => `ema_canary_${randomBytes(12).toString("hex")}`;

/** Posts a signed `email.created` with a canary id to the bridge, as the Pulumi provider does. */
async function postCanary(pipeline: Pipeline, secret: string, id: string, to = CANARY_RECIPIENT) {
  const request = signed(clerkEmailCreated(to, { id }), [secret]);
  const res = await fetch(pipeline.bridge.webhookUrl("clerk"), {
    method: "POST",
    headers: request.headers,
    body: request.body,
  });
  return res.status;
}

async function canaryStatus(pipeline: Pipeline, id: string, signature?: string, method = "GET") {
  const res = await fetch(`${pipeline.bridge.url}/canary/${id}`, {
    method,
    headers: signature ? { [CANARY_SIGNATURE_HEADER]: signature } : {},
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("the canary's signature", () => {
  it("is Svix's: the same header standardwebhooks computes", async () => {
    const secret = newSigningSecret();
    const body = JSON.stringify({ type: "email.created", data: {} });
    expect(await svixSignature(secret, "msg_canary_1", 1_764_000_000, body)).toBe(
      new Webhook(secret).sign("msg_canary_1", new Date(1_764_000_000_000), body),
    );
  });
});

/** A local pipeline for the enclosing `describe`, its bridge holding `secret` as the Clerk webhook secret. */
function pipelineHolding(secret: string, options?: Parameters<typeof startPipeline>[0]): () => Pipeline {
  let pipeline: Pipeline | undefined;
  beforeAll(async () => {
    pipeline = await startPipeline(options);
    pipeline.bridge.setWebhookSecrets({ clerk: [secret] });
  });
  afterAll(() => pipeline?.close());
  return () => pipeline as Pipeline;
}

describe("a canary through the local bridge", () => {
  const secret = newSigningSecret();
  const local = pipelineHolding(secret);
  let pipeline: Pipeline;
  beforeEach(() => {
    pipeline = local();
  });

  it("records Resend's acceptance and tells only the holder of the Clerk webhook secret, without personal data", async () => {
    const id = canaryId();
    expect(await postCanary(pipeline, secret, id)).toBe(202);
    await pipeline.settle();

    const answer = await canaryStatus(pipeline, id, await canaryStatusSignature(secret, id));
    expect(answer.status).toBe(200);
    const sent = pipeline.resend.emails().find((e) => e.headers["X-Entity-Ref-ID"] === id);
    expect(answer.body).toEqual({
      clerkEmailId: id,
      status: "accepted",
      resendEmailId: sent?.id,
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(sent?.to).toEqual([CANARY_RECIPIENT]);
    expect(sent?.tags).toContainEqual({ name: "canary", value: "true" });

    // Anyone else: a signature by another secret, none at all, a non-canary id, another method.
    const other = newSigningSecret();
    expect((await canaryStatus(pipeline, id, await canaryStatusSignature(other, id))).status).toBe(401);
    expect((await canaryStatus(pipeline, id)).status).toBe(401);
    const forOtherId = await canaryStatusSignature(secret, canaryId());
    expect((await canaryStatus(pipeline, id, forOtherId)).status).toBe(401);
    expect(
      (await canaryStatus(pipeline, "ema_2abcDEF", await canaryStatusSignature(secret, "ema_2abcDEF")))
        .status,
    ).toBe(404);
    expect((await canaryStatus(pipeline, id, await canaryStatusSignature(secret, id), "POST")).status).toBe(
      405,
    );

    // During a rotation the bridge holds both secrets; either one reads it.
    pipeline.bridge.setWebhookSecrets({ clerk: [other, secret] });
    expect((await canaryStatus(pipeline, id, await canaryStatusSignature(other, id))).body.status).toBe(
      "accepted",
    );
    pipeline.bridge.setWebhookSecrets({ clerk: [secret] });
  });

  it("answers pending before the worker has recorded anything, and 503 while the bridge has no secret", async () => {
    const id = canaryId();
    const signature = await canaryStatusSignature(secret, id);
    expect((await canaryStatus(pipeline, id, signature)).body).toEqual({
      clerkEmailId: id,
      status: "pending",
    });
    pipeline.bridge.setWebhookSecrets({ clerk: [] });
    expect((await canaryStatus(pipeline, id, signature)).status).toBe(503);
    pipeline.bridge.setWebhookSecrets({ clerk: [secret] });
  });

  it("records a send Resend failed with 5xx as retrying, with the cause", async () => {
    pipeline.resend.server.faults.add({
      kind: "status",
      method: "POST",
      path: "^/emails$",
      status: 503,
      count: 50,
    });
    const id = canaryId();
    expect(await postCanary(pipeline, secret, id)).toBe(202);
    const signature = await canaryStatusSignature(secret, id);
    let answer = await canaryStatus(pipeline, id, signature);
    for (let i = 0; i < 200 && answer.body.status !== "retrying"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      answer = await canaryStatus(pipeline, id, signature);
    }
    pipeline.resend.server.faults.clear();
    expect(answer.body).toMatchObject({
      status: "retrying",
      reason: expect.stringMatching(/^HTTP 503 .*SQS will redeliver it$/),
    });
    await pipeline.settle();
    expect((await canaryStatus(pipeline, id, signature)).body.status).toBe("accepted");
  });

  it("keeps the canary's send out of the sent count (isCanarySend), which still counts users' mail", async () => {
    const sent = () => pipeline.bridge.telemetry.totals[METRICS.sent] ?? 0;
    const before = sent();
    expect(await postCanary(pipeline, secret, canaryId())).toBe(202);
    await pipeline.settle();
    expect(sent()).toBe(before);
    expect(await postCanary(pipeline, secret, canaryId(), "delivered+user@resend.dev")).toBe(202);
    await pipeline.settle();
    expect(sent()).toBe(before + 1);
  });

  it("sends a canary id addressed to anyone else as ordinary mail: no canary tag, no canary record", async () => {
    const id = canaryId();
    expect(await postCanary(pipeline, secret, id, "delivered+someone@resend.dev")).toBe(202);
    await pipeline.settle();
    const sent = pipeline.resend.emails().find((e) => e.headers["X-Entity-Ref-ID"] === id);
    expect(sent?.tags.map((t) => t.name)).not.toContain("canary");
    expect((await canaryStatus(pipeline, id, await canaryStatusSignature(secret, id))).body.status).toBe(
      "pending",
    );
  });
});

/**
 * Posts a canary signed the way the Pulumi provider signs it: with every secret in the parameter value it
 * holds (`svixSignature`), not with the test fixtures' signer.
 */
async function postSignedCanary(pipeline: Pipeline, secretValue: string, id: string) {
  const body = JSON.stringify(clerkEmailCreated(CANARY_RECIPIENT, { id }));
  const svixId = `msg_canary_${randomBytes(8).toString("hex")}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const res = await fetch(pipeline.bridge.webhookUrl("clerk"), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "svix-id": svixId,
      "svix-timestamp": String(timestamp),
      "svix-signature": await svixSignature(secretValue, svixId, timestamp, body),
    },
    body,
  });
  return res.status;
}

describe("a canary during a Clerk webhook secret rotation", () => {
  const previous = newSigningSecret();
  const next = newSigningSecret();
  /** The parameter's value during the overlap, new first, as the rotation runbook sets it. */
  const pair = `${next} ${previous}`;
  const local = pipelineHolding(previous);

  it("signs with both secrets of the pair, so a bridge holding the old, the new or both accepts and answers it", async () => {
    const pipeline = local();
    expect((await svixSignature(pair, "msg_canary_1", 1_764_000_000, "{}")).split(" ")).toEqual([
      expect.stringMatching(/^v1,/),
      expect.stringMatching(/^v1,/),
    ]);
    for (const held of [[previous], [next], [previous, next]]) {
      pipeline.bridge.setWebhookSecrets({ clerk: held });
      const id = canaryId();
      expect(await postSignedCanary(pipeline, pair, id), held.join(" ")).toBe(202);
      await pipeline.settle();
      const answer = await canaryStatus(pipeline, id, await canaryStatusSignature(pair, id));
      expect(answer.body.status, held.join(" ")).toBe("accepted");
    }
    // A value holding neither secret the bridge has is refused at both routes.
    pipeline.bridge.setWebhookSecrets({ clerk: [previous] });
    const stranger = `${newSigningSecret()} ${newSigningSecret()}`;
    const id = canaryId();
    expect(await postSignedCanary(pipeline, stranger, id)).toBe(401);
    expect((await canaryStatus(pipeline, id, await canaryStatusSignature(stranger, id))).status).toBe(401);
  });

  it("answers 503 while the bridge holds the unset marker, and will not sign with it or a bad pair", async () => {
    const pipeline = local();
    const id = canaryId();
    const signature = await canaryStatusSignature(previous, id);
    pipeline.bridge.setWebhookSecrets({ clerk: [WEBHOOK_SECRET_UNSET] });
    const answer = await canaryStatus(pipeline, id, signature);
    expect(answer).toEqual({
      status: 503,
      body: { error: "the bridge has no usable Clerk webhook signing secret" },
    });
    pipeline.bridge.setWebhookSecrets({ clerk: [previous] });

    await expect(canaryStatusSignature(WEBHOOK_SECRET_UNSET, id)).rejects.toThrow(
      "the Clerk webhook signing secret is not set yet (the bridge's unset marker)",
    );
    const halfValid = `${next} whsec_${Buffer.alloc(8, 1).toString("base64")}`;
    const refused = canaryStatusSignature(halfValid, id);
    await expect(refused).rejects.toThrow(
      "the Clerk webhook signing secret is unusable: secret 2 must hold a key of at least 24 bytes (it holds 8)",
    );
    await expect(refused).rejects.not.toThrow(next.slice("whsec_".length));
  });
});

describe("a canary the bridge cannot send", () => {
  const secret = newSigningSecret();
  const local = pipelineHolding(secret, {
    bridge: { settings: { fromAddress: "auth@unverified.example.com", fromName: "Acme", stack: "e2e" } },
  });

  it("is recorded as failed with Resend's own refusal", async () => {
    const pipeline = local();
    const id = canaryId();
    expect(await postCanary(pipeline, secret, id)).toBe(202);
    await pipeline.settle();
    const answer = await canaryStatus(pipeline, id, await canaryStatusSignature(secret, id));
    expect(answer.body).toMatchObject({
      status: "failed",
      reason:
        "Resend refused: HTTP 403 validation_error: The `unverified.example.com` domain is not verified. Please, add and verify your domain on https://resend.com/domains",
    });
  });
});

describe("the worker's verdict without a local bridge", () => {
  let ssm: SsmStandIn;
  let dynamo: LocalDynamo;

  beforeAll(async () => {
    ssm = await startSsmStandIn();
    dynamo = await startLocalDynamo("bridge");
    ssm.putParameter("/b/clerk-key", "sk_test_key");
  });
  afterAll(async () => {
    await Promise.all([ssm?.close(), dynamo?.close()]);
  });

  it("a worker that cannot start records every canary in the batch as failed with the cause, then fails the batch", async () => {
    const env = {
      ...awsSandboxEnvironment({ ssm: ssm.endpoint, dynamodb: dynamo.endpoint }),
      BRIDGE_TABLE_NAME: "bridge",
      BRIDGE_PARAM_RESEND_API_KEY: "/b/no-such-key",
      BRIDGE_PARAM_CLERK_SECRET_KEY: "/b/clerk-key",
      BRIDGE_FROM_ADDRESS: "auth@mail.example.com",
      BRIDGE_FROM_NAME: "Acme",
      BRIDGE_STACK: "test",
      POWERTOOLS_METRICS_DISABLED: "true",
      POWERTOOLS_LOG_LEVEL: "SILENT",
    };
    const id = canaryId();
    const job = {
      kind: "send",
      clerkEmailId: id,
      to: CANARY_RECIPIENT,
      subject: "s",
      html: "h",
      createdAtMs: Date.now(),
    };
    const message = { source: "clerk", svixId: "msg_1", type: "email.created", receivedAt: "", job };
    const batch: SQSEvent = { Records: [sqsRecord("m-1", JSON.stringify(message))] };
    const stdout = captureStdout();
    try {
      await expect(lambdaWorkerHandler(env)(batch)).rejects.toThrow(/\/b\/no-such-key/);
    } finally {
      stdout.restore();
    }
    const recorded = await new CanaryRecords(dynamo.client, "bridge").read(id);
    expect(recorded).toMatchObject({
      status: "failed",
      reason: expect.stringMatching(
        /^worker could not read its secrets: SSM parameter\(s\) not found or not readable: \/b\/no-such-key/,
      ),
    });
  });
  /** A worker's send dependencies on the local table, with `email` as Resend. */
  const sendDeps = (email: EmailSender): SendDeps => ({
    store: new BridgeStore(dynamo.client, "bridge"),
    email,
    pacer: new DynamoSendPacer(dynamo.client, "bridge", 1),
    users: {
      getUser: async () => undefined,
      findByEmail: async () => undefined,
      setEmailStatus: async () => undefined,
    },
    telemetry: createTelemetry({ logLevel: "SILENT", emitMetrics: false }),
    settings: {
      fromAddress: "auth@mail.example.com",
      fromName: "Acme",
      replyTo: undefined,
      codeLifetimeSeconds: 600,
      codeLifetimes: {},
      stack: "test",
      extraHeaders: {},
    },
    backoff: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    sleep: async () => undefined,
  });
  const sendJob = (clerkEmailId: string, to: string) => ({
    kind: "send" as const,
    clerkEmailId,
    to,
    subject: "s",
    html: "h",
    createdAtMs: Date.now(),
  });

  it("a refusal that users' mail would wait out in the queue is the canary's failure, recorded and acknowledged", async () => {
    let sends = 0;
    const deps = sendDeps({
      async send() {
        sends++;
        return {
          ok: false,
          retryable: true,
          status: 403,
          name: "invalid_api_key",
          message: "API key is invalid",
        };
      },
      sendBatch: async () => {
        throw new Error("a canary is sent alone, never in a batch");
      },
    });
    const records = new CanaryRecords(dynamo.client, "bridge");
    const id = canaryId();
    const item = { messageId: "msg-1", job: sendJob(id, CANARY_RECIPIENT), logger: deps.telemetry.logger };
    expect(await processCanarySend(item, deps, records, processSends)).toEqual({ kind: "done" });
    expect(sends).toBe(2);
    expect(await records.read(id)).toMatchObject({
      status: "failed",
      reason: "Resend refused: HTTP 403 invalid_api_key: API key is invalid",
    });
  });

  it("sends a canary alone while the users' mail of the same SQS batch goes out in one batch request", async () => {
    const single: string[] = [];
    const batched: string[][] = [];
    const deps = sendDeps({
      async send(email) {
        single.push(email.to);
        return { ok: true, id: `re_${email.to}` };
      },
      async sendBatch(emails) {
        batched.push(emails.map((e) => e.to));
        return { ok: true, items: emails.map((e) => ({ ok: true as const, id: `re_${e.to}` })) };
      },
    });
    const records = new CanaryRecords(dynamo.client, "bridge");
    const worker = createWorkerHandler({ ...deps, canary: records });
    const id = canaryId();
    const jobs = [
      sendJob(`ema_user${randomBytes(6).toString("hex")}`, "a@example.org"),
      sendJob(id, CANARY_RECIPIENT),
      sendJob(`ema_user${randomBytes(6).toString("hex")}`, "b@example.org"),
    ];
    const event: SQSEvent = {
      Records: jobs.map((job, i) =>
        sqsRecord(
          `m${i}`,
          JSON.stringify({ source: "clerk", svixId: `msg_${i}`, type: "email.created", job }),
        ),
      ),
    };
    expect(await worker(event)).toEqual({ batchItemFailures: [] });
    expect(batched).toEqual([["a@example.org", "b@example.org"]]);
    expect(single).toEqual([CANARY_RECIPIENT]);
    expect(await records.read(id)).toMatchObject({
      status: "accepted",
      resendEmailId: `re_${CANARY_RECIPIENT}`,
    });
  });
});
