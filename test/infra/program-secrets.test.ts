import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { StackConfigError } from "../../infra/config";
import {
  ACCOUNT,
  classicResendRecords,
  DEV_CLOUDFLARE_CONFIG,
  DEV_CLOUDFLARE_SECRETS,
  isSecretEnvelope,
  type ProgramRun,
  type RunOptions,
  runProgram,
} from "../support/pulumi-program";

/** The secrets side of the program: what reaches each function, the bridge's own key, IAM and the queue. */

const DEV = { ...DEV_CLOUDFLARE_CONFIG, resendApiKey: "re_full_access" };
const SECRETS = [...DEV_CLOUDFLARE_SECRETS, "clerkWebhookSigningSecret"];
const CLERK_SECRET_A = `whsec_${Buffer.alloc(24, 1).toString("base64")}`;
const CLERK_SECRET_B = `whsec_${Buffer.alloc(24, 2).toString("base64")}`;
const PARAM = (name: string) => `/auth-email-pipeline/dev/${name}`;
const arn = (service: string, resource: string) => `arn:aws:${service}:us-east-1:${ACCOUNT}:${resource}`;

const run = (config: Record<string, string> = {}, options: Partial<RunOptions> = {}) =>
  runProgram({
    stack: "dev",
    config: { ...DEV, ...config },
    secretKeys: SECRETS,
    domainRecords: classicResendRecords(),
    ...options,
  });

const variables = (r: ProgramRun, role: "ingest" | "worker") =>
  (r.named(`bounce-bridge-${role}`).inputs.environment as { variables: Record<string, string> }).variables;

const withoutEnvironment = (inputs: Record<string, unknown>) => {
  const { environment: _environment, ...rest } = inputs;
  return rest;
};

describe("a changed secret changes the configuration of the functions that read it", () => {
  let before: ProgramRun;
  let after: ProgramRun;
  beforeAll(async () => {
    before = await run(
      {},
      { parameterVersions: { [PARAM("resend-api-key")]: 4, [PARAM("clerk-secret-key")]: 7 } },
    );
    after = await run(
      {},
      { parameterVersions: { [PARAM("resend-api-key")]: 5, [PARAM("clerk-secret-key")]: 7 } },
    );
  });

  it("puts the worker's parameter versions in its environment, and only a new version changes it", () => {
    expect(variables(before, "worker").BRIDGE_SECRETS_VERSION).toBe("resend-api-key@4,clerk-secret-key@7");
    expect(variables(after, "worker").BRIDGE_SECRETS_VERSION).toBe("resend-api-key@5,clerk-secret-key@7");
    const { BRIDGE_SECRETS_VERSION: _b, ...restBefore } = variables(before, "worker");
    const { BRIDGE_SECRETS_VERSION: _a, ...restAfter } = variables(after, "worker");
    expect(restAfter).toEqual(restBefore);
    expect(withoutEnvironment(after.named("bounce-bridge-worker").inputs)).toEqual(
      withoutEnvironment(before.named("bounce-bridge-worker").inputs),
    );
    // Ingest reads neither parameter, so their versions do not recycle it.
    expect(after.named("bounce-bridge-ingest").inputs).toEqual(before.named("bounce-bridge-ingest").inputs);
  });

  it("configures the worker only once both parameters it reads hold their values", () => {
    const worker = before.named("bounce-bridge-worker");
    for (const param of ["bounce-bridge-resend-api-key", "bounce-bridge-clerk-secret-key"]) {
      expect(worker.started).toBeGreaterThan(before.named(param).finished);
    }
  });
});

describe("manual Clerk mode: ingest follows the signing secret from stack config", () => {
  const fingerprint = (secret: string) =>
    `clerk-webhook-secret@sha256:${createHash("sha256").update(secret).digest("hex").slice(0, 16)}`;

  it("changes ingest's configuration when the secret is registered or rotated, without revealing it", async () => {
    const unset = await run();
    const first = await run({ clerkWebhookSigningSecret: CLERK_SECRET_A });
    const rotating = await run({ clerkWebhookSigningSecret: `${CLERK_SECRET_B} ${CLERK_SECRET_A}` });
    expect(variables(unset, "ingest").BRIDGE_SECRETS_VERSION).toBe("clerk-webhook-secret@unset");
    expect(variables(first, "ingest").BRIDGE_SECRETS_VERSION).toBe(fingerprint(CLERK_SECRET_A));
    expect(variables(rotating, "ingest").BRIDGE_SECRETS_VERSION).toBe(
      fingerprint(`${CLERK_SECRET_B} ${CLERK_SECRET_A}`),
    );
    for (const r of [first, rotating]) {
      const ingest = r.named("bounce-bridge-ingest");
      // A fingerprint is not a secret: the environment stays readable in a preview diff.
      const version = (ingest.raw.environment as { variables: Record<string, unknown> }).variables
        .BRIDGE_SECRETS_VERSION;
      expect(isSecretEnvelope(version)).toBe(false);
      expect(JSON.stringify(ingest.raw)).not.toMatch(/whsec_/);
      expect(r.named("webhooks-clerk-secret").inputs.value).toMatch(/^whsec_/);
    }
    // The worker does not verify webhooks, so the Clerk signing secret does not recycle it.
    expect(first.named("bounce-bridge-worker").inputs).toEqual(unset.named("bounce-bridge-worker").inputs);
  });

  it("in portal mode leaves ingest's configuration alone: that secret comes from the endpoint", async () => {
    const portal = await run({ clerkWebhookMode: "portal" });
    expect(variables(portal, "ingest")).not.toHaveProperty("BRIDGE_SECRETS_VERSION");
  });
});

