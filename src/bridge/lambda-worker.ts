// Lambda entry point `worker.handler` (SQS event source with ReportBatchItemFailures).
import { Resend } from "resend";
import type { BackoffPolicy } from "../lib/backoff";
import { AwsJsonClient } from "./aws/client";
import { DynamoDb } from "./aws/dynamodb";
import { CanaryRecords, recordCanaryStartFailure } from "./canary";
import { clerkUsersClient } from "./clerk-users";
import { type BridgeConfig, readBridgeConfig } from "./config";
import { resendEmailSender } from "./email-sender";
import { type BridgeSecrets, ssmSecretSource } from "./secrets";
import { BridgeStore } from "./store";
import { createTelemetry, type InvocationContext, type Telemetry } from "./telemetry";
import { clerkUserDirectory } from "./users";
import { createWorkerHandler, type WorkerHandler } from "./worker";

/**
 * Backoff inside one invocation: 3 attempts, waits of at most 5 s, each attempt bounded (Resend by
 * RESEND_TIMEOUT_MS, Clerk by CLERK_TIMEOUT_MS), so one call gives up within about 35 s. A batch that still
 * outlasts the function timeout is redelivered whole after the visibility timeout (six times the function
 * timeout), which is safe: sends carry idempotency keys and a recorded send is skipped.
 */
const LAMBDA_BACKOFF: BackoffPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 5_000 };
const RESEND_TIMEOUT_MS = 8_000;

/** What Lambda calls: the SQS batch and its context (request id for the logs). */
export type LambdaWorkerHandler = (
  event: Parameters<WorkerHandler>[0],
  context?: InvocationContext,
) => ReturnType<WorkerHandler>;

/**
 * The worker with its clients, once the secrets are known; exported so cold init can be measured. `env` is
 * where the DynamoDB client reads its region, credentials and endpoint, like the SSM client's.
 */
export function createWorkerFromSecrets(
  config: BridgeConfig,
  secrets: Pick<BridgeSecrets, "resendApiKey" | "clerkSecretKey">,
  telemetry: Telemetry = createTelemetry(),
  env: Record<string, string | undefined> = process.env,
): WorkerHandler {
  // Built at the first send (see resendEmailSender): its constructor loads Node's fetch.
  const resend = () =>
    new Resend(secrets.resendApiKey, config.resendBaseUrl ? { baseUrl: config.resendBaseUrl } : {});
  const clerk = clerkUsersClient({
    secretKey: secrets.clerkSecretKey,
    ...(config.clerkApiUrl ? { apiUrl: config.clerkApiUrl } : {}),
  });
  const dynamo = new DynamoDb({ env });
  return createWorkerHandler({
    store: new BridgeStore(dynamo, config.tableName),
    email: resendEmailSender(resend, RESEND_TIMEOUT_MS),
    users: clerkUserDirectory(clerk, { backoff: LAMBDA_BACKOFF }),
    telemetry,
    settings: config,
    backoff: LAMBDA_BACKOFF,
    canary: new CanaryRecords(dynamo, config.tableName),
  });
}

/**
 * Cold start: the Resend and Clerk clients need the secrets, so they are built at the first batch and cached.
 * Telemetry is built then too, so a bad namespace fails the invocation with its message instead of the init.
 */
export function lambdaWorkerHandler(
  env: Record<string, string | undefined> = process.env,
): LambdaWorkerHandler {
  let telemetry: Telemetry | undefined;
  let ready: Promise<WorkerHandler> | undefined;
  const build = async (own: Telemetry): Promise<WorkerHandler> => {
    const config = readBridgeConfig("worker", env);
    const secrets = await ssmSecretSource(new AwsJsonClient("ssm", { env }), config.secretParameters)();
    return createWorkerFromSecrets(config, secrets, own, env);
  };
  return async (event, context) => {
    telemetry ??= createTelemetry({ env });
    telemetry.beginInvocation(context);
    ready ??= build(telemetry).catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
    let worker: WorkerHandler;
    try {
      worker = await ready;
    } catch (err) {
      // A deployment canary in this batch names the cause instead of waiting for an outcome that never comes.
      await recordCanaryStartFailure(event, err, env);
      throw err;
    }
    return worker(event);
  };
}

export const handler = lambdaWorkerHandler();
