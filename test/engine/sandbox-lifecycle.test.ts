import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { isCanarySend } from "../../src/bridge/events";
import { type Sandbox, startSandbox } from "../../src/sandbox";
import { sandboxClientConfig } from "../../src/sandbox/aws/env";
import type { ControlEvent } from "../../src/sandbox/engine/control-server";
import { type SandboxStack, upSandboxStack } from "../../src/sandbox/engine/sandbox-stack";
import { BOUNCED_ADDRESS, DELIVERED_ADDRESS, runScenario } from "../../src/sandbox/local-cloud/scenario";
import { LOCAL_CLOUD_SANDBOX } from "../../src/sandbox/local-cloud/up";
import { eventually } from "../support/eventually";
import { describeWithEngine } from "../support/pulumi-engine";

const TEMPLATES = ["verification_code", "reset_password_code"];
const POLICY_PACK = join(__dirname, "..", "..", "policy");

describeWithEngine("the sandbox stack's lifecycle under the real engine", (toolsBin) => {
  let sandbox: Sandbox;
  let stack: SandboxStack;
  const events: ControlEvent[] = [];
  const bundleDir = mkdtempSync(join(tmpdir(), "engine-bundle-"));

  beforeAll(async () => {
    // The program (a process of the engine's) builds the bridge bundle here instead of into dist/.
    process.env.BRIDGE_BUNDLE_DIR = bundleDir;
    sandbox = await startSandbox(LOCAL_CLOUD_SANDBOX);
    stack = await upSandboxStack({ sandbox, toolsBin, onEvent: (e) => events.push(e) });
  }, 300_000);

  afterAll(async () => {
    await stack?.deployment.close();
    await sandbox?.close();
    await rm(bundleDir, { recursive: true, force: true });
  });

  const readParameter = async (name: string) => {
    const ssm = new SSMClient(sandboxClientConfig(sandbox.aws.ssm.endpoint));
    try {
      return (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter?.Value;
    } finally {
      ssm.destroy();
    }
  };

  it("deploys a stack whose sign-up loop works: code delivered, bounce flagged and blocked", async () => {
    expect(stack.summary.join("\n")).toMatch(/^ {4}\+ 42 created$/m);
    const { facts } = await runScenario({ sandbox, outputs: stack.outputs, templates: TEMPLATES });
    expect(facts.domain.status).toBe("verified");
    expect(facts.resendWebhook.endpoint).toBe(`${stack.outputs.bridgeUrl}webhooks/resend`);
    expect(facts.clerkEndpoint.url).toBe(`${stack.outputs.bridgeUrl}webhooks/clerk`);
    expect(facts.templates).toEqual({ verification_code: false, reset_password_code: false });
    // The user's code, not the delivery canary the deployment sent to the same test address before the cutover.
    const sent = sandbox.resend.emails().filter((e) => e.to.includes(DELIVERED_ADDRESS));
    const canaries = sent.filter((e) =>
      isCanarySend(Object.fromEntries(e.tags.map((t) => [t.name, t.value]))),
    );
    expect(canaries).toHaveLength(1);
    expect(
      sent.filter((e) => !canaries.includes(e)).map((e) => e.html?.includes(facts.delivered.code)),
    ).toEqual([true]);
    expect(facts.bounced.publicMetadata).toMatchObject({ email_status: "undeliverable" });
    expect(facts.blocked.bridgeRecord.status).toBe("suppressed");
    expect(sandbox.resend.emails().filter((e) => e.to.includes(BOUNCED_ADDRESS))).toHaveLength(1);
    // Every AWS and DNS resource in the state was created by the local providers the engine attached to.
    const state = await stack.deployment.pulumi.exportStack();
    const cloudResources = (state.deployment.resources ?? []).filter((r) =>
      /^(aws|cloudflare):[a-z]/.test(r.type),
    );
    expect(cloudResources.length).toBeGreaterThan(20);
    expect(
      events
        .filter((e) => e.op === "create")
        .map((e) => `${e.type} ${e.id}`)
        .sort(),
    ).toEqual(cloudResources.map((r) => `${r.type} ${r.id}`).sort());
    // The queue policy and the ingest function's reserved concurrency are in the state as the program set them.
    const queue = cloudResources.find((r) => r.urn.endsWith("::bounce-bridge-queue"));
    const queuePolicy = cloudResources.find((r) => r.type === "aws:sqs/queuePolicy:QueuePolicy");
    expect(queuePolicy?.id).toBe(queue?.id);
    expect(JSON.parse(String(queuePolicy?.outputs?.policy)).Statement).not.toEqual([]);
    const ingest = cloudResources.find((r) => r.urn.endsWith("::bounce-bridge-ingest"));
    expect(ingest?.outputs?.reservedConcurrentExecutions).toBe(10);
  }, 120_000);

  it("plans nothing right after the deployment (no perpetual diff), and the policy pack passes it", async () => {
    await stack.deployment.run(["preview", "--expect-no-changes", "--diff"]);
    // Every provider reads its resources back as they are in the state.
    await stack.deployment.run(["refresh", "--yes", "--expect-no-changes"]);
    // The CLI runs the policy pack through the language host's RunPlugin.
    const checked = await stack.deployment.run([
      "preview",
      "--expect-no-changes",
      "--policy-pack",
      POLICY_PACK,
    ]);
    expect(checked.stdout).toMatch(/Policies:\n\s+✅ auth-email-pipeline-policies@v0\.1\.0 \(local: /);
  }, 180_000);

  it("keeps every secret encrypted in the state", async () => {
    const state = await stack.deployment.pulumi.exportStack();
    expect(state.deployment.secrets_providers?.type).toBe("passphrase");
    const text = JSON.stringify(state);
    const secrets = {
      resendApiKey: sandbox.resend.apiKey,
      // The bridge's own sending key, created by the ResendApiKey dynamic provider: its token lives only in state.
      bridgeSendingKey: await readParameter("/auth-email-pipeline/sandbox/resend-api-key"),
      clerkSecretKey: sandbox.clerk.secretKey,
      resendWebhookSecret: await readParameter("/auth-email-pipeline/sandbox/resend-webhook-secret"),
      clerkWebhookSecret: await readParameter("/auth-email-pipeline/sandbox/clerk-webhook-secret"),
    };
    for (const [name, value] of Object.entries(secrets)) {
      expect(value, name).toMatch(/^(re_|sk_|whsec_)/);
      expect(text.includes(value!), `${name} in plain text in the state`).toBe(false);
    }
    const parameter = state.deployment.resources?.find((r) =>
      r.urn.endsWith("::bounce-bridge-resend-api-key"),
    );
    const encrypted = {
      "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
      ciphertext: expect.any(String),
    };
    expect(parameter?.outputs?.value).toMatchObject(encrypted);
    const sendingKey = state.deployment.resources?.find((r) => r.urn.endsWith("::bounce-bridge-sending-key"));
    expect(sendingKey?.outputs?.token).toMatchObject(encrypted);
    expect(secrets.bridgeSendingKey).not.toBe(secrets.resendApiKey);
  }, 60_000);

  it("destroys everything: Clerk delivers again and the stand-ins hold nothing of the stack", async () => {
    await stack.deployment.run(["destroy", "--yes"]);
    for (const slug of TEMPLATES) {
      expect(sandbox.clerk.instance.templates.email(slug).deliveredByClerk, slug).toBe(true);
    }
    expect((await stack.deployment.pulumi.exportStack()).deployment.resources ?? []).toEqual([]);
    expect(sandbox.dns.records()).toEqual([]);
    expect(sandbox.aws.ssm.parameters()).toEqual([]);
    const sqs = new SQSClient(sandboxClientConfig(sandbox.aws.sqs.endpoint));
    const dynamo = new DynamoDBClient(sandboxClientConfig(sandbox.aws.dynamodb.endpoint));
    try {
      expect((await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? []).toEqual([]);
      expect((await dynamo.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    } finally {
      sqs.destroy();
      dynamo.destroy();
    }
    const { aws } = stack.deployment.cloud.control;
    expect([aws.lambdas.size, aws.functionUrls.size, aws.eventSources.size]).toEqual([0, 0, 0]);
    await expect(fetch(String(stack.outputs.bridgeUrl))).rejects.toThrow();
    // Resend's stand-in keeps the real 2 requests/s team limit, which the destroy has just used: wait out a 429.
    const resend = (path: string) =>
      eventually(async () => {
        const res = await fetch(`${sandbox.resend.url}${path}`, {
          headers: { authorization: `Bearer ${sandbox.resend.apiKey}` },
        });
        if (res.status === 429) return undefined;
        expect(res.status).toBe(200);
        return (await res.json()) as { data: unknown[] };
      }, 10_000);
    expect((await resend("/domains")).data).toEqual([]);
    expect((await resend("/webhooks")).data).toEqual([]);
    expect(sandbox.clerk.svix.endpoints(sandbox.clerk.instance.svixAppId!)).toEqual([]);
    // The bridge's sending key is deleted (after its retirement wait); only the keys the team started with remain.
    expect(sandbox.resend.apiKeys().filter((k) => !k.name.startsWith("Sandbox key "))).toEqual([]);
  }, 180_000);
});
