// Lambda entry point `worker.handler` (SQS event source with ReportBatchItemFailures).
import { Resend } from "resend";
import type { BackoffPolicy } from "../lib/backoff";
import { AwsJsonClient } from "./aws/client";
import { DynamoDb } from "./aws/dynamodb";
import { clerkUsersClient } from "./clerk-users";
import { type BridgeConfig, readBridgeConfig } from "./config";
import { resendEmailSender } from "./email-sender";
import { type BridgeSecrets, ssmSecretSource } from "./secrets";
import { BridgeStore } from "./store";
import { createTelemetry } from "./telemetry";
import { clerkUserDirectory } from "./users";
import { createWorkerHandler, type WorkerHandler } from "./worker";

/**
 * Backoff inside one invocation. The function timeout must exceed the worst case (about 10 s per Resend
 * send and per Clerk call), and the queue's visibility timeout should be six times the function timeout.
 */
export const LAMBDA_BACKOFF: BackoffPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 5_000 };
export const RESEND_TIMEOUT_MS = 8_000;

/** The worker with its clients, once the secrets are known; exported so cold init can be measured. */
export function createWorkerFromSecrets(
  config: BridgeConfig,
  secrets: Pick<BridgeSecrets, "resendApiKey" | "clerkSecretKey">,
): WorkerHandler {
  const resend = new Resend(
    secrets.resendApiKey,
    config.resendBaseUrl ? { baseUrl: config.resendBaseUrl } : {},
  );
  const clerk = clerkUsersClient({
    secretKey: secrets.clerkSecretKey,
    ...(config.clerkApiUrl ? { apiUrl: config.clerkApiUrl } : {}),
  });
  return createWorkerHandler({
    store: new BridgeStore(new DynamoDb(), config.tableName),
    email: resendEmailSender(resend, RESEND_TIMEOUT_MS),
    users: clerkUserDirectory(clerk, { backoff: LAMBDA_BACKOFF }),
    telemetry: createTelemetry(),
    settings: config,
    backoff: LAMBDA_BACKOFF,
  });
}

/** Cold start: the Resend and Clerk clients need the secrets, so they are built at the first batch and cached. */
export function lambdaWorkerHandler(env: Record<string, string | undefined> = process.env): WorkerHandler {
  let ready: Promise<WorkerHandler> | undefined;
  const build = async (): Promise<WorkerHandler> => {
    const config = readBridgeConfig("worker", env);
    const secrets = await ssmSecretSource(new AwsJsonClient("ssm", { env }), config.secretParameters)();
    return createWorkerFromSecrets(config, secrets);
  };
  return async (event) => {
    ready ??= build().catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
    return (await ready)(event);
  };
}

export const handler = lambdaWorkerHandler();
