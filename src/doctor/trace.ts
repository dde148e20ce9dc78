import { Resend } from "resend";
import { DynamoDb } from "../bridge/aws/dynamodb";
import { BridgeStore, normalizeAddress, type SendRecord, type Suppression } from "../bridge/store";
import { bapi, DEFAULT_CLERK_API_URL } from "./clerk";
import { REPORT_SCHEMA_VERSION } from "./report";
import { type Fetched, thrownFailure } from "./types";

/**
 * `doctor trace <address>`: why did this user get nothing? Everything known about one address, read-only:
 * the Clerk users that have it and their `email_status`, the bridge's suppression ledger and Resend's
 * suppression list, and every email Resend sent to it with the bridge's record of it (template, send
 * status, Resend's event timeline). Codes and bodies are never read: Resend's list has no bodies, and its
 * subjects (which carry the code) are dropped.
 */

/** Pages of Resend's email list read (100 each): the address's recent emails, not its whole history. */
const MAX_EMAIL_PAGES = 5;

export interface TraceInputs {
  address: string;
  stack: string;
  resendApiKey: string;
  clerkSecretKey: string;
  resendBaseUrl?: string;
  clerkApiUrl?: string;
  /** The bridge's DynamoDB table (the `tableName` stack output). */
  tableName?: string;
  awsEnv?: Record<string, string | undefined>;
  /** Clerk email ids (`ema_…`) to look up in the ledger even if Resend never got them. */
  clerkEmailIds?: string[];
  timeoutMs: number;
}

export interface TracedEmail {
  resendEmailId?: string;
  clerkEmailId?: string;
  /** When Resend accepted it, or when the bridge decided. */
  at: string;
  slug?: string;
  /** The bridge's decision: sent, failed, suppressed, dropped_stale; absent when the ledger has no record. */
  status?: SendRecord["status"];
  /** Resend's last event for it. */
  lastEvent?: string;
  detail?: string;
  timeline: { type: string; at: string; detail?: string }[];
}

export interface Trace {
  address: string;
  stack: string;
  clerkUsers: Fetched<{ id: string; emailStatus: string | null }[]>;
  bridgeSuppression: Fetched<Suppression | null> | undefined;
  resendSuppression: Fetched<{ origin: string; createdAt: string } | null>;
  emails: Fetched<TracedEmail[]>;
}

type ListedEmail = { id: string; to: string[]; created_at: string; last_event?: string };

async function resendCall<T>(
  fn: (signal: AbortSignal) => Promise<{
    data: T | null;
    error: { statusCode: number | null; name: string; message: string } | null;
  }>,
  timeoutMs: number,
): Promise<Fetched<T | null>> {
  try {
    const { data, error } = await fn(AbortSignal.timeout(timeoutMs));
    if (!error) return { ok: true, value: data };
    if (error.statusCode === 404) return { ok: true, value: null };
    const status = error.statusCode ?? undefined;
    const transient = status === undefined || status === 429 || status >= 500;
    return { ok: false, failure: { transient, status, code: error.name, message: error.message } };
  } catch (err) {
    return { ok: false, failure: thrownFailure(err, timeoutMs) };
  }
}

async function recentEmailsTo(
  resend: Resend,
  address: string,
  timeoutMs: number,
): Promise<Fetched<ListedEmail[]>> {
  const found: ListedEmail[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_EMAIL_PAGES; page++) {
    const listed = await resendCall(
      (signal) =>
        resend.emails.list(after ? { limit: 100, after } : { limit: 100 }, { signal }) as Promise<{
          data: { data: ListedEmail[]; has_more: boolean } | null;
          error: { statusCode: number | null; name: string; message: string } | null;
        }>,
      timeoutMs,
    );
    if (!listed.ok) return listed;
    const items = listed.value?.data ?? [];
    found.push(...items.filter((e) => e.to.some((to) => normalizeAddress(to) === address)));
    if (!listed.value?.has_more || items.length === 0) break;
    after = items.at(-1)?.id;
  }
  return { ok: true, value: found };
}

