import { isClerkAPIResponseError } from "@clerk/backend/errors";
import { type AttemptVerdict, type RetryOptions, withBackoff } from "./backoff";

/**
 * A `ClerkAPIResponseError` (or any other thrown value) reduced to what a form or a retry loop needs.
 *
 * @example A sign-up form handler that creates the user server-side and answers the form field by field:
 * ```ts
 * import { createClerkClient } from "@clerk/backend";
 * import { classifyClerkError, withClerkBackoff } from "./lib/clerk-errors";
 *
 * const clerk = createClerkClient({ secretKey: process.env.CLERK_SECRET_KEY! });
 *
 * export async function handleSignUp(form: { email: string; password: string }) {
 *   try {
 *     const user = await withClerkBackoff(() =>
 *       clerk.users.createUser({ emailAddress: [form.email], password: form.password }),
 *     );
 *     return { ok: true, userId: user.id };
 *   } catch (err) {
 *     const e = classifyClerkError(err);
 *     if (e.kind === "rate_limited") return { ok: false, retryInMs: e.retryAfterMs, message: e.message };
 *     if (e.kind === "weak_password") return { ok: false, field: "password", hints: e.passwordSuggestions };
 *     if (e.kind === "invalid_input") return { ok: false, field: e.paramName, message: e.longMessage };
 *     throw err; // transient or unknown: let the caller's error page and monitoring see it
 *   }
 * }
 * ```
 */
export interface ClassifiedClerkError {
  kind: ClerkErrorKind;
  /** HTTP status; `undefined` when the error never reached Clerk (network, bug). */
  status: number | undefined;
  /** First Clerk error code, e.g. `form_identifier_exists`; `undefined` when Clerk sent none. */
  code: string | undefined;
  /** Short message suitable for a toast. */
  message: string;
  /** Clerk's sentence for the end user, falling back to `message`. */
  longMessage: string;
  /** The form field Clerk blames (`email_address`, `password`), when it names one. */
  paramName: string | undefined;
  /** Milliseconds the server asked us to wait (`Retry-After`); only set on 429. */
  retryAfterMs: number | undefined;
  /** zxcvbn suggestions for a weak password, as Clerk's own sentences. */
  passwordSuggestions: string[];
  /** Every error code Clerk returned, for logs and metrics. */
  codes: string[];
  traceId: string | undefined;
  /** Whether trying the same call again later can succeed. */
  retryable: boolean;
}

export type ClerkErrorKind =
  | "rate_limited"
  | "server_error"
  | "network"
  | "weak_password"
  | "pwned_password"
  | "identifier_exists"
  | "not_found"
  | "unauthorized"
  | "invalid_input"
  | "unknown";

const WEAK_PASSWORD_CODES = new Set([
  "form_password_not_strong_enough",
  "form_password_length_too_short",
  "form_password_length_too_long",
  "form_password_size_in_bytes_exceeded",
]);

interface ClerkLikeError {
  status: number;
  retryAfter?: number;
  clerkTraceId?: string;
  message: string;
  errors: Array<{
    code: string;
    message: string;
    longMessage?: string;
    meta?: { paramName?: string; zxcvbn?: { suggestions: Array<{ code: string; message: string }> } };
  }>;
}

/** Duck-typed as well as by the guard, so an error from a second copy of `@clerk/shared` still classifies. */
function asClerkError(error: unknown): ClerkLikeError | undefined {
  if (isClerkAPIResponseError(error)) return error as unknown as ClerkLikeError;
  if (
    error &&
    typeof error === "object" &&
    typeof (error as ClerkLikeError).status === "number" &&
    Array.isArray((error as ClerkLikeError).errors)
  ) {
    return error as ClerkLikeError;
  }
  return undefined;
}

export function classifyClerkError(error: unknown): ClassifiedClerkError {
  const clerk = asClerkError(error);
  if (!clerk) {
    const message = error instanceof Error ? error.message : String(error);
    // fetch() rejects with a TypeError when the connection fails, and with a TimeoutError when an
    // `AbortSignal.timeout()` fires first: the call may succeed when repeated.
    const network =
      error instanceof TypeError ||
      (error as { name?: unknown } | null)?.name === "TimeoutError" ||
      /fetch failed|ECONNRE|ETIMEDOUT|socket/i.test(message);
    return {
      kind: network ? "network" : "unknown",
      status: undefined,
      code: undefined,
      message,
      longMessage: message,
      paramName: undefined,
      retryAfterMs: undefined,
      passwordSuggestions: [],
      codes: [],
      traceId: undefined,
      retryable: network,
    };
  }
  const first = clerk.errors[0];
  const codes = clerk.errors.map((e) => e.code);
  // The SDK turns a failed fetch (refused, reset, timed out) into a response error with no status and the
  // code `unexpected_error`: the request never reached Clerk, so it is a network failure worth retrying.
  if (typeof clerk.status !== "number" && codes.includes("unexpected_error")) {
    const message = first?.message ?? clerk.message;
    return {
      kind: "network",
      status: undefined,
      code: "unexpected_error",
      message,
      longMessage: message,
      paramName: undefined,
      retryAfterMs: undefined,
      passwordSuggestions: [],
      codes,
      traceId: clerk.clerkTraceId,
      retryable: true,
    };
  }
  const suggestions = clerk.errors.flatMap((e) => e.meta?.zxcvbn?.suggestions ?? []).map((s) => s.message);
  const kind = kindOf(clerk.status, codes, suggestions.length > 0);
  return {
    kind,
    status: clerk.status,
    code: first?.code,
    message: first?.message ?? clerk.message,
    longMessage: first?.longMessage ?? first?.message ?? clerk.message,
    paramName: first?.meta?.paramName,
    retryAfterMs:
      clerk.status === 429 && typeof clerk.retryAfter === "number" ? clerk.retryAfter * 1000 : undefined,
    passwordSuggestions: suggestions,
    codes,
    traceId: clerk.clerkTraceId,
    retryable: kind === "rate_limited" || kind === "server_error",
  };
}

function kindOf(status: number, codes: string[], hasSuggestions: boolean): ClerkErrorKind {
  if (status === 429) return "rate_limited";
  if (status >= 500) return "server_error";
  if (codes.includes("form_password_pwned")) return "pwned_password";
  if (hasSuggestions || codes.some((c) => WEAK_PASSWORD_CODES.has(c))) return "weak_password";
  if (codes.includes("form_identifier_exists")) return "identifier_exists";
  if (status === 404 || codes.includes("resource_not_found")) return "not_found";
  if (status === 401 || status === 403) return "unauthorized";
  if (status === 400 || status === 422) return "invalid_input";
  return "unknown";
}

/** Retry verdict for {@link withBackoff}: 429 (honouring `Retry-After`), 5xx and network errors retry. */
export function clerkRetryVerdict(error: unknown): AttemptVerdict {
  const e = classifyClerkError(error);
  return e.retryable ? { retry: true, retryAfterMs: e.retryAfterMs } : { retry: false };
}

/**
 * Calls Clerk with bounded backoff: the SDK itself never retries, not even on 429.
 * Rethrows the last error once the attempts are spent, so callers still see the real cause.
 */
export function withClerkBackoff<T>(fn: () => Promise<T>, options?: RetryOptions): Promise<T> {
  return withBackoff(fn, clerkRetryVerdict, options);
}
