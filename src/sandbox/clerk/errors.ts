import { randomBytes } from "node:crypto";
import type { ErrorShapes, StandInResponse } from "../core/server";

/** One entry of Clerk's `errors[]`. */
export interface ClerkErrorEntry {
  code: string;
  message: string;
  long_message: string;
  meta?: Record<string, unknown>;
}

/** Clerk's error body (`ClerkErrors`): `{errors, meta, clerk_trace_id}`. */
export function clerkErrorBody(...errors: ClerkErrorEntry[]) {
  return {
    errors: errors.map((e) => ({ ...e, meta: e.meta ?? {} })),
    meta: {},
    clerk_trace_id: randomBytes(16).toString("hex"),
  };
}

export function clerkError(
  status: number,
  entry: ClerkErrorEntry,
  headers?: Record<string, string>,
): StandInResponse {
  return { status, body: clerkErrorBody(entry), headers };
}

const TOO_MANY_REQUESTS: ClerkErrorEntry = {
  code: "too_many_requests",
  message: "Too many requests",
  long_message: "Too many requests, retry later",
};

/** Clerk errors the stand-in answers, by code, so routes name a code rather than repeat wording. */
export const errors = {
  authenticationInvalid: () =>
    clerkError(401, {
      code: "authentication_invalid",
      message: "Unauthorized request",
      long_message: "You are not authorized to perform this request",
    }),
  notFound: (longMessage = "The requested resource was not found") =>
    clerkError(404, { code: "resource_not_found", message: "not found", long_message: longMessage }),
  tooManyRequests: (retryAfterSeconds: number) =>
    clerkError(429, TOO_MANY_REQUESTS, { "retry-after": String(retryAfterSeconds) }),
  badJson: () =>
    clerkError(400, {
      code: "malformed_request",
      message: "malformed request",
      long_message: "The request body is not valid JSON",
    }),
  paramMissing: (param: string) =>
    clerkError(422, {
      code: "form_param_missing",
      message: "is missing",
      long_message: `${param} must be included.`,
      meta: { param_name: param },
    }),
  paramInvalid: (param: string, longMessage: string) =>
    clerkError(422, {
      code: "form_param_format_invalid",
      message: "is invalid",
      long_message: longMessage,
      meta: { param_name: param },
    }),
  paramUnknown: (param: string) =>
    clerkError(422, {
      code: "form_param_unknown",
      message: "is unknown",
      long_message: `${param} is not a valid parameter for this request.`,
      meta: { param_name: param },
    }),
  identifierExists: (param: string) =>
    clerkError(422, {
      code: "form_identifier_exists",
      message: "That email address is taken. Please try another.",
      long_message: "That email address is taken. Please try another.",
      meta: { param_name: param },
    }),
  identifierNotFound: (param: string) =>
    clerkError(422, {
      code: "form_identifier_not_found",
      message: "Couldn't find your account.",
      long_message: "Couldn't find your account.",
      meta: { param_name: param },
    }),
  codeIncorrect: () =>
    clerkError(422, {
      code: "form_code_incorrect",
      message: "is incorrect",
      long_message: "Incorrect code",
      meta: { param_name: "code" },
    }),
  verificationNeeded: (longMessage: string) =>
    clerkError(422, {
      code: "form_verification_needed",
      message: "needs verification",
      long_message: longMessage,
      meta: { param_name: "email_address_id" },
    }),
  svixAppExists: () =>
    clerkError(400, {
      code: "svix_app_exists",
      message: "Svix app already exists",
      long_message: "Only one Svix app is allowed per instance.",
    }),
  svixAppMissing: () =>
    clerkError(400, {
      code: "svix_app_missing",
      message: "Svix app missing",
      long_message: "No Svix apps are associated with the current instance.",
    }),
  templateTypeUnsupported: (type: string) =>
    clerkError(400, {
      code: "template_type_unsupported",
      message: "template type not supported",
      long_message: `Template type ${type} is not supported; use email or sms.`,
    }),
};

/** Bodies for injected faults: Clerk's shape with the code its status implies. */
export function clerkFaultBody(status: number): unknown {
  if (status === 429) return clerkErrorBody(TOO_MANY_REQUESTS);
  return clerkErrorBody({
    code: status >= 500 ? "internal_clerk_error" : "request_failed",
    message: "Oops, an unexpected error occurred",
    long_message:
      "There was an internal error on our servers. We've been notified and are working on fixing it.",
  });
}

export const clerkShapes: ErrorShapes = {
  notFound: () => errors.notFound(),
  badJson: () => errors.badJson(),
  // @clerk/backend compares the content type with `===`; a charset suffix turns bodies into strings.
  contentType: "application/json",
};