function traced(listed: ListedEmail | undefined, record: SendRecord | undefined): TracedEmail {
  return {
    ...(listed ? { resendEmailId: listed.id, lastEvent: listed.last_event } : {}),
    ...(record?.resendEmailId ? { resendEmailId: record.resendEmailId } : {}),
    ...(record ? { clerkEmailId: record.clerkEmailId, slug: record.slug, status: record.status } : {}),
    ...(record?.detail ? { detail: record.detail } : {}),
    at: listed?.created_at ?? record?.at ?? "",
    timeline: record?.timeline ?? [],
  };
}

export async function fetchTrace(inputs: TraceInputs): Promise<Trace> {
  const address = normalizeAddress(inputs.address);
  const { timeoutMs } = inputs;
  const resend = new Resend(
    inputs.resendApiKey,
    inputs.resendBaseUrl ? { baseUrl: inputs.resendBaseUrl } : {},
  );
  const store = inputs.tableName
    ? new BridgeStore(
        new DynamoDb({
          env: inputs.awsEnv ?? process.env,
          timeoutMs,
          backoff: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
        }),
        inputs.tableName,
      )
    : undefined;
  const ledger = async <T>(read: () => Promise<T>): Promise<Fetched<T>> => {
    try {
      return { ok: true, value: await read() };
    } catch (err) {
      return { ok: false, failure: { transient: true, message: (err as Error).message } };
    }
  };
  const clerk = {
    apiUrl: inputs.clerkApiUrl ?? DEFAULT_CLERK_API_URL,
    secretKey: inputs.clerkSecretKey,
    timeoutMs,
  };
  const [clerkUsers, bridgeSuppression, resendSuppression, listed] = await Promise.all([
    bapi(clerk, "GET", `/users?email_address=${encodeURIComponent(address)}`, (body) =>
      (Array.isArray(body) ? body : []).map(
        (u: { id: string; public_metadata?: { email_status?: unknown } }) => ({
          id: u.id,
          emailStatus:
            typeof u.public_metadata?.email_status === "string" ? u.public_metadata.email_status : null,
        }),
      ),
    ),
    store ? ledger(async () => (await store.getSuppression(address)) ?? null) : Promise.resolve(undefined),
    resendCall((signal) => resend.suppressions.get(address, { signal }), timeoutMs),
    recentEmailsTo(resend, address, timeoutMs),
  ]);
  let emails: Fetched<TracedEmail[]>;
  if (!listed.ok) emails = listed;
  else {
    const read = await ledger(async () => {
      const fromResend = await Promise.all(
        listed.value.map(async (e) => {
          const clerkEmailId = store ? await store.clerkEmailIdFor(e.id) : undefined;
          return traced(e, clerkEmailId && store ? await store.getSend(clerkEmailId) : undefined);
        }),
      );
      const seen = new Set(fromResend.map((e) => e.clerkEmailId));
      const byId = await Promise.all(
        (inputs.clerkEmailIds ?? [])
          .filter((id) => !seen.has(id))
          .map(async (id) => (store ? await store.getSend(id) : undefined)),
      );
      const extra = byId.filter((r): r is SendRecord => r !== undefined).map((r) => traced(undefined, r));
      return [...fromResend, ...extra].sort((a, b) => a.at.localeCompare(b.at));
    });
    emails = read;
  }
  return {
    address,
    stack: inputs.stack,
    clerkUsers: clerkUsers as Fetched<{ id: string; emailStatus: string | null }[]>,
    bridgeSuppression,
    resendSuppression: resendSuppression.ok
      ? {
          ok: true,
          value: resendSuppression.value
            ? { origin: resendSuppression.value.origin, createdAt: resendSuppression.value.created_at }
            : null,
        }
      : resendSuppression,
    emails,
  };
}

