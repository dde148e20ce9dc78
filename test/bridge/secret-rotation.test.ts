import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { lambdaIngestHandler } from "../../src/bridge/lambda-ingest";
import { lambdaWorkerHandler } from "../../src/bridge/lambda-worker";
import { type LocalDynamo, startLocalDynamo } from "../../src/bridge/local-dynamo";
import { BridgeStore } from "../../src/bridge/store";
import { awsSandboxEnvironment } from "../../src/sandbox/aws/env";
import { type SqsStandIn, startSqsStandIn } from "../../src/sandbox/aws/sqs";
import { type SsmStandIn, startSsmStandIn } from "../../src/sandbox/aws/ssm";
import { type ClerkStandIn, startClerkStandIn } from "../../src/sandbox/clerk";
import { newSigningSecret } from "../../src/sandbox/core/ids";
import { type ResendStandIn, startResendStandIn } from "../../src/sandbox/resend";
import {
  bridgeEnvironment,
  type CapturedStdout,
  captureStdout,
  clerkEmailCreated,
  functionUrlEvent,
  signed,
  sqsRecord,
} from "./fixtures";

/**
 * A secret changed in SSM reaches warm Lambda handlers: ingest re-reads the webhook secrets when a signature
 * fails under secrets older than the reload interval (and when they pass their max age); the worker re-reads
 * the API keys when Resend or Clerk refuses one. The clock the cache ages by is the test's.
 */
describe("secrets rotated in SSM reach warm handlers", () => {
  let ssm: SsmStandIn;
  let sqs: SqsStandIn;
  let dynamo: LocalDynamo;
  let resend: ResendStandIn;
  let clerk: ClerkStandIn;
  let env: Record<string, string>;
  let clock: number;
  let stdout: CapturedStdout;
  const parameterReads = () =>
    ssm.server.requests.filter((r) => String(r.headers["x-amz-target"]).endsWith(".GetParameters")).length;

  beforeAll(async () => {
    [ssm, sqs, dynamo, clerk] = await Promise.all([
      startSsmStandIn(),
      startSqsStandIn(),
      startLocalDynamo("bridge"),
      startClerkStandIn(),
    ]);
    resend = await startResendStandIn({ dnsServer: "127.0.0.1:9", rateLimitPerSecond: 100 });
    resend.addVerifiedDomain("mail.example.com");
    env = bridgeEnvironment("/r", {
      ...awsSandboxEnvironment({ ssm: ssm.endpoint, sqs: sqs.endpoint, dynamodb: dynamo.endpoint }),
      BRIDGE_QUEUE_URL: sqs.createQueue("rotation"),
      BRIDGE_STACK: "test",
      RESEND_BASE_URL: resend.url,
      BRIDGE_CLERK_API_URL: clerk.url,
    });
  });
  afterAll(async () => {
    await Promise.all([ssm?.close(), sqs?.close(), dynamo?.close(), resend?.close(), clerk?.close()]);
  });
  beforeEach(() => {
    clock = Date.now();
    stdout = captureStdout();
  });
  afterEach(() => stdout.restore());

  it("ingest: the old webhook secret is refused after the overlap, the new one accepted, on one warm handler", async () => {
    const A = newSigningSecret();
    const B = newSigningSecret();
    ssm.putParameter("/r/clerk-webhook-secret", A, "SecureString");
    ssm.putParameter("/r/resend-webhook-secret", newSigningSecret(), "SecureString");
    const handler = lambdaIngestHandler(env, { now: () => clock });
    const readsBefore = parameterReads();
    const send = async (secret: string) => {
      const req = signed(clerkEmailCreated("delivered@resend.dev"), [secret]);
      return (await handler(functionUrlEvent("POST", "/webhooks/clerk", req))).statusCode;
    };

    expect(await send(A)).toBe(202);
    // Rotation starts: the parameter holds both. B verifies at its first use once the cache is 5 s old.
    ssm.putParameter("/r/clerk-webhook-secret", `${A} ${B}`, "SecureString");
    clock += 5_000;
    expect(await send(B)).toBe(202);
    expect(await send(A)).toBe(202);
    // Rotation ends: A alone is refused once the cache has aged out; B still verifies.
    ssm.putParameter("/r/clerk-webhook-secret", B, "SecureString");
    clock += 60_000;
    expect(await send(A)).toBe(401);
    expect(await send(B)).toBe(202);
    expect(parameterReads() - readsBefore).toBe(3);
    expect(sqs.messages("rotation")).toHaveLength(4);
  });

  it("worker: a Resend key and a Clerk key rotated in SSM are used after the old one is refused", async () => {
    ssm.putParameter("/r/resend-api-key", "re_revoked_old_key", "SecureString");
    ssm.putParameter("/r/clerk-secret-key", "sk_test_revoked_old", "SecureString");
    const handler = lambdaWorkerHandler(env, { now: () => clock });
    const store = new BridgeStore(dynamo.client, "bridge");
    const message = (job: Record<string, unknown>) =>
      JSON.stringify({
        source: "clerk",
        svixId: "msg_w",
        type: "t",
        receivedAt: new Date().toISOString(),
        job,
      });

    // Warm: the first batch reads the (old) keys without calling either API (a stale code is dropped).
    const stale = {
      kind: "send",
      clerkEmailId: "ema_stale",
      to: "a@b.c",
      subject: "s",
      html: "h",
      createdAtMs: 0,
    };
    expect(await handler({ Records: [sqsRecord("m-0", message(stale))] })).toEqual({ batchItemFailures: [] });
    const readsBefore = parameterReads();

    // Resend answers an unknown key 403 (a missing one 401); both make the worker re-read its keys.
    ssm.putParameter("/r/resend-api-key", resend.apiKey, "SecureString");
    clock += 10_000;
    const send = {
      kind: "send",
      clerkEmailId: "ema_rotated",
      to: "delivered+rotated@resend.dev",
      subject: "Your code",
      html: "<p>123456</p>",
      createdAtMs: Date.now(),
    };
    expect(await handler({ Records: [sqsRecord("m-1", message(send))] })).toEqual({ batchItemFailures: [] });
    expect(resend.server.requests.filter((r) => r.path === "/emails").map((r) => r.status)).toEqual([
      403, 200,
    ]);
    expect(resend.emails().filter((e) => e.to.includes("delivered+rotated@resend.dev"))).toHaveLength(1);
    expect(await store.getSend("ema_rotated")).toMatchObject({ status: "sent" });
    expect(parameterReads() - readsBefore).toBe(1);

    const address = "bounced+rotated@resend.dev";
    const { user } = clerk.instance.signUp(address, { verify: true });
    await store.recordSuppression({ address, reason: "bounce", eventType: "email.bounced" });
    ssm.putParameter("/r/clerk-secret-key", clerk.secretKey, "SecureString");
    clock += 10_000;
    const reconcile = {
      kind: "user",
      event: "user.updated",
      userId: user!.id,
      addresses: [address],
      primaryAddress: address,
      publicMetadata: {},
    };
    expect(await handler({ Records: [sqsRecord("m-2", message(reconcile))] })).toEqual({
      batchItemFailures: [],
    });
    expect(
      clerk.server.requests.filter((r) => r.path === `/v1/users/${user!.id}`).map((r) => r.status),
    ).toEqual([401, 200]);
    expect(clerk.instance.user(user!.id).publicMetadata).toMatchObject({ email_status: "undeliverable" });
    expect(parameterReads() - readsBefore).toBe(2);
    expect(stdout.text()).not.toContain(resend.apiKey);
  });
});
