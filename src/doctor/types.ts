/**
 * The doctor's vocabulary. A check is a pure function from fetched facts to results; a result is `pass`,
 * `warn` (worth a look, or could not be determined because the network failed) or `fail` (the pipeline is
 * broken or will be). Every warn and fail carries a one-line fix that names the record or setting to change.
 *
 * A check's id names what was checked, never what was found: `dns.dkim-txt` is `dns.dkim-txt` whether the
 * record is missing, duplicated or right. What was found is the status, the `code` and the message.
 */

export type Status = "pass" | "warn" | "fail";

export type Area = "config" | "dns" | "resend" | "clerk" | "bridge";

export const AREAS: readonly Area[] = ["config", "dns", "resend", "clerk", "bridge"];

export interface CheckResult {
  area: Area;
  /** Stable identifier of what was checked, e.g. `dns.dkim-txt`; the same whatever the verdict. */
  check: string;
  status: Status;
  /** Machine-readable reason for a warn or fail, e.g. `missing`, `duplicate`, `lookup-failed`. */
  code?: string;
  /** What was found, in one sentence. Long values are shortened here; `details` has them in full. */
  message: string;
  /** One line saying what to change; set on every warn and fail. */
  fix?: string;
  /** Full values behind the message (expected and published records, counts), for `--json`. */
  details?: Record<string, unknown>;
}

export interface Finding {
  code?: string;
  details?: Record<string, unknown>;
}

/** Result builders for one area, so checks read as `dns.fail(check, message, fix, {code})`. */
export function resultsFor(area: Area) {
  const result = (
    check: string,
    status: Status,
    message: string,
    fix: string | undefined,
    finding: Finding = {},
  ): CheckResult => ({
    area,
    check,
    status,
    // Every warn and fail has a code; `invalid` is what a check without a finer reason (config) reports.
    ...(status !== "pass" ? { code: finding.code ?? "invalid" } : {}),
    message,
    ...(fix ? { fix } : {}),
    ...(finding.details ? { details: finding.details } : {}),
  });
  return {
    pass: (check: string, message: string, details?: Record<string, unknown>): CheckResult =>
      result(check, "pass", message, undefined, { details }),
    warn: (check: string, message: string, fix: string, finding?: Finding): CheckResult =>
      result(check, "warn", message, fix, finding),
    fail: (check: string, message: string, fix: string, finding?: Finding): CheckResult =>
      result(check, "fail", message, fix, finding),
  };
}

/**
 * Why a vendor call gave no answer to check. `transient` failures (network, timeout, 429, 5xx) say nothing
 * about the setup, so they become warnings; a rejection (401, 403, other 4xx) is the setup's fault.
 */
export interface CallFailure {
  transient: boolean;
  status?: number;
  /** The vendor's error code or name, e.g. `invalid_api_key`, `svix_app_missing`. */
  code?: string;
  message: string;
}

export type Fetched<T> = { ok: true; value: T } | { ok: false; failure: CallFailure };

function describeFailure(failure: CallFailure): string {
  const status = failure.status === undefined ? "no answer" : `HTTP ${failure.status}`;
  return `${status}${failure.code ? ` ${failure.code}` : ""}: ${failure.message}`;
}

/**
 * A check that could not run because its call failed: a warning when the failure is transient (run the
 * doctor again), a failure when the vendor rejected the call (`fix` says what to change).
 */
export function unreachable(
  area: Area,
  check: string,
  what: string,
  failure: CallFailure,
  fix: string,
): CheckResult {
  const { warn, fail } = resultsFor(area);
  const message = `${what}: ${describeFailure(failure)}`;
  if (!failure.transient) return fail(check, message, fix, { code: "rejected" });
  return failure.status === undefined
    ? warn(
        check,
        message,
        "check connectivity (RESEND_BASE_URL, CLERK_API_URL, SVIX_API_URL, AWS_ENDPOINT_URL, proxy, VPN) and run the doctor again",
        { code: "unreachable" },
      )
    : warn(
        check,
        message,
        `a vendor-side problem (HTTP ${failure.status}): run the doctor again in a few minutes`,
        { code: "unreachable" },
      );
}

/** A credential proven by one read call: a pass saying what the call returned, else {@link unreachable}. */
export function credentialCheck<T>(
  area: Area,
  check: string,
  envName: string,
  fetched: Fetched<T>,
  fix: string,
  accepted: (value: T) => string,
): CheckResult {
  if (!fetched.ok) return unreachable(area, check, `checking ${envName}`, fetched.failure, fix);
  return resultsFor(area).pass(check, `${envName} accepted (${accepted(fetched.value)})`);
}

/** A failure from a thrown fetch error: a timeout or a refused connection, both transient. */
export function thrownFailure(err: unknown, timeoutMs: number): CallFailure {
  const error = err as Error & { cause?: { code?: string; message?: string } };
  if (error.name === "TimeoutError" || error.name === "AbortError") {
    return { transient: true, code: "timeout", message: `no answer within ${timeoutMs} ms` };
  }
  return {
    transient: true,
    code: error.cause?.code,
    message: error.cause?.message ?? error.message,
  };
}

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The default per-call budget: one hung dependency costs at most this, the others run beside it. */
export const DEFAULT_TIMEOUT_MS = 10_000;
