import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, expect, vi } from "vitest";
import { type Sandbox, startSandbox } from "../../src/sandbox";
import { sandboxClientConfig } from "../../src/sandbox/aws/env";
import type { LocalCloud, LocalCloudOptions } from "../../src/sandbox/local-cloud";
import {
  BOUNCED_ADDRESS,
  DELIVERED_ADDRESS,
  runScenario,
  type ScenarioFacts,
} from "../../src/sandbox/local-cloud/scenario";
import {
  LOCAL_CLOUD_SANDBOX,
  PROJECT,
  readStackFile,
  SANDBOX_STACK_FILE,
  type UpResult,
  upIntoLocalCloud,
} from "../../src/sandbox/local-cloud/up";
import type { RecordShape } from "../../src/sandbox/resend";
import { eventually } from "../support/eventually";
import { bundleDir } from "../support/pulumi-program";

export type DnsChoice = "cloudflare" | "route53";

export const TYPES = {
  domain: "pulumi-nodejs:dynamic/resend:Domain",
  gate: "pulumi-nodejs:dynamic/resend:DomainVerification",
  resendWebhook: "pulumi-nodejs:dynamic/resend:Webhook",
  clerkWebhook: "pulumi-nodejs:dynamic/clerk:WebhookEndpoint",
  delivery: "pulumi-nodejs:dynamic/clerk:EmailDelivery",
  function: "aws:lambda/function:Function",
  functionUrl: "aws:lambda/functionUrl:FunctionUrl",
  eventSource: "aws:lambda/eventSourceMapping:EventSourceMapping",
  parameter: "aws:ssm/parameter:Parameter",
  cloudflareRecord: "cloudflare:index/dnsRecord:DnsRecord",
  route53Record: "aws:route53/record:Record",
} as const;

export interface Deployment {
  sandbox: Sandbox;
  cloud: LocalCloud;
  outputs: Record<string, unknown>;
  config: Record<string, string>;
  close(): Promise<void>;
}

/** Which record shape Resend issues and which profile the stack declares; both `classic` by default. */
export interface RecordShapes {
  issued?: RecordShape;
  declared?: RecordShape;
}

/** The sandbox stack config with the chosen DNS adapter and record profile. */
export function sandboxConfig(dns: DnsChoice, shapes: RecordShapes = {}): Record<string, string> {
  return {
    ...readStackFile(SANDBOX_STACK_FILE),
    [`${PROJECT}:dnsProvider`]: dns,
    ...(shapes.declared ? { [`${PROJECT}:resendRecordProfile`]: shapes.declared } : {}),
  };
}

/** A sandbox whose Resend issues `shapes.issued` records (default: the profile the stack declares). */
async function sandboxFor(shapes: RecordShapes): Promise<Sandbox> {
  const sandbox = await startSandbox(LOCAL_CLOUD_SANDBOX);
  sandbox.resend.recordShape = shapes.issued ?? shapes.declared ?? "classic";
  return sandbox;
}

/**
 * `pulumi up` of the real program into a fresh sandbox. The program module is re-imported on every call
 * (its resources register at import time), so several deployments can run in one test file.
 */
export async function deploy(
  dns: DnsChoice,
  rewriteInputs?: LocalCloudOptions["rewriteInputs"],
  shapes: RecordShapes = {},
): Promise<Deployment> {
  bundleDir();
  vi.resetModules();
  const sandbox = await sandboxFor(shapes);
  const config = sandboxConfig(dns, shapes);
  let up: UpResult;
  try {
    up = await upIntoLocalCloud({ sandbox, config, rewriteInputs, timeoutMs: 60_000 });
  } catch (err) {
    await sandbox.close();
    throw err;
  }
  return {
    sandbox,
    cloud: up.cloud,
    outputs: up.outputs,
    config,
    async close() {
      await up.cloud.close();
      await sandbox.close();
    },
  };
}

/** A deployment that fails: the error, and what the sandbox looked like when it stopped. */
export async function failedDeployment(
  dns: DnsChoice,
  rewriteInputs: NonNullable<LocalCloudOptions["rewriteInputs"]>,
  shapes: RecordShapes = {},
): Promise<{ error: Error; sandbox: Sandbox; realizedTypes: string[] }> {
  bundleDir();
  vi.resetModules();
  const sandbox = await sandboxFor(shapes);
  const realizedTypes: string[] = [];
  try {
    await upIntoLocalCloud({
      sandbox,
      config: sandboxConfig(dns, shapes),
      rewriteInputs,
      timeoutMs: 60_000,
      onRealized: (r) => realizedTypes.push(r.type),
    });
  } catch (err) {
    return { error: err as Error, sandbox, realizedTypes };
  }
  await sandbox.close();
  throw new Error("the deployment was expected to fail");
}

