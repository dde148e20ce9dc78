// Lambda entry point `ingest.handler` (Function URL, payload format 2.0).
import { AwsJsonClient } from "./aws/client";
import { DynamoDb } from "./aws/dynamodb";
import { readBridgeConfig } from "./config";
import { createIngestHandler, type IngestHandler, type IngestInvocation } from "./ingest";
import { SqsJobQueue } from "./queue";
import {
  type LambdaHandlerOptions,
  readSecretCachePolicy,
  ssmSecretSource,
  staleSecretsLogger,
} from "./secrets";
import { webhookAuthFrom } from "./signature";
import { BridgeStore } from "./store";
import { createTelemetry, type InvocationContext } from "./telemetry";

/** What Lambda calls: the event and its context (request id for the logs, remaining time for deadlines). */
export type LambdaIngestHandler = (
  event: Parameters<IngestHandler>[0],
  context?: InvocationContext & IngestInvocation,
) => ReturnType<IngestHandler>;

/**
 * Cold start: configuration and the signed-fetch AWS clients (no AWS SDK) are built when the module loads;
 * the webhook secrets are read from SSM at the first request, then cached for BRIDGE_SECRETS_MAX_AGE_SECONDS
 * and re-read early when a signature fails under them. A configuration error is rethrown on every
 * invocation, so the logs name the variable to fix instead of the runtime reporting an opaque init failure.
 */
export function lambdaIngestHandler(
  env: Record<string, string | undefined> = process.env,
  options: LambdaHandlerOptions = {},
): LambdaIngestHandler {
  try {
    const config = readBridgeConfig("ingest", env);
    const telemetry = createTelemetry({ env });
    const secrets = ssmSecretSource(new AwsJsonClient("ssm", { env }), config.secretParameters, {
      policy: readSecretCachePolicy(env),
      onStaleReadError: staleSecretsLogger(telemetry),
      ...(options.now ? { now: options.now } : {}),
    });
    const inner = createIngestHandler({
      store: new BridgeStore(new DynamoDb({ env }), config.tableName),
      queue: new SqsJobQueue(new AwsJsonClient("sqs", { env }), config.queueUrl),
      auth: webhookAuthFrom(secrets),
      telemetry,
      maxBodyBytes: config.maxBodyBytes,
    });
    return async (event, context) => {
      telemetry.beginInvocation(context);
      try {
        return await inner(event, context);
      } finally {
        telemetry.flush();
      }
    };
  } catch (err) {
    return () => Promise.reject(err);
  }
}

export const handler = lambdaIngestHandler();
