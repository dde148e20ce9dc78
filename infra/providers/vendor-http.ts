// HTTP plumbing shared by the dynamic providers. Pulumi serializes provider methods together with
// everything they reference, so this module uses only globals (fetch, setTimeout, process.env):
// importing a vendor SDK here would break that serialization.

/** `Bridge`: this stack's own deployed ingest, which the delivery canary calls like a vendor. */
export type Vendor = "Resend" | "Clerk" | "Svix" | "Bridge";

export interface VendorCall {
  vendor: Vendor;
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  baseUrl: string;
  path: string;
  /** Bearer credential (empty: no Authorization header); never appears in an error message. */
  token: string;
  body?: unknown;
  /** What the call is for, in words, for error messages ("create domain mail.example.com"). */
  action: string;
  headers?: Record<string, string>;
  /** Other credentials in the request (e.g. in the body) that an error message must not repeat. */
  redact?: string[];
  /**
   * False for a create the vendor cannot deduplicate: after a lost answer or a 5xx the request may
   * have been applied, and repeating it would make a second object. Default true.
   */
  retryAmbiguous?: boolean;
}

export interface VendorResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: vendor JSON is validated by each provider where it matters
  body: any;
  headers: Headers;
  /** An earlier attempt of this call got no answer or a 5xx, so the vendor may have applied it already. */
  ambiguous: boolean;
}

/** The engine's placeholder for an input that is not known yet (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

// Resend requires a User-Agent (no header → 403 from its edge); the others get the same one.
const USER_AGENT = "auth-email-pipeline-provider/0.1";
const MAX_ATTEMPTS = 8;
const MAX_WAIT_MS = 30_000;
const ATTEMPT_TIMEOUT_MS = 30_000;

// Quota errors are 429s that no amount of waiting within one deployment fixes.
const NOT_RETRYABLE_429 = ["daily_quota_exceeded", "monthly_quota_exceeded"];
// Resend's "try again shortly" conflicts.
const RETRYABLE_409 = ["concurrent_idempotent_requests", "resource_locked"];

/**
 * Minimum spacing between requests to one vendor, per process. Resend's budget (2, 5 or 10 req/s
 * depending on the account) is per team and shared by every parallel operation of a deployment and by the
 * bridge, so all providers loaded in the provider host share one pacer through `globalThis`. The default
 * (100 ms) keeps a deployment quick; the 429s a 2 req/s team answers are waited out (`retry-after`), and the
 * bridge returns its own rate-limited records for exactly their `retry-after`.
 */
function minIntervalMs(vendor: Vendor): number {
  if (vendor !== "Resend") return 0;
  const configured = Number(process.env.RESEND_MIN_REQUEST_INTERVAL_MS);
  return Number.isFinite(configured) && configured >= 0 ? configured : 100;
}

function pacer(): Record<string, number> {
  const g = globalThis as unknown as { __authEmailPipelinePacer?: Record<string, number> };
  g.__authEmailPipelinePacer ??= {};
  return g.__authEmailPipelinePacer;
}

async function waitForSlot(vendor: Vendor): Promise<void> {
  const slots = pacer();
  const now = Date.now();
  const slot = Math.max(now, slots[vendor] ?? 0);
  slots[vendor] = slot + minIntervalMs(vendor);
  if (slot > now) await delay(slot - now);
}

