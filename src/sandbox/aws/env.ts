/** The account every local AWS resource lives in; AWS documents 000000000000 as never a real account. */
export const SANDBOX_ACCOUNT_ID = "000000000000";
export const SANDBOX_REGION = "us-east-1";

/** Dummy credentials: the stand-ins do not check SigV4, but the SDK refuses to sign without some. */
export const SANDBOX_CREDENTIALS = {
  accessKeyId: "sandbox",
  secretAccessKey: "sandbox",
  sessionToken: "sandbox",
} as const;

export interface SandboxEndpoints {
  sqs?: string;
  ssm?: string;
  dynamodb?: string;
}

/**
 * The environment an AWS SDK v3 client needs to reach the local stand-ins through its standard
 * service-specific endpoint variables, exactly as a Lambda would get them.
 */
export function awsSandboxEnvironment(endpoints: SandboxEndpoints = {}): Record<string, string> {
  const env: Record<string, string> = {
    AWS_REGION: SANDBOX_REGION,
    AWS_DEFAULT_REGION: SANDBOX_REGION,
    AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: SANDBOX_CREDENTIALS.sessionToken,
  };
  if (endpoints.sqs) env["AWS_ENDPOINT_URL_SQS"] = endpoints.sqs;
  if (endpoints.ssm) env["AWS_ENDPOINT_URL_SSM"] = endpoints.ssm;
  if (endpoints.dynamodb) env["AWS_ENDPOINT_URL_DYNAMODB"] = endpoints.dynamodb;
  return env;
}

/** Client options for an SDK client talking to one stand-in: `new SQSClient(sandboxClientConfig(url))`. */
export function sandboxClientConfig(endpoint: string) {
  return { endpoint, region: SANDBOX_REGION, credentials: { ...SANDBOX_CREDENTIALS } };
}
