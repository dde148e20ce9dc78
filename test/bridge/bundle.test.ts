import { execFile } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleBridge } from "../../src/bridge/bundle";
import { type LocalDynamo, startLocalDynamo } from "../../src/bridge/local-dynamo";
import { awsSandboxEnvironment, sandboxClientConfig } from "../../src/sandbox/aws/env";
import { type SqsStandIn, startSqsStandIn } from "../../src/sandbox/aws/sqs";
import { type SsmStandIn, startSsmStandIn } from "../../src/sandbox/aws/ssm";
import { type ClerkStandIn, startClerkStandIn } from "../../src/sandbox/clerk";
import { newSigningSecret } from "../../src/sandbox/core/ids";
import { type ResendStandIn, startResendStandIn } from "../../src/sandbox/resend";
import { bridgeEnvironment, clerkEmailCreated, functionUrlEvent, signed, sqsRecord } from "./fixtures";

// Inside the repository so the bundles resolve the external AWS SDK from node_modules, as Lambda's runtime would.
const ROOT = join(__dirname, "..", "..", "dist", `bridge-bundle-test-${process.pid}`);

/** Runs one handler of a bundle in a fresh Node process, the way a Lambda execution environment would. */
function invoke(
  file: string,
  event: unknown,
  env: Record<string, string>,
): Promise<{ result?: unknown; error?: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [join(ROOT, "run.mjs"), file],
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const last = stdout.trim().split("\n").at(-1) ?? "";
        if (last.startsWith('{"outcome"')) return resolve(JSON.parse(last).outcome);
        reject(new Error(`handler process failed: ${err?.message}\n${stderr}`));
      },
    );
    child.stdin?.end(JSON.stringify(event));
  });
}

const RUNNER = `
import { pathToFileURL } from "node:url";
let input = "";
for await (const chunk of process.stdin) input += chunk;
const { handler } = await import(pathToFileURL(process.argv[2]).href);
let outcome;
try { outcome = { result: await handler(JSON.parse(input)) }; } catch (err) { outcome = { error: String(err && err.message) }; }
console.log(JSON.stringify({ outcome }));
`;

describe("bundleBridge", () => {
  let first: Awaited<ReturnType<typeof bundleBridge>>;
  let dynamo: LocalDynamo;
  let sqs: SqsStandIn;
  let ssm: SsmStandIn;
  let resend: ResendStandIn;
  let clerk: ClerkStandIn;
  let env: Record<string, string>;
  const clerkSecret = newSigningSecret();

  beforeAll(async () => {
    first = await bundleBridge(join(ROOT, "a"));
    await writeFile(join(ROOT, "run.mjs"), RUNNER);
    dynamo = await startLocalDynamo("bridge");
    sqs = await startSqsStandIn();
    ssm = await startSsmStandIn();
    resend = await startResendStandIn({ dnsServer: "127.0.0.1:9", rateLimitPerSecond: 100 });
    resend.addVerifiedDomain("mail.example.com");
    clerk = await startClerkStandIn();
    ssm.putParameter("/bridge/resend-api-key", resend.apiKey, "SecureString");
    ssm.putParameter("/bridge/clerk-secret-key", clerk.secretKey, "SecureString");
    ssm.putParameter("/bridge/clerk-webhook-secret", `${newSigningSecret()} ${clerkSecret}`, "SecureString");
    ssm.putParameter("/bridge/resend-webhook-secret", newSigningSecret(), "SecureString");
    env = bridgeEnvironment("/bridge", {
      ...awsSandboxEnvironment({ sqs: sqs.endpoint, ssm: ssm.endpoint, dynamodb: dynamo.endpoint }),
      BRIDGE_QUEUE_URL: sqs.createQueue("bridge-jobs"),
      BRIDGE_STACK: "bundle-test",
      RESEND_BASE_URL: resend.url,
      BRIDGE_CLERK_API_URL: clerk.url,
    });
  });
  afterAll(async () => {
    await Promise.all([dynamo?.close(), sqs?.close(), ssm?.close(), resend?.close(), clerk?.close()]);
    await rm(ROOT, { recursive: true, force: true });
  });

  it("is deterministic, small, and keeps the AWS SDK external", async () => {
    const second = await bundleBridge(join(ROOT, "b"));
    expect(second.sha256).toBe(first.sha256);
    expect(first.bytes.worker).toBeLessThan(300 * 1024);
    expect(first.bytes.ingest).toBeLessThan(first.bytes.worker);
    const inputs = Object.keys(first.metafile.inputs);
    expect(inputs.some((p) => p.includes("node_modules/@aws-sdk/"))).toBe(false);
    expect(inputs.some((p) => p.includes("node_modules/postal-mime/"))).toBe(false);
  });

  it("runs ingest.handler and worker.handler from the bundle: webhook → SQS → Resend", async () => {
    const event = clerkEmailCreated("delivered+bundle@resend.dev", { userId: null });
    const accepted = await invoke(
      first.files.ingest,
      functionUrlEvent("POST", "/webhooks/clerk", signed(event, [clerkSecret]), { base64: true }),
      env,
    );
    expect(accepted.error).toBeUndefined();
    expect(accepted.result).toMatchObject({ statusCode: 202 });

    const client = new SQSClient(sandboxClientConfig(sqs.endpoint));
    const received = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: env.BRIDGE_QUEUE_URL,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    client.destroy();
    expect(received.Messages).toHaveLength(1);
    const sqsEvent: SQSEvent = {
      Records: (received.Messages ?? []).map((m) =>
        sqsRecord(m.MessageId ?? "", m.Body ?? "", {
          receiptHandle: m.ReceiptHandle ?? "",
          md5OfBody: m.MD5OfBody ?? "",
          eventSourceARN: sqs.queueArn("bridge-jobs"),
        }),
      ),
    };
    const processed = await invoke(first.files.worker, sqsEvent, env);
    expect(processed).toEqual({ result: { batchItemFailures: [] } });
    const sent = resend.emails().filter((e) => e.to.includes("delivered+bundle@resend.dev"));
    expect(sent).toHaveLength(1);
    expect(sent[0]?.tags).toContainEqual({ name: "stack", value: "bundle-test" });
  });

  it("fails every invocation with the variables to fix when the environment is incomplete", async () => {
    const { BRIDGE_TABLE_NAME: _t, BRIDGE_PARAM_CLERK_WEBHOOK_SECRET: _c, ...partial } = env;
    const outcome = await invoke(first.files.ingest, functionUrlEvent("GET", "/health"), partial);
    expect(outcome.error).toContain("BRIDGE_TABLE_NAME");
    expect(outcome.error).toContain("BRIDGE_PARAM_CLERK_WEBHOOK_SECRET");
  });
});