/**
 * Deploys with `dns` and plays the scenario once for the enclosing `describe`; the returned function gives
 * the deployment and the scenario's facts inside its tests.
 */
export function deployedAndPlayed(
  dns: DnsChoice,
  shapes: RecordShapes = {},
): () => { deployment: Deployment; facts: ScenarioFacts } {
  let deployment: Deployment | undefined;
  let facts: ScenarioFacts | undefined;
  beforeAll(async () => {
    deployment = await deploy(dns, undefined, shapes);
    facts = await playScenario(deployment);
  }, 90_000);
  afterAll(() => deployment?.close());
  return () => {
    if (!deployment || !facts) throw new Error("the deployment or its scenario failed in beforeAll");
    return { deployment, facts };
  };
}

export async function playScenario(deployment: Deployment): Promise<ScenarioFacts> {
  const templates = JSON.parse(deployment.config[`${PROJECT}:templates`] ?? "[]") as string[];
  const { facts } = await runScenario({
    sandbox: deployment.sandbox,
    outputs: deployment.outputs,
    templates,
  });
  return facts;
}

async function readParameter(sandbox: Sandbox, name: string): Promise<string | undefined> {
  const ssm = new SSMClient(sandboxClientConfig(sandbox.aws.ssm.endpoint));
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    return out.Parameter?.Value;
  } finally {
    ssm.destroy();
  }
}

