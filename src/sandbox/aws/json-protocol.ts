import { randomUUID } from "node:crypto";
import {
  BadJson,
  type StandInOptions,
  type StandInRequest,
  type StandInResponse,
  StandInServer,
} from "../core/server";

/**
 * An error the way an AWS JSON service reports it. `code` is the modeled shape name (the SDK raises
 * the exception class of that name); `queryCode` is the legacy AWS Query code that query-compatible
 * services (SQS) also send in `x-amzn-query-error`.
 */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly queryCode?: string,
  ) {
    super(message);
    this.name = code;
  }
}

export type AwsOperation = (input: Record<string, unknown>) => unknown | Promise<unknown>;

export interface AwsJsonServiceSpec {
  /** Human name used in errors and logs, e.g. "SQS". */
  name: string;
  /** Smithy namespace of the service, used in `__type`, e.g. "com.amazonaws.sqs". */
  namespace: string;
  /** Prefix of `X-Amz-Target`, e.g. "AmazonSQS". */
  targetPrefix: string;
  jsonVersion: "1.0" | "1.1";
  operations: Record<string, AwsOperation>;
  options?: StandInOptions;
}

/**
 * A loopback server speaking the AWS JSON protocol: every call is `POST /` with
 * `X-Amz-Target: <prefix>.<Operation>` and a JSON body; answers are JSON, errors carry `__type`.
 * SigV4 signatures are accepted without checking, since the credentials are dummies.
 */
export function createAwsJsonServer(spec: AwsJsonServiceSpec): StandInServer {
  const contentType = `application/x-amz-json-${spec.jsonVersion}`;
  const errorResponse = (err: AwsServiceError): StandInResponse => {
    const headers: Record<string, string> = { "x-amzn-requestid": randomUUID() };
    if (err.queryCode)
      headers["x-amzn-query-error"] = `${err.queryCode};${err.status >= 500 ? "Receiver" : "Sender"}`;
    return {
      status: err.status,
      headers,
      body: { __type: `${spec.namespace}#${err.code}`, message: err.message },
    };
  };
  const server = new StandInServer(
    spec.name,
    {
      contentType,
      notFound: (req) =>
        errorResponse(
          new AwsServiceError(
            "UnknownOperationException",
            `${spec.name} stand-in serves POST /, not ${req.path}`,
          ),
        ),
      badJson: () =>
        errorResponse(new AwsServiceError("SerializationException", "request body is not valid JSON")),
    },
    spec.options,
  );
  server.faults.shapeBody = (status) => ({
    __type: `${spec.namespace}#${status === 429 ? "ThrottlingException" : "InternalFailure"}`,
    message: status === 429 ? "Rate exceeded" : "injected failure",
  });

  const dispatch = async (req: StandInRequest): Promise<StandInResponse> => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const [prefix, operationName] = target.split(".");
    const operation =
      prefix === spec.targetPrefix && operationName ? spec.operations[operationName] : undefined;
    if (!operation) {
      return errorResponse(
        new AwsServiceError(
          "UnknownOperationException",
          `${spec.name} stand-in does not implement X-Amz-Target "${target}"; implemented: ${Object.keys(spec.operations).join(", ")}`,
        ),
      );
    }
    try {
      const input = (req.json() ?? {}) as Record<string, unknown>;
      const output = (await operation(input)) ?? {};
      return { status: 200, headers: { "x-amzn-requestid": randomUUID() }, body: output };
    } catch (err) {
      if (err instanceof AwsServiceError) return errorResponse(err);
      if (err instanceof BadJson) throw err;
      // A bug in the stand-in must surface as a 500 to the caller, never crash the host process.
      return errorResponse(new AwsServiceError("InternalFailure", (err as Error).message, 500));
    }
  };
  return server.route("POST", "/", dispatch);
}

/** Reads a required string member, raising the ValidationException AWS raises when it is missing. */
export function requiredString(input: Record<string, unknown>, member: string, code = "ValidationException") {
  const value = input[member];
  if (typeof value !== "string" || value.length === 0) {
    throw new AwsServiceError(code, `${member} is required and must be a non-empty string`);
  }
  return value;
}
