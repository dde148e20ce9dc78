import type { ErrorShapes, StandInResponse } from "../core/server";

/** Resend's error names (docs `api-reference/errors`), the values the SDK's `ErrorResponse.name` carries. */
export type ResendErrorName =
  | "missing_api_key"
  | "invalid_api_key"
  | "restricted_api_key"
  | "validation_error"
  | "missing_required_field"
  | "invalid_parameter"
  | "invalid_attachment"
  | "invalid_idempotency_key"
  | "invalid_idempotent_request"
  | "concurrent_idempotent_requests"
  | "not_found"
  | "method_not_allowed"
  | "rate_limit_exceeded"
  | "application_error"
  | "service_unavailable";

/** Resend's error body: `{statusCode, name, message}`, the shape the SDK passes through as `error`. */
export function resendError(status: number, name: ResendErrorName, message: string): StandInResponse {
  return { status, body: { statusCode: status, name, message } };
}

/** Thrown by validators deep inside a handler; the gate turns it into Resend's error body. */
export class ResendHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorName: ResendErrorName,
    message: string,
  ) {
    super(message);
  }

  toResponse(): StandInResponse {
    return resendError(this.status, this.errorName, this.message);
  }
}

export const missingField = (field: string): ResendHttpError =>
  new ResendHttpError(422, "missing_required_field", `Missing \`${field}\` field.`);

export const invalidField = (message: string): ResendHttpError =>
  new ResendHttpError(422, "validation_error", message);

export const notFound = (what: string): ResendHttpError =>
  new ResendHttpError(404, "not_found", `${what} not found`);

/** Bodies for the injected faults of the core server, so a 429 or 5xx looks like Resend's. */
export function faultBody(status: number, perSecond: number): unknown {
  if (status === 429) return rateLimitBody(perSecond).body;
  if (status === 503) return resendError(503, "service_unavailable", "Service unavailable.").body;
  return { ...(internalError().body as object), statusCode: status };
}

export function rateLimitBody(perSecond: number): StandInResponse {
  return resendError(
    429,
    "rate_limit_exceeded",
    `Too many requests. You can only make ${perSecond} requests per second. See rate limit response headers for more information. Or contact support to increase rate limit.`,
  );
}

export const badJsonBody = (): StandInResponse =>
  resendError(400, "validation_error", "The request body is not valid JSON. Send a JSON object.");

export const internalError = (): StandInResponse =>
  resendError(
    500,
    "application_error",
    "Internal server error. We are unable to process your request right now, please try again later.",
  );

/**
 * Unknown paths answer 404 `not_found`; a known path with the wrong method answers 405
 * `method_not_allowed`, which is what distinguishes "typo in the path" from "wrong verb".
 */
export const errorShapes: ErrorShapes = {
  notFound: () => resendError(404, "not_found", "The requested endpoint does not exist."),
  methodNotAllowed: () => resendError(405, "method_not_allowed", "Method is not allowed."),
  badJson: badJsonBody,
};