/** One sentence answering "why did this user get nothing?", from what the trace found. */
export function traceVerdict(trace: Trace): string {
  const bridge = trace.bridgeSuppression?.ok ? trace.bridgeSuppression.value : null;
  const resend = trace.resendSuppression.ok ? trace.resendSuppression.value : null;
  if (bridge || resend) {
    const why = bridge
      ? `${bridge.reason} (${bridge.eventType}) since ${bridge.firstAt}`
      : `${resend?.origin} since ${resend?.createdAt}`;
    return `${trace.address} is suppressed: ${why}. The bridge and Resend send it nothing; the Clerk user is flagged email_status=undeliverable so the app can ask for another address.`;
  }
  const emails = trace.emails.ok ? trace.emails.value : [];
  const last = emails.at(-1);
  if (!last) {
    return `no email to ${trace.address} is in Resend's recent emails or the bridge's ledger: Clerk's email.created never reached the bridge, or it never sent (run npm run doctor for the pipeline)`;
  }
  if (last.status && last.status !== "sent") {
    return `the last email (${last.slug ?? "?"} ${last.clerkEmailId ?? ""}) was not sent: ${last.status}${last.detail ? ` (${last.detail})` : ""}`;
  }
  return `the last email (${last.slug ?? "?"}, Resend ${last.resendEmailId ?? "?"}) ended at "${last.lastEvent ?? last.timeline.at(-1)?.type ?? "sent"}"${last.lastEvent === "delivered" ? ": the mailbox accepted it, so look in the user's spam or quarantine folder" : ""}`;
}

const failureText = (f: { ok: false; failure: { status?: number; code?: string; message: string } }) =>
  `could not read (${f.failure.status ? `HTTP ${f.failure.status} ` : ""}${f.failure.code ?? ""} ${f.failure.message})`.replace(
    /\s+/g,
    " ",
  );

export function formatTraceText(trace: Trace): string {
  const lines = [`Trace: ${trace.address} (stack ${trace.stack})`, "", traceVerdict(trace), ""];
  lines.push("Clerk users");
  if (!trace.clerkUsers.ok) lines.push(`  ${failureText(trace.clerkUsers)}`);
  else if (trace.clerkUsers.value.length === 0)
    lines.push("  none has this address (a sign-up that was never completed?)");
  for (const u of trace.clerkUsers.ok ? trace.clerkUsers.value : []) {
    lines.push(`  ${u.id}  email_status: ${u.emailStatus ?? "(not set)"}`);
  }
  lines.push("", "Suppression");
  const b = trace.bridgeSuppression;
  lines.push(
    `  bridge ledger: ${!b ? "not read (pass --outputs with tableName)" : !b.ok ? failureText(b) : b.value ? `${b.value.reason} via ${b.value.eventType}, first ${b.value.firstAt}, last ${b.value.lastAt}` : "none"}`,
  );
  const r = trace.resendSuppression;
  lines.push(
    `  Resend:        ${!r.ok ? failureText(r) : r.value ? `${r.value.origin} since ${r.value.createdAt}` : "none"}`,
  );
  lines.push("", "Emails (oldest first)");
  if (!trace.emails.ok) lines.push(`  ${failureText(trace.emails)}`);
  for (const e of trace.emails.ok ? trace.emails.value : []) {
    const ids = [
      e.clerkEmailId && `Clerk ${e.clerkEmailId}`,
      e.resendEmailId && `Resend ${e.resendEmailId}`,
    ].filter(Boolean);
    lines.push(
      `  ${e.at}  ${e.slug ?? "(template unknown)"}  ${e.status ?? "(no ledger record)"}  ${ids.join(", ")}${e.detail ? `  ${e.detail}` : ""}`,
    );
    for (const t of e.timeline) lines.push(`      ${t.at}  ${t.type}${t.detail ? `  ${t.detail}` : ""}`);
  }
  return `${lines.join("\n")}\n`;
}

const fetchedJson = <T>(f: Fetched<T> | undefined) =>
  !f ? { read: false } : f.ok ? { read: true, value: f.value } : { read: false, error: f.failure.message };

export function formatTraceJson(trace: Trace): string {
  return `${JSON.stringify(
    {
      schemaVersion: REPORT_SCHEMA_VERSION,
      kind: "trace",
      stack: trace.stack,
      address: trace.address,
      verdict: traceVerdict(trace),
      clerkUsers: fetchedJson(trace.clerkUsers),
      bridgeSuppression: fetchedJson(trace.bridgeSuppression),
      resendSuppression: fetchedJson(trace.resendSuppression),
      emails: fetchedJson(trace.emails),
    },
    null,
    2,
  )}\n`;
}
