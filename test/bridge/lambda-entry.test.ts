import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { SQSEvent } from "aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { lambdaIngestHandler } from "../../src/bridge/lambda-ingest";
import { lambdaWorkerHandler } from "../../src/bridge/lambda-worker";
import { type LocalDynamo, startLocalDynamo } from "../../src/bridge/local-dynamo";
import { BridgeStore } from "../../src/bridge/store";
import { awsSandboxEnvironment } from "../../src/sandbox/aws/env";
import { startSqsStandIn } from "../../src/sandbox/aws/sqs";
import { type SsmStandIn, startSsmStandIn } from "../../src/sandbox/aws/ssm";
import { newSigningSecret } from "../../src/sandbox/core/ids";
import { WEBHOOK_SECRET_UNSET } from "../../src/settings/webhook-secret";
import {
  type CapturedStdout,
  captureStdout,
  clerkEmailCreated,
  functionUrlEvent,
  signed,
  sqsRecord,
} from "./fixtures";

const clerkWebhookSecret = newSigningSecret();

/** The Lambda entry points stamp each log line with the invocation's request id and cold-start flag. */
describe("Lambda entry points", () => {
  let ssm: SsmStandIn;
  let dynamo: LocalDynamo;
  let env: Record<string, string>;
  let lines: Array<Record<string, unknown>>;
  let stdout: CapturedStdout;

  beforeAll(async () => {
    ssm = await startSsmStandIn();
    dynamo = await startLocalDynamo("bridge");
    ssm.putParameter("/b/clerk-webhook", clerkWebhookSecret);
    ssm.putParameter("/b/resend-webhook", newSigningSecret());
    ssm.putParameter("/b/resend-key", "re_test_key");
    ssm.putParameter("/b/clerk-key", "sk_test_key");
    env = {
      ...awsSandboxEnvironment({ ssm: ssm.endpoint, dynamodb: dynamo.endpoint }),
      AWS_LAMBDA_FUNCTION_NAME: "bridge-test",
      BRIDGE_TABLE_NAME: "bridge",
      BRIDGE_QUEUE_URL: "http://127.0.0.1:9/000000000000/bridge",
      BRIDGE_PARAM_CLERK_WEBHOOK_SECRET: "/b/clerk-webhook",
      BRIDGE_PARAM_RESEND_WEBHOOK_SECRET: "/b/resend-webhook",
      BRIDGE_PARAM_RESEND_API_KEY: "/b/resend-key",
      BRIDGE_PARAM_CLERK_SECRET_KEY: "/b/clerk-key",
      BRIDGE_FROM_ADDRESS: "auth@mail.example.com",
      BRIDGE_FROM_NAME: "Acme",
      BRIDGE_STACK: "test",
      POWERTOOLS_METRICS_NAMESPACE: "auth-email-pipeline/test",
    };
  });
  afterAll(async () => {
    await Promise.all([ssm?.close(), dynamo?.close()]);
  });
  beforeEach(() => {
    stdout = captureStdout();
    lines = stdout.lines;
  });
  afterEach(() => stdout.restore());

  it("ingest: a rejected webhook's log line names the function and request, cold only the first time", async () => {
    const handler = lambdaIngestHandler(env);
    const forged = signed(clerkEmailCreated("someone@example.com"), [newSigningSecret()]);
    for (const requestId of ["req-1", "req-2"]) {
      const result = await handler(functionUrlEvent("POST", "/webhooks/clerk", forged), {
        awsRequestId: requestId,
      });
      expect(result.statusCode).toBe(401);
    }
    const rejected = lines.filter((l) => l.message === "webhook signature rejected");
    expect(rejected.map((l) => [l.function_request_id, l.cold_start])).toEqual([
      ["req-1", true],
      ["req-2", false],
    ]);
    expect(rejected[0]).toMatchObject({ function_name: "bridge-test", svixId: forged.headers["svix-id"] });
    // One EMF document per invocation, each counting its own rejection.
    const emf = lines.filter((l) => "_aws" in l);
    expect(emf.map((d) => d.WebhookRejected)).toEqual([1, 1]);
  });

  it("ingest: an enqueue that hangs gives up before the function's end and releases its claim; the retry is queued once", async () => {
    // An SQS endpoint that accepts connections and never answers.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const sqs = await startSqsStandIn();
    try {
      const hung = lambdaIngestHandler({
        ...env,
        AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      });
      const req = signed(clerkEmailCreated("delivered+hung@resend.dev"), [clerkWebhookSecret]);
      const svixId = req.headers["svix-id"] as string;
      const started = Date.now();
      const result = await hung(functionUrlEvent("POST", "/webhooks/clerk", req), {
        awsRequestId: "req-hung",
        getRemainingTimeInMillis: () => 3_000 - (Date.now() - started),
      });
      expect(result.statusCode).toBe(500);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(
        await dynamo.client.get("bridge", { pk: `delivery#clerk#${svixId}`, sk: "delivery" }),
      ).toBeUndefined();
      expect(lines.find((l) => l.message === "enqueue failed; the sender will retry")).toMatchObject({
        svixId,
        error: "TimeoutError",
      });

      // Svix's retry reaches a function whose SQS answers: queued once, and a further retry is a duplicate.
      const queueUrl = sqs.createQueue("bridge");
      const healthy = lambdaIngestHandler({
        ...env,
        AWS_ENDPOINT_URL_SQS: sqs.endpoint,
        BRIDGE_QUEUE_URL: queueUrl,
      });
      const retry = () =>
        healthy(functionUrlEvent("POST", "/webhooks/clerk", req), { awsRequestId: "req-retry" });
      expect((await retry()).statusCode).toBe(202);
      expect((await retry()).statusCode).toBe(200);
      expect(sqs.messages("bridge").map((m) => JSON.parse(m.body).svixId)).toEqual([svixId]);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
      await sqs.close();
    }
  });

  it("ingest: a placeholder or unset webhook parameter closes that route with 503, logged by parameter name and counted", async () => {
    ssm.putParameter("/b/clerk-placeholder", "unregistered");
    ssm.putParameter("/b/resend-unset", WEBHOOK_SECRET_UNSET);
    const handler = lambdaIngestHandler({
      ...env,
      BRIDGE_PARAM_CLERK_WEBHOOK_SECRET: "/b/clerk-placeholder",
      BRIDGE_PARAM_RESEND_WEBHOOK_SECRET: "/b/resend-unset",
    });
    const forged = signed(clerkEmailCreated("someone@example.com"), [newSigningSecret()]);
    const clerk = await handler(functionUrlEvent("POST", "/webhooks/clerk", forged), {
      awsRequestId: "req-p",
    });
    expect(clerk.statusCode).toBe(503);
    expect(lines.find((l) => l.level === "ERROR")).toMatchObject({
      message: "webhook refused: the route's signing secret parameter is invalid",
      parameter: "/b/clerk-placeholder",
      problems: ['must start with "whsec_"'],
    });
    expect(lines.find((l) => "_aws" in l)).toMatchObject({ WebhookSecretInvalid: 1 });
    const resend = await handler(functionUrlEvent("POST", "/webhooks/resend", forged), {
      awsRequestId: "req-u",
    });
    expect(resend.statusCode).toBe(503);
    expect(JSON.parse(resend.body ?? "{}").error).toMatch(
      /^the Resend webhook signing secret is not set yet: /,
    );
    const health = await handler(functionUrlEvent("GET", "/health"), { awsRequestId: "req-h" });
    expect(health.statusCode).toBe(503);
    expect(JSON.parse(health.body ?? "{}")).toMatchObject({
      status: "unready",
      routes: { clerk: { ready: false }, resend: { ready: false } },
    });
    expect(stdout.text()).not.toContain("unregistered");
    expect(health.body).not.toContain("/b/");
  });

  it("worker: a failed record's log line carries the request id and the batch's metrics are flushed", async () => {
    const handler = lambdaWorkerHandler(env);
    const batch: SQSEvent = { Records: [sqsRecord("m-1", "not json")] };
    const result = await handler(batch, { awsRequestId: "req-w" });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: "m-1" }]);
    expect(lines.find((l) => l.message === "record failed; left for SQS redelivery")).toMatchObject({
      function_request_id: "req-w",
      cold_start: true,
      messageId: "m-1",
      error: "PoisonMessage",
    });
    expect(lines.find((l) => "_aws" in l)).toMatchObject({ Retried: 1, service: "auth-email-bridge" });
  });

  it("worker: its DynamoDB client reads the environment the handler was given, not process.env", async () => {
    expect(process.env.AWS_ENDPOINT_URL_DYNAMODB).toBeUndefined();
    const handler = lambdaWorkerHandler(env);
    const message = {
      source: "clerk",
      svixId: "msg_env",
      type: "email.created",
      receivedAt: new Date().toISOString(),
      // Created an hour ago: dropped as stale, which reads and writes DynamoDB and sends nothing.
      job: {
        kind: "send",
        clerkEmailId: "ema_env",
        to: "a@example.com",
        subject: "s",
        html: "h",
        createdAtMs: Date.now() - 3_600_000,
      },
    };
    const result = await handler({ Records: [sqsRecord("m-env", JSON.stringify(message))] });
    expect(result.batchItemFailures).toEqual([]);
    const store = new BridgeStore(dynamo.client, "bridge");
    expect(await store.getSend("ema_env")).toMatchObject({ status: "dropped_stale" });
  });
});
