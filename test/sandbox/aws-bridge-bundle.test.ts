import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleBridge } from "../../src/bridge/bundle";
import {
  type FunctionUrl,
  type LocalAws,
  type LocalLambda,
  startFunctionUrl,
  startLocalAws,
  startLocalLambda,
} from "../../src/sandbox/aws/index";

// The deployment contract: bundleBridge() emits ingest.mjs/worker.mjs run as ingest.handler/worker.handler.
describe("the bridge bundle in the local Lambda runner", () => {
  let outDir: string;
  let aws: LocalAws;
  let ingest: LocalLambda;
  let url: FunctionUrl;
  const webhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), "bridge-bundle-"));
    const { files } = await bundleBridge(outDir);
    aws = await startLocalAws({ timeScale: 0.01 });
    aws.ssm.putParameter("/bridge/clerk-webhook-secret", webhookSecret);
    aws.ssm.putParameter("/bridge/resend-webhook-secret", webhookSecret);
    ingest = await startLocalLambda({
      name: "bridge-ingest",
      bundleFile: files.ingest,
      handler: "ingest.handler",
      timeoutSeconds: 10,
      environment: {
        BRIDGE_TABLE_NAME: "bridge-table",
        BRIDGE_QUEUE_URL: aws.sqs.createQueue("bridge-queue", { VisibilityTimeout: "60" }),
        BRIDGE_PARAM_CLERK_WEBHOOK_SECRET: "/bridge/clerk-webhook-secret",
        BRIDGE_PARAM_RESEND_WEBHOOK_SECRET: "/bridge/resend-webhook-secret",
        BRIDGE_PARAM_RESEND_API_KEY: "/bridge/resend-api-key",
        BRIDGE_PARAM_CLERK_SECRET_KEY: "/bridge/clerk-secret-key",
        BRIDGE_FROM_ADDRESS: "auth@mail.example.com",
        BRIDGE_FROM_NAME: "Example",
        BRIDGE_STACK: "dev",
        POWERTOOLS_SERVICE_NAME: "bridge",
        POWERTOOLS_METRICS_NAMESPACE: "AuthEmail",
      },
      awsEnvironment: aws.environment,
    });
    url = await startFunctionUrl(ingest);
  });

  afterAll(async () => {
    await url?.close();
    await ingest?.close();
    await aws?.close();
    await rm(outDir, { recursive: true, force: true });
  });

  it("cold-starts ingest.handler, reads its secrets from SSM and refuses an unsigned webhook", async () => {
    const res = await fetch(`${url.url}webhooks/clerk`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "email.created", data: {} }),
    });
    expect(res.status).toBe(401);
    expect(ingest.coldStarts).toBe(1);
    expect(aws.ssm.server.requests.some((r) => r.body.includes("/bridge/clerk-webhook-secret"))).toBe(true);
    expect(JSON.stringify(ingest.logs)).not.toContain(webhookSecret);
  });
});