/** A read of the Resend stand-in, polled past its team rate limit (2/s), which the bridge shares. */
export async function resendGet(sandbox: Sandbox, path: string): Promise<Record<string, unknown>> {
  const res = await eventually(async () => {
    const answer = await fetch(`${sandbox.resend.url}${path}`, {
      headers: { authorization: `Bearer ${sandbox.resend.apiKey}` },
    });
    if (answer.status !== 429) return answer;
    await answer.body?.cancel();
    return undefined;
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/**
 * What the whole loop must have done, read back from the stand-ins: the bridge URL in both webhooks, each
 * webhook's secret in the SSM parameter the bridge reads, the very bundle the program built running as the
 * functions, the cutover after everything it depends on, and the two sign-ups' outcomes.
 */
export async function expectWholeLoop(deployment: Deployment, facts: ScenarioFacts): Promise<void> {
  const { sandbox, cloud, outputs } = deployment;
  const bridgeUrl = String(outputs.bridgeUrl);

  // The Function URL the program got is the local one in front of the ingest function.
  const [ingestUrl] = [...cloud.aws.functionUrls.values()];
  expect(bridgeUrl).toBe(ingestUrl?.url);
  expect(facts.domain.status).toBe("verified");
  expect(facts.resendWebhook.endpoint).toBe(`${bridgeUrl}webhooks/resend`);
  expect(facts.clerkEndpoint.url).toBe(`${bridgeUrl}webhooks/clerk`);
  expect(facts.clerkEndpoint.eventTypes).toContain("email.created");

  // Secrets flowed from the webhook resources into the parameters the bridge reads.
  const resendWebhook = await resendGet(sandbox, `/webhooks/${outputs.resendWebhookId}`);
  expect(await readParameter(sandbox, "/auth-email-pipeline/sandbox/resend-webhook-secret")).toBe(
    resendWebhook.signing_secret,
  );
  const clerkEndpoint = sandbox.clerk.svix
    .endpoints(sandbox.clerk.instance.svixAppId!)
    .find((e) => e.id === outputs.clerkWebhookId);
  expect(await readParameter(sandbox, "/auth-email-pipeline/sandbox/clerk-webhook-secret")).toBe(
    clerkEndpoint?.secrets[0]?.key,
  );
  // The bridge sends with its own key: sending only, restricted to the sending domain, never the
  // full-access key the providers use.
  const bridgeKey = await readParameter(sandbox, "/auth-email-pipeline/sandbox/resend-api-key");
  expect(bridgeKey).toMatch(/^re_/);
  expect(bridgeKey).not.toBe(sandbox.resend.apiKey);
  expect(sandbox.resend.apiKeys().find((k) => k.name === "auth-email-pipeline sandbox bridge")).toMatchObject(
    { permission: "sending_access", domainId: outputs.domainId },
  );

  // Each function runs the file the program bundled, by its handler name.
  for (const role of ["ingest", "worker"] as const) {
    const fn = cloud.find(TYPES.function, `bounce-bridge-${role}`);
    const code = fn.state.code as { assets: Record<string, { path: string }> };
    const built = join(process.env.BRIDGE_BUNDLE_DIR!, `${role}.mjs`);
    expect(code.assets[`${role}.mjs`]?.path).toBe(built);
    expect(fn.state.handler).toBe(`${role}.handler`);
    const lambda = cloud.aws.lambdas.get(fn.id)!;
    expect(fn.state.invokeArn).toBe(
      `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${lambda.arn}/invocations`,
    );
    expect(lambda.invocations).toBeGreaterThan(0);
    expect(sha256(join(cloud.aws.codeDirectories.get(fn.id)!, `${role}.mjs`))).toBe(sha256(built));
  }

  // The cutover started only after the gate, both webhooks and the whole bridge had been created.
  const cutover = cloud.find(TYPES.delivery);
  const prerequisites = [
    cloud.find(TYPES.gate),
    cloud.find(TYPES.resendWebhook),
    cloud.find(TYPES.clerkWebhook),
    cloud.find(TYPES.functionUrl),
    cloud.find(TYPES.eventSource),
    ...cloud.log.filter((r) => r.type === TYPES.function || r.type === TYPES.parameter),
  ];
  for (const before of prerequisites) expect(cutover.startedMs).toBeGreaterThanOrEqual(before.finishedMs);
  expect(cloud.log.at(-1)?.type).toBe(TYPES.delivery);
  // The gate ran only once every DNS record was published.
  const gate = cloud.find(TYPES.gate);
  const records = cloud.log.filter((r) => r.kind === "dns" && !r.name.endsWith("dmarc"));
  expect(records).toHaveLength((outputs.dnsRecords as unknown[]).length);
  expect(records.length).toBeGreaterThanOrEqual(3);
  for (const record of records) expect(gate.startedMs).toBeGreaterThanOrEqual(record.finishedMs);

  // Clerk stopped delivering the routed templates.
  for (const slug of ["verification_code", "reset_password_code"]) {
    expect(sandbox.clerk.instance.templates.email(slug).deliveredByClerk).toBe(false);
  }

  // delivered@: one email, with the sign-up code, the bridge's headers and tags.
  const delivered = sandbox.resend.emails().filter((e) => e.to.includes(DELIVERED_ADDRESS));
  expect(delivered).toHaveLength(1);
  const clerkEmail = sandbox.clerk.emails().find((e) => e.email.to_email_address === DELIVERED_ADDRESS)!;
  expect(clerkEmail.deliveredByClerk).toBe(false);
  expect(delivered[0]?.html).toContain(facts.delivered.code);
  expect(delivered[0]?.from).toBe(`"Example (sandbox)" <auth@mail.example.com>`);
  expect(delivered[0]?.headers["X-Entity-Ref-ID"]).toBe(clerkEmail.email.id);
  expect(Object.fromEntries((delivered[0]?.tags ?? []).map((t) => [t.name, t.value]))).toMatchObject({
    clerk_email_id: clerkEmail.email.id,
    template: "verification_code",
    stack: "sandbox",
  });
  expect(delivered[0]?.lastEvent).toBe("delivered");

  // bounced@: flagged in Clerk, and the next email to it never reached Resend.
  const bouncedUser = sandbox.clerk
    .users()
    .find((u) =>
      u.email_addresses.some((e: { email_address: string }) => e.email_address === BOUNCED_ADDRESS),
    );
  expect(bouncedUser?.public_metadata).toMatchObject({
    email_status: "undeliverable",
    email_status_reason: "bounce",
  });
  expect(sandbox.resend.emails().filter((e) => e.to.includes(BOUNCED_ADDRESS))).toHaveLength(1);
  expect(facts.blocked.bridgeRecord.status).toBe("suppressed");
  const lastClerkEmail = sandbox.clerk.emails().at(-1)!;
  expect(lastClerkEmail.email.id).toBe(facts.blocked.clerkEmailId);
  expect(lastClerkEmail.email.to_email_address).toBe(BOUNCED_ADDRESS);
}
