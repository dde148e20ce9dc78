// Lambda entry point `worker.handler` (SQS event source with ReportBatchItemFailures).
import { Resend } from "resend";
import type { BackoffPolicy } from "../lib/backoff";
import { AwsJsonClient } from "./aws/client";
import { DynamoDb } from "./aws/dynamodb";
import { type ClerkUsersApi, clerkUsersClient } from "./clerk-users";
import { type BridgeConfig, readBridgeConfig } from "./config";
import { type EmailSender, resendEmailSender } from "./email-sender";
import {
  type LambdaHandlerOptions,
  readSecretCachePolicy,
  type SecretSource,
  type SecretValues,
  ssmSecretSource,
  staleSecretsLogger,
  staticSecretSource,
  withCurrentKey,
} from "./secrets";
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

/** Resend's and Clerk's answers to a key that is not (or no longer) valid. */
const KEY_REFUSED = new Set([401, 403]);

/** The newest client for the newest key: a rotated key gets a new client, the old one is dropped. */
function perKey<T>(build: (key: string) => T): (key: string) => T {
  let last: { key: string; client: T } | undefined;
  return (key) => {
    if (last?.key !== key) last = { key, client: build(key) };
    return last.client;
  };
}

/**
 * The worker with its clients; exported so cold init can be measured. `secrets` is a source (the Lambda
 * reads SSM) or fixed values. Every Resend and Clerk call uses the source's current key, and a 401/403
 * re-reads the secrets once and repeats the call when the key changed (see `withCurrentKey`). `env` is
 * where the DynamoDB client reads its region, credentials and endpoint, like the SSM client's.
 */
export function createWorkerFromSecrets(
  config: BridgeConfig,
  secrets: SecretSource | SecretValues,
  telemetry: Telemetry = createTelemetry(),
  env: Record<string, string | undefined> = process.env,
): WorkerHandler {
  const source = isSecretSource(secrets) ? secrets : staticSecretSource(secrets);
  // Built at the first send (see resendEmailSender): its constructor loads Node's fetch.
  const senderFor = perKey((apiKey) =>
    resendEmailSender(
      () => new Resend(apiKey, config.resendBaseUrl ? { baseUrl: config.resendBaseUrl } : {}),
      RESEND_TIMEOUT_MS,
    ),
  );
  const email: EmailSender = {
    send: (message, idempotencyKey) =>
      withCurrentKey(
        source,
        (s) => s.resendApiKey,
        (apiKey) => senderFor(apiKey).send(message, idempotencyKey),
        (outcome) =>
          outcome.status === "fulfilled" && !outcome.value.ok && KEY_REFUSED.has(outcome.value.status ?? 0),
      ),
  };
  const clerkFor = perKey(
    (secretKey) =>
      clerkUsersClient({ secretKey, ...(config.clerkApiUrl ? { apiUrl: config.clerkApiUrl } : {}) }).users,
  );
  const withClerk = <T>(call: (users: ClerkUsersApi) => Promise<T>) =>
    withCurrentKey(
      source,
      (s) => s.clerkSecretKey,
      (secretKey) => call(clerkFor(secretKey)),
      (outcome) =>
        outcome.status === "rejected" && KEY_REFUSED.has((outcome.reason as { status?: number }).status ?? 0),
    );
  const users: ClerkUsersApi = {
    getUser: (userId) => withClerk((u) => u.getUser(userId)),
    getUserList: (params) => withClerk((u) => u.getUserList(params)),
    updateUserMetadata: (userId, params) => withClerk((u) => u.updateUserMetadata(userId, params)),
  };
  return createWorkerHandler({
    store: new BridgeStore(new DynamoDb({ env }), config.tableName),
    email,
    users: clerkUserDirectory({ users }, { backoff: LAMBDA_BACKOFF }),
    telemetry,
    settings: config,
    backoff: LAMBDA_BACKOFF,
  });
}

function isSecretSource(secrets: SecretSource | SecretValues): secrets is SecretSource {
  return typeof (secrets as SecretSource).current === "function";
}

/**
 * Cold start: the configuration, the SSM-backed secrets and the clients are built at the first batch.
 * Telemetry is built then too, so a bad namespace fails the invocation with its message instead of the init.
 * Each batch first makes sure the secrets are readable (cached for BRIDGE_SECRETS_MAX_AGE_SECONDS), so an
 * SSM problem fails the batch with its message, as a configuration error does.
 */
export function lambdaWorkerHandler(
  env: Record<string, string | undefined> = process.env,
  options: LambdaHandlerOptions = {},
): LambdaWorkerHandler {
  let telemetry: Telemetry | undefined;
  let ready: { secrets: SecretSource; worker: WorkerHandler } | undefined;
  return async (event, context) => {
    telemetry ??= createTelemetry({ env });
    telemetry.beginInvocation(context);
    if (!ready) {
      const config = readBridgeConfig("worker", env);
      const secrets = ssmSecretSource(new AwsJsonClient("ssm", { env }), config.secretParameters, {
        policy: readSecretCachePolicy(env),
        onStaleReadError: staleSecretsLogger(telemetry),
        ...(options.now ? { now: options.now } : {}),
      });
      ready = { secrets, worker: createWorkerFromSecrets(config, secrets, telemetry, env) };
    }
    await ready.secrets.current();
    return ready.worker(event);
  };
}

export const handler = lambdaWorkerHandler();
