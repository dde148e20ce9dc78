/**
 * The doctor's vocabulary. A check is a pure function from fetched facts to results; a result is `pass`,
 * `warn` (worth a look, or could not be determined because the network failed) or `fail` (the pipeline is
 * broken or will be). Every warn and fail carries a one-line fix that names the record or setting to change.
 */

export type Status = "pass" | "warn" | "fail";

export type Area = "config" | "dns" | "resend" | "clerk" | "bridge";

export const AREAS: readonly Area[] = ["config", "dns", "resend", "clerk", "bridge"];

export interface CheckResult {
  area: Area;
  /** Stable identifier of what was checked, e.g. `dns.dkim.present`. */
  check: string;
  status: Status;
  /** What was found, in one sentence. */
  message: string;
  /** One line saying what to change; set on every warn and fail. */
  fix?: string;
}

/** Result builders for one area, so checks read as `dns.fail(check, message, fix)`. */
export function resultsFor(area: Area) {
  return {
    pass: (check: string, message: string): CheckResult => ({ area, check, status: "pass", message }),
    warn: (check: string, message: string, fix: string): CheckResult => ({
      area,
      check,
      status: "warn",
      message,
      fix,
    }),
    fail: (check: string, message: string, fix: string): CheckResult => ({
      area,
      check,
      status: "fail",
      message,
      fix,
    }),
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
  if (!failure.transient) return fail(check, message, fix);
  return failure.status === undefined
    ? warn(
        check,
        message,
        "check connectivity (RESEND_BASE_URL, CLERK_API_URL, proxy, VPN) and run the doctor again",
      )
    : warn(
        check,
        message,
        `a vendor-side problem (HTTP ${failure.status}): run the doctor again in a few minutes`,
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

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
