import { AwsV4Signer } from "aws4fetch";
import { type BackoffPolicy, defaultSleep, withBackoff } from "../../lib/backoff";
import { nodeCrypto } from "../node-crypto";

/**
 * DynamoDB, SQS and SSM all speak the AWS JSON protocol: `POST /` with `X-Amz-Target: <prefix>.<Operation>`
 * and a JSON body, errors as `{ "__type": "…#Name", "message": … }`. One signed `fetch` covers all three, so
 * the bridge does not load the AWS SDK (about 95 ms of cold start for these three clients).
 */
export interface AwsJsonService {
  /** SigV4 signing name and endpoint host prefix. */
  signingName: string;
  targetPrefix: string;
  jsonVersion: "1.0" | "1.1";
  /** The suffix of the service-specific endpoint variable, `AWS_ENDPOINT_URL_<suffix>`. */
  endpointVariable: string;
  /** Query-compatible services (SQS) answer with their legacy error code in `x-amzn-query-error`. */
  queryCompatible?: boolean;
}

const AWS_SERVICES = {
  dynamodb: {
    signingName: "dynamodb",
    targetPrefix: "DynamoDB_20120810",
    jsonVersion: "1.0",
    endpointVariable: "DYNAMODB",
  },
  sqs: {
    signingName: "sqs",
    targetPrefix: "AmazonSQS",
    jsonVersion: "1.0",
    endpointVariable: "SQS",
    queryCompatible: true,
  },
  ssm: { signingName: "ssm", targetPrefix: "AmazonSSM", jsonVersion: "1.1", endpointVariable: "SSM" },
} as const satisfies Record<string, AwsJsonService>;

export type AwsServiceName = keyof typeof AWS_SERVICES;

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AwsClientOptions {
  /** Where credentials, region and endpoint variables are read when not given; default `process.env`. */
  env?: Record<string, string | undefined>;
  endpoint?: string;
  region?: string;
  credentials?: AwsCredentials;
  /** Per attempt; a request still unanswered is aborted and counts as a retryable failure. */
  timeoutMs?: number;
  backoff?: BackoffPolicy;
  sleep?: (ms: number) => Promise<void>;
}

/** Three attempts like the SDK's standard mode; short waits because a Lambda invocation is waiting. */
export const AWS_BACKOFF: BackoffPolicy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 2_000 };
const AWS_TIMEOUT_MS = 5_000;
/** A retry is not started with less time than this left before the deadline: it could not get an answer. */
const MIN_ATTEMPT_MS = 200;

/** Per call. */
export interface CallOptions {
  /**
   * Epoch ms by which the call must have given up, retries and backoff included: each attempt's timeout is
   * cut to the time left and no retry starts too close to it. Ingest passes its invocation's end (less a
   * margin), so a slow AWS answer cannot outlive the function and leave work half done.
   */
  deadlineAt?: number;
}

/**
 * A failed AWS call. `name` is the service's error shape (`ConditionalCheckFailedException`,
 * `ThrottlingException`, `ParameterNotFound`, …) so callers test `err.name` as with the SDK; `code` is
 * SQS's legacy query code when it sent one. Messages name the service and operation, never request bodies.
 */
export class AwsError extends Error {
  constructor(
    name: string,
    message: string,
    readonly status: number | undefined,
    readonly code: string = name,
    readonly requestId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = name;
  }

  /** Throttling, server faults, timeouts and network errors may succeed when repeated. */
  get retryable(): boolean {
    if (this.status !== undefined && (this.status === 429 || this.status >= 500)) return true;
    return RETRYABLE_NAMES.has(this.name) || RETRYABLE_NAMES.has(this.code);
  }
}

const RETRYABLE_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestThrottled",
  "RequestThrottledException",
  "RequestLimitExceeded",
  "ProvisionedThroughputExceededException",
  "TransactionInProgressException",
  "InternalFailure",
  "InternalServerError",
  "ServiceUnavailable",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  "NetworkingError",
]);

/**
 * A client for one AWS JSON service. Construction only reads variables; nothing is loaded or connected
 * until the first call. Credentials come from the Lambda environment (`AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), the endpoint from `AWS_ENDPOINT_URL_<SERVICE>` or
 * `AWS_ENDPOINT_URL` (how local stand-ins are reached), else `https://<service>.<region>.amazonaws.com`.
 */
export class AwsJsonClient {
  readonly service: AwsJsonService;
  readonly endpoint: string;
  readonly region: string;
  private readonly credentials: AwsCredentials | undefined;
  private readonly timeoutMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  /** aws4fetch caches the derived signing key here, so each call costs one HMAC chain less. */
  private readonly keyCache = new Map<string, ArrayBuffer>();