describe("the bridge's own Resend key", () => {
  let r: ProgramRun;
  beforeAll(async () => {
    r = await run();
  });

  it("is a sending-only key restricted to the sending domain, its token stored in the parameter the worker reads", () => {
    const key = r.named("bounce-bridge-sending-key");
    expect(key.type).toBe("pulumi-nodejs:dynamic/resend:ApiKey");
    expect(key.inputs).toEqual({
      name: "auth-email-pipeline dev bridge",
      permission: "sending_access",
      domainId: "dom_123",
      // The worker timeout plus a margin: a send that started with a replaced key finishes with it.
      retireAfterSeconds: 90,
    });
    const param = r.named("bounce-bridge-resend-api-key");
    expect(param.inputs).toMatchObject({ name: PARAM("resend-api-key"), value: "re_bridge_sending" });
    expect(isSecretEnvelope(param.raw.value)).toBe(true);
    expect(param.started).toBeGreaterThan(key.finished);
    expect(key.started).toBeGreaterThan(r.named("sending-domain-resend").finished);
  });

  it("keeps its name within Resend's 50 characters for a long stack name", async () => {
    const long = await runProgram({
      stack: "feature-very-long-branch-name-for-testing",
      config: DEV,
      secretKeys: SECRETS,
      domainRecords: classicResendRecords(),
    });
    expect(long.named("bounce-bridge-sending-key").inputs.name).toBe(
      "auth-email-pipeline feature-very-long-branc bridge",
    );
  });
});

describe("ingest's reach", () => {
  it("reserves (and caps) ingest's concurrency from the stack setting, default 10", async () => {
    const defaults = await run();
    expect(defaults.named("bounce-bridge-ingest").inputs.reservedConcurrentExecutions).toBe(10);
    expect(defaults.named("bounce-bridge-worker").inputs).not.toHaveProperty("reservedConcurrentExecutions");
    const raised = await run({ ingestReservedConcurrency: "25" });
    expect(raised.named("bounce-bridge-ingest").inputs.reservedConcurrentExecutions).toBe(25);
  });

  it("refuses a reserved concurrency that would stop ingest, naming the fix", async () => {
    const error = (await run({ ingestReservedConcurrency: "0" }).catch(
      (e: unknown) => e,
    )) as StackConfigError;
    expect(error.name).toBe("StackConfigError");
    expect(error.problems).toEqual([
      {
        key: "ingestReservedConcurrency",
        message: "must be at least 1",
        fix: "pulumi config set ingestReservedConcurrency 10",
      },
    ]);
  });

  it("lets only the ingest role (or a tagged redrive) send to the queue, and only the worker take from it", async () => {
    const r = await run();
    const queuePolicy = r.named("bounce-bridge-queue-policy");
    expect(queuePolicy.type).toBe("aws:sqs/queuePolicy:QueuePolicy");
    expect(queuePolicy.inputs.queueUrl).toBe(
      `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/bounce-bridge-queue-1a2b3c`,
    );
    const queue = arn("sqs", "bounce-bridge-queue-1a2b3c");
    const ingestRole = `arn:aws:iam::${ACCOUNT}:role/bounce-bridge-ingest-role-1a2b3c`;
    const workerRole = `arn:aws:iam::${ACCOUNT}:role/bounce-bridge-worker-role-1a2b3c`;
    expect(JSON.parse(queuePolicy.inputs.policy as string)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "OnlyIngestOrRedriveSends",
          Effect: "Deny",
          Principal: "*",
          Action: ["sqs:SendMessage"],
          Resource: queue,
          Condition: {
            ArnNotEquals: { "aws:PrincipalArn": ingestRole },
            StringNotEquals: { "aws:PrincipalTag/auth-email-pipeline-redrive": "dev" },
          },
        },
        {
          Sid: "OnlyWorkerTakes",
          Effect: "Deny",
          Principal: "*",
          Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"],
          Resource: queue,
          Condition: { ArnNotEquals: { "aws:PrincipalArn": workerRole } },
        },
      ],
    });
  });
});