/** After a 429 every caller in the process waits, not just the one that was told to. */
function holdVendor(vendor: Vendor, ms: number): void {
  const slots = pacer();
  slots[vendor] = Math.max(slots[vendor] ?? 0, Date.now() + ms);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Seconds from `retry-after` (or Resend's `ratelimit-reset`), as milliseconds; undefined when absent. */
function advisedWaitMs(headers: Headers): number | undefined {
  for (const name of ["retry-after", "ratelimit-reset"]) {
    const raw = headers.get(name);
    if (raw === null) continue;
    const seconds = Number(raw);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(raw);
    if (!Number.isNaN(date)) return Math.max(0, date - Date.now());
  }
  return undefined;
}

function backoffMs(attempt: number): number {
  return Math.min(MAX_WAIT_MS, 250 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
}

/** The vendor's error code: Resend `{name}`, Svix `{code}`, Clerk `{errors: [{code}]}` (the first). */
export function errorName(body: unknown): string | undefined {
  if (!body || typeof body !== "object") return undefined;
  const b = body as { name?: unknown; code?: unknown; errors?: { code?: unknown }[] };
  const name = b.name ?? b.code ?? b.errors?.[0]?.code;
  return typeof name === "string" ? name : undefined;
}

function shouldRetry(res: VendorResponse): boolean {
  if (res.status === 429) return !NOT_RETRYABLE_429.includes(errorName(res.body) ?? "");
  if (res.status === 409) return RETRYABLE_409.includes(errorName(res.body) ?? "");
  return res.status >= 500;
}

/**
 * One vendor request with the retry discipline every provider needs: paced, 429 honours
 * `retry-after`/`ratelimit-reset`, 5xx and network failures back off exponentially, all bounded.
 * Returns the final response whatever its status; callers decide what a 404 or 4xx means.
 */
export async function callVendor(call: VendorCall): Promise<VendorResponse> {
  const url = call.baseUrl.replace(/\/+$/, "") + call.path;
  const headers: Record<string, string> = {
    "user-agent": USER_AGENT,
    accept: "application/json",
    ...call.headers,
  };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  if (call.body !== undefined) headers["content-type"] = "application/json";
  let lastProblem = "";
  let ambiguous = false;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    await waitForSlot(call.vendor);
    let res: VendorResponse;
    try {
      const raw = await fetch(url, {
        method: call.method,
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      const text = await raw.text();
      res = { status: raw.status, body: parseJson(text), headers: raw.headers, ambiguous };
    } catch (err) {
      lastProblem = `network error: ${(err as Error).message}`;
      if (call.retryAmbiguous === false) throw uncertainOutcome(call, lastProblem);
      ambiguous = true;
      await delay(backoffMs(attempt));
      continue;
    }
    if (!shouldRetry(res) || attempt === MAX_ATTEMPTS - 1) return res;
    if (res.status >= 500) {
      if (call.retryAmbiguous === false) throw uncertainOutcome(call, `HTTP ${res.status}`);
      ambiguous = true;
    }
    lastProblem = `HTTP ${res.status}`;
    const advised = advisedWaitMs(res.headers);
    const wait = Math.min(MAX_WAIT_MS, advised ?? backoffMs(attempt));
    if (res.status === 429) holdVendor(call.vendor, wait);
    await delay(wait);
  }
  throw new Error(
    `${call.vendor} could not be reached to ${call.action} after ${MAX_ATTEMPTS} attempts (${lastProblem}). ` +
      `Check ${{ Resend: "RESEND_BASE_URL", Bridge: "the bridge's Function URL" }[call.vendor as string] ?? "the API URL"} ` +
      "and network access, then run again.",
  );
}

function uncertainOutcome(call: VendorCall, problem: string): Error {
  return new Error(
    `${call.vendor} did not confirm the request to ${call.action} (${problem}); it may have been applied. ` +
      "Repeating it could create a duplicate, so it was not retried: check the vendor's dashboard for a " +
      "duplicate, remove it, then run again.",
  );
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The vendor's own explanation of a failed call: Resend `{message}`, Clerk `{errors[]}`, Svix `{detail}`. */
export function vendorMessage(body: unknown): string {
  if (typeof body === "string") return body.slice(0, 300);
  if (!body || typeof body !== "object") return "no error body";
  const b = body as {
    message?: unknown;
    detail?: unknown;
    errors?: { message?: string; long_message?: string; code?: string }[];
  };
  if (Array.isArray(b.errors) && b.errors.length > 0) {
    return b.errors.map((e) => `${e.long_message ?? e.message ?? "error"} [${e.code ?? "?"}]`).join("; ");
  }
  if (typeof b.message === "string") return b.message;
  if (typeof b.detail === "string") return b.detail;
  if (b.detail !== undefined) return JSON.stringify(b.detail).slice(0, 300);
  return JSON.stringify(body).slice(0, 300);
}

/** An Error for a failed call that names the vendor, the action and the vendor's reason, never the credential. */
export function vendorError(call: VendorCall, res: VendorResponse, hint?: string): Error {
  const name = errorName(res.body);
  const reason = [call.token, ...(call.redact ?? [])]
    .filter((secret) => secret !== "")
    .reduce((text, secret) => text.split(secret).join("[redacted]"), vendorMessage(res.body));
  const suffix = hint ? ` ${hint}` : "";
  return new Error(
    `${call.vendor} refused to ${call.action}: HTTP ${res.status}${name ? ` ${name}` : ""}: ${reason}.${suffix}`,
  );
}

/** Calls and throws {@link vendorError} unless the status is 2xx (or listed in `accept`). */
export async function callVendorOk(call: VendorCall, accept: number[] = []): Promise<VendorResponse> {
  const res = await callVendor(call);
  if ((res.status >= 200 && res.status < 300) || accept.includes(res.status)) return res;
  throw vendorError(call, res);
}

/**
 * A read that may find the object gone: `undefined` on 404 (a refresh then drops it from state),
 * the response on 2xx, an error otherwise.
 */
export async function readVendorObject(call: VendorCall): Promise<VendorResponse | undefined> {
  const res = await callVendorOk(call, [404]);
  return res.status === 404 ? undefined : res;
}

/**
 * A credential from stack config (set by `configure()`) or the environment. Read at call time so a
 * key rotated between `up` and `destroy` is picked up; its value never reaches inputs or state.
 */
export function requireCredential(
  configured: string | undefined,
  envName: "RESEND_API_KEY" | "CLERK_SECRET_KEY",
  configKey: "resendApiKey" | "clerkSecretKey",
): string {
  const value = configured || process.env[envName];
  if (value) return value;
  throw new Error(
    `Missing ${envName}: export ${envName}, or run \`pulumi config set --secret auth-email-pipeline:${configKey} <value>\`.`,
  );
}

export function resendBaseUrl(): string {
  return process.env.RESEND_BASE_URL || "https://api.resend.com";
}

export function clerkBaseUrl(): string {
  return process.env.CLERK_API_URL || "https://api.clerk.com";
}

/** The Backend API version these providers were written against; Clerk pins behaviour per version. */
const CLERK_API_VERSION = "2026-05-12";

/** Method, path, what the call is for, and an optional JSON body. */
export type CallRoute = [method: VendorCall["method"], path: string, action: string, body?: unknown];

/** A Resend API call with the key from stack config (`configuredKey`) or RESEND_API_KEY. */
export function resendCall(
  configuredKey: string | undefined,
  ...[method, path, action, body]: CallRoute
): VendorCall {
  const token = requireCredential(configuredKey, "RESEND_API_KEY", "resendApiKey");
  return { vendor: "Resend", method, baseUrl: resendBaseUrl(), path, token, body, action };
}

/** A Clerk Backend API call (`path` without the `/v1` prefix), keyed like {@link resendCall}. */
export function clerkCall(
  configuredKey: string | undefined,
  ...[method, path, action, body]: CallRoute
): VendorCall {
  return {
    vendor: "Clerk",
    method,
    baseUrl: clerkBaseUrl(),
    path: `/v1${path}`,
    token: requireCredential(configuredKey, "CLERK_SECRET_KEY", "clerkSecretKey"),
    body,
    action,
    headers: { "clerk-api-version": CLERK_API_VERSION },
  };
}

/** True when any of the values is the engine's "not known yet" placeholder (skip validation then). */
export function isUnknown(value: unknown): boolean {
  return value === UNKNOWN;
}

/** Same members regardless of order; used to diff event-type and template lists. */
export function sameSet(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const left = [...new Set(a ?? [])].sort();
  const right = [...new Set(b ?? [])].sort();
  return left.length === right.length && left.every((v, i) => v === right[i]);
}