  constructor(service: AwsServiceName | AwsJsonService, options: AwsClientOptions = {}) {
    const env = options.env ?? process.env;
    this.service = typeof service === "string" ? AWS_SERVICES[service] : service;
    this.region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "";
    this.endpoint = stripSlash(options.endpoint ?? resolveEndpoint(this.service, this.region, env));
    this.credentials = options.credentials ?? credentialsFromEnv(env);
    this.timeoutMs = options.timeoutMs ?? AWS_TIMEOUT_MS;
    this.backoff = options.backoff ?? AWS_BACKOFF;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /**
   * Calls `operation` (e.g. `PutItem`) with retries on throttling, 5xx, timeouts and network errors, all
   * within `options.deadlineAt` when given.
   */
  call<T = Record<string, unknown>>(operation: string, input: object, options: CallOptions = {}): Promise<T> {
    const body = JSON.stringify(input);
    const deadlineAt = options.deadlineAt ?? Number.POSITIVE_INFINITY;
    const left = () => deadlineAt - Date.now();
    return withBackoff(
      () => this.attempt<T>(operation, body, left()),
      (err) => ({ retry: err instanceof AwsError && err.retryable && left() > MIN_ATTEMPT_MS }),
      {
        policy: this.backoff,
        // The wait is cut so the retry still starts with MIN_ATTEMPT_MS left.
        sleep: (ms) => this.sleep(Math.max(0, Math.min(ms, left() - MIN_ATTEMPT_MS))),
      },
    );
  }

  private async attempt<T>(operation: string, body: string, leftMs: number): Promise<T> {
    const { signingName, targetPrefix, jsonVersion } = this.service;
    const what = `${signingName} ${operation}`;
    if (leftMs <= 0) {
      throw new AwsError(
        "DeadlineExceeded",
        `${what}: not attempted, the caller's deadline has passed`,
        undefined,
      );
    }
    const timeoutMs = Math.min(this.timeoutMs, Math.ceil(leftMs));
    if (!this.credentials) {
      throw new AwsError(
        "CredentialsError",
        `${what}: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (the Lambda runtime sets them from the function role)`,
        undefined,
      );
    }
    if (!this.region) {
      throw new AwsError("ConfigError", `${what}: AWS_REGION is not set`, undefined);
    }
    const signed = await new AwsV4Signer({
      method: "POST",
      url: `${this.endpoint}/`,
      headers: {
        "content-type": `application/x-amz-json-${jsonVersion}`,
        "x-amz-target": `${targetPrefix}.${operation}`,
        // The payload hash, computed synchronously: aws4fetch then skips its own asynchronous Web Crypto
        // digest (a third of its signing CPU).
        "x-amz-content-sha256": nodeCrypto().createHash("sha256").update(body).digest("hex"),
        ...(this.service.queryCompatible ? { "x-amzn-query-mode": "true" } : {}),
      },
      body,
      ...this.credentials,
      service: signingName,
      region: this.region,
      cache: this.keyCache,
    }).sign();
    let response: Response;
    let text: string;
    try {
      // The timeout covers reading the answer too: a body that stalls half-way is as lost as no answer.
      response = await fetch(signed.url, {
        method: "POST",
        headers: signed.headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      const timedOut = (err as Error).name === "TimeoutError";
      throw new AwsError(
        timedOut ? "TimeoutError" : "NetworkingError",
        timedOut
          ? `${what}: no answer from ${this.endpoint} within ${timeoutMs} ms`
          : `${what}: could not reach ${this.endpoint}: ${(err as Error).message}`,
        undefined,
        undefined,
        undefined,
        { cause: err },
      );
    }
    if (response.ok) return (text ? JSON.parse(text) : {}) as T;
    throw errorFromResponse(what, response, text);
  }
}

/** Maps an AWS JSON error answer to a named {@link AwsError}. */
function errorFromResponse(what: string, response: Response, text: string): AwsError {
  let parsed: { __type?: unknown; message?: unknown; Message?: unknown } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // A proxy or load balancer error page: the status still says whether a retry makes sense.
  }
  // `__type` may be `namespace#Name` and may carry a `:http://…` suffix; the header is the fallback.
  const rawType = String(parsed.__type ?? response.headers.get("x-amzn-errortype") ?? "");
  const name =
    rawType.split("#").pop()?.split(":")[0] || (response.status >= 500 ? "InternalFailure" : "UnknownError");
  const queryCode = response.headers.get("x-amzn-query-error")?.split(";")[0] || undefined;
  const detail = String(parsed.message ?? parsed.Message ?? "").slice(0, 500);
  return new AwsError(
    name,
    `${what} failed with ${name} (HTTP ${response.status})${detail ? `: ${detail}` : ""}`,
    response.status,
    queryCode ?? name,
    response.headers.get("x-amzn-requestid") ?? undefined,
  );
}

function resolveEndpoint(service: AwsJsonService, region: string, env: Record<string, string | undefined>) {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS !== "true") {
    const configured = env[`AWS_ENDPOINT_URL_${service.endpointVariable}`] || env.AWS_ENDPOINT_URL;
    if (configured) return configured;
  }
  return `https://${service.signingName}.${region}.amazonaws.com`;
}

function credentialsFromEnv(env: Record<string, string | undefined>): AwsCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return env.AWS_SESSION_TOKEN
    ? { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN }
    : { accessKeyId, secretAccessKey };
}

function stripSlash(url: string): string {
  return url.endsWith("/") ? url.slice(0, -1) : url;
}
