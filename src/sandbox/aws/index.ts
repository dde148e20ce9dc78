import { type DynamoStandIn, startDynamoStandIn } from "./dynamodb";
import { awsSandboxEnvironment } from "./env";
import { type SqsStandIn, startSqsStandIn } from "./sqs";
import { type SsmStandIn, startSsmStandIn } from "./ssm";

export { type DynamoStandIn, startDynamoStandIn } from "./dynamodb";
export { awsSandboxEnvironment, SANDBOX_ACCOUNT_ID, SANDBOX_REGION, sandboxClientConfig } from "./env";
export {
  type FunctionUrl,
  LambdaInvocationError,
  type LocalLambda,
  type LocalLambdaOptions,
  type SqsEventSource,
  type SqsEventSourceOptions,
  startFunctionUrl,
  startLocalLambda,
  startSqsEventSource,
} from "./lambda";
export { type SqsStandIn, startSqsStandIn } from "./sqs";
export { type SsmStandIn, startSsmStandIn } from "./ssm";

export interface LocalAws {
  sqs: SqsStandIn;
  ssm: SsmStandIn;
  dynamodb: DynamoStandIn;
  /** Region, dummy credentials and AWS_ENDPOINT_URL_{SQS,SSM,DYNAMODB} for functions and clients. */
  environment: Record<string, string>;
  /** The SQS stand-in's timeScale, which event source mappings share. */
  timeScale: number;
  close(): Promise<void>;
}

/** Starts the three AWS stand-ins the bridge talks to, each on its own ephemeral loopback port. */
export async function startLocalAws(options: { timeScale?: number } = {}): Promise<LocalAws> {
  const started = await Promise.allSettled([
    startSqsStandIn({ timeScale: options.timeScale }),
    startSsmStandIn(),
    startDynamoStandIn(),
  ] as const);
  const [sqsResult, ssmResult, dynamoResult] = started;
  if (
    sqsResult.status === "rejected" ||
    ssmResult.status === "rejected" ||
    dynamoResult.status === "rejected"
  ) {
    // One failed: close the others rather than leave them listening with no handle to close them by.
    await Promise.all(started.map((r) => (r.status === "fulfilled" ? r.value.close() : undefined)));
    throw started.find((r) => r.status === "rejected")!.reason;
  }
  const [sqs, ssm, dynamodb] = [sqsResult.value, ssmResult.value, dynamoResult.value];
  return {
    sqs,
    ssm,
    dynamodb,
    environment: awsSandboxEnvironment({ sqs: sqs.endpoint, ssm: ssm.endpoint, dynamodb: dynamodb.endpoint }),
    timeScale: options.timeScale ?? 1,
    async close() {
      await Promise.all([sqs.close(), ssm.close(), dynamodb.close()]);
    },
  };
}
