/**
 * Webhook payloads → the small jobs the worker runs. This is the "decide" step of ingest: it validates only
 * the fields the bridge uses (hand-written checks keep the bundle small), drops what the bridge ignores, and
 * slims user events to the few fields the worker needs before they go on the queue.
 */
import { misspelledClerkEvent, ownValiditySeconds } from "./clerk-templates";
import { isClerkTestModeEmail } from "./clerk-test-mode";

export type WebhookSource = "clerk" | "resend";

export interface SendJob {
  kind: "send";
  clerkEmailId: string;
  to: string;
  subject: string;
  html: string;
  text?: string;
  slug?: string;
  userId?: string;
  /** When Clerk created the email (and so the code in it), ms since the epoch. */
  createdAtMs: number;
  /** How long the email says it is valid (an invitation's `expires_in_days`), in seconds. */
  validForSeconds?: number;
  /** Clerk's test mode covers it (`+clerk_test`, code 424242): recorded, never sent (clerk-test-mode.ts). */
  clerkTestMode?: true;
}

export interface UserJob {
  kind: "user";
  event: "user.created" | "user.updated";
  userId: string;
  primaryAddress?: string;
  addresses: string[];
  publicMetadata: Record<string, unknown>;
}

export interface UserDeletedJob {
  kind: "user_deleted";
  userId: string;
}

export interface DeliveryJob {
  kind: "delivery";
  type: string;
  /** Every recipient the event is about, bare and deduplicated (an email event's `to`, a suppression's `email`). */
  addresses: string[];
  resendEmailId?: string;
  tags: Record<string, string>;
  /** `Permanent`, `Transient`, `Undetermined`… for bounces; the suppression origin for `suppression.*`. */
  subtype?: string;
  occurredAt: string;
}

export type BridgeJob = SendJob | UserJob | UserDeletedJob | DeliveryJob;

/** What goes on the queue: the job plus what the logs need to correlate it. */
export interface QueueMessage {
  source: WebhookSource;
  svixId: string;
  type: string;
  receivedAt: string;
  job: BridgeJob;
}

export type Decision =
  | { action: "enqueue"; type: string; job: BridgeJob }
  /** `warn`: acknowledged so the sender stops retrying, but something a person should look at. */
  | { action: "ignore"; type: string; reason: string; warn?: true }
  | { action: "reject"; problem: string };

/** Clerk event types the bridge acts on: subscribe the Clerk endpoint to these. */
export const CLERK_EVENTS = ["email.created", "user.created", "user.updated", "user.deleted"] as const;

/**
 * Resend event types the bridge acts on: subscribe the Resend webhook to these. `suppression.added` and
 * `suppression.removed` are in the SDK's `WebhookEvent` union (payload `{id, email, origin, source_id,
 * created_at}`) but not in Resend's OpenAPI webhook list.
 */
export const RESEND_EVENTS = new Set([
  "email.sent",
  "email.delivered",
  "email.delivery_delayed",
  "email.bounced",
  "email.complained",
  "email.suppressed",
  "email.failed",
  "suppression.added",
  "suppression.removed",
]);

/** The tag a canary send carries; {@link isCanarySend} is the one place that reads it. */
export const CANARY_TAG = { name: "canary", value: "true" } as const;

/**
 * Whether a send, or a Resend event about one, is a synthetic canary rather than a user's mail: canaries
 * are not counted in the delivery metrics and never touch the suppression ledger or a user.
 */
export function isCanarySend(tags: Readonly<Record<string, string>>): boolean {
  return tags[CANARY_TAG.name] === CANARY_TAG.value;
}

type Json = Record<string, unknown>;

class PayloadProblem extends Error {}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function str(obj: Json, key: string, path: string): string {
  const v = obj[key];
  if (typeof v !== "string" || v.length === 0)
    throw new PayloadProblem(`${path}.${key} must be a non-empty string`);
  return v;
}

function optStr(obj: Json, key: string, path: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new PayloadProblem(`${path}.${key} must be a string or null`);
  return v;
}

export function decide(source: WebhookSource, payload: unknown): Decision {
  if (!isObject(payload)) return { action: "reject", problem: "body must be a JSON object" };
  const type = payload.type;
  if (typeof type !== "string" || type.length === 0) {
    return { action: "reject", problem: "type must be a non-empty string" };
  }
  if (!isObject(payload.data)) return { action: "reject", problem: "data must be an object" };
  try {
    return source === "clerk"
      ? decideClerk(type, payload, payload.data)
      : decideResend(type, payload, payload.data);
  } catch (err) {
    if (err instanceof PayloadProblem) return { action: "reject", problem: `${type}: ${err.message}` };
    throw err;
  }
}

function decideClerk(type: string, envelope: Json, data: Json): Decision {
  switch (type) {
    case "email.created": {
      if (typeof data.delivered_by_clerk !== "boolean") {
        throw new PayloadProblem("data.delivered_by_clerk must be a boolean");
      }
      // email.created fires for every email; Clerk already delivers those with delivered_by_clerk true.
      if (data.delivered_by_clerk) return { action: "ignore", type, reason: "delivered by Clerk" };
      const clerkEmailId = str(data, "id", "data");
      const slug = optStr(data, "slug", "data");
      // Optional in Clerk's spec. Refusing it would only make Svix retry, for a day, an email nobody can send.
      if (data.to_email_address === undefined || data.to_email_address === null) {
        const template = slug ? ` (template ${slug})` : "";
        const reason = `email ${clerkEmailId}${template} has no to_email_address: nothing to send it to`;
        return { action: "ignore", type, reason, warn: true };
      }
      const to = recipientAddress(str(data, "to_email_address", "data"));
      const userId = optStr(data, "user_id", "data");
      const text = optStr(data, "body_plain", "data");
      const validForSeconds = ownValiditySeconds(data.data);
      return {
        action: "enqueue",
        type,
        job: {
          kind: "send",
          clerkEmailId,
          to,
          subject: str(data, "subject", "data"),
          html: str(data, "body", "data"),
          ...(text ? { text } : {}),
          ...(slug ? { slug } : {}),
          ...(userId ? { userId } : {}),
          createdAtMs: clerkTimestampMs(envelope.timestamp) ?? Date.now(),
          ...(validForSeconds !== undefined ? { validForSeconds } : {}),
          ...(isClerkTestModeEmail(to, data.data) ? { clerkTestMode: true as const } : {}),
        },
      };
    }
    case "user.created":
    case "user.updated": {
      const userId = str(data, "id", "data");
      if (!Array.isArray(data.email_addresses))
        throw new PayloadProblem("data.email_addresses must be an array");
      const primaryId = optStr(data, "primary_email_address_id", "data");
      const addresses: string[] = [];
      let primaryAddress: string | undefined;
      data.email_addresses.forEach((entry, i) => {
        if (!isObject(entry)) throw new PayloadProblem(`data.email_addresses[${i}] must be an object`);
        const address = str(entry, "email_address", `data.email_addresses[${i}]`);
        addresses.push(address);
        if (primaryId && entry.id === primaryId) primaryAddress = address;
      });
      const publicMetadata = isObject(data.public_metadata) ? data.public_metadata : {};
      return {
        action: "enqueue",
        type,
        job: {
          kind: "user",
          event: type,
          userId,
          addresses,
          publicMetadata,
          ...(primaryAddress ? { primaryAddress } : {}),
        },
      };
    }
    case "user.deleted":
      return { action: "enqueue", type, job: { kind: "user_deleted", userId: str(data, "id", "data") } };
    default: {
      const misspelled = misspelledClerkEvent(type);
      if (misspelled) return { action: "reject", problem: misspelled };
      return { action: "ignore", type, reason: "event type not handled by the bridge" };
    }
  }
}

function decideResend(type: string, envelope: Json, data: Json): Decision {
  if (!RESEND_EVENTS.has(type))
    return { action: "ignore", type, reason: "event type not handled by the bridge" };
  const occurredAt = typeof envelope.created_at === "string" ? envelope.created_at : new Date().toISOString();
  const delivery = (job: Omit<DeliveryJob, "kind" | "type" | "occurredAt">): Decision => ({
    action: "enqueue",
    type,
    job: { kind: "delivery", type, occurredAt, ...job },
  });
  if (type.startsWith("suppression.")) {
    const origin = typeof data.origin === "string" ? { subtype: data.origin } : {};
    return delivery({
      addresses: [bareAddress(str(data, "email", "data"), "data.email")],
      tags: {},
      ...origin,
    });
  }
  let subtype: string | undefined;
  if (type === "email.bounced") {
    if (!isObject(data.bounce)) throw new PayloadProblem("data.bounce must be an object");
    subtype = str(data.bounce, "type", "data.bounce");
  }
  return delivery({
    addresses: recipients(data.to),
    resendEmailId: str(data, "email_id", "data"),
    tags: readTags(data.tags),
    ...(subtype ? { subtype } : {}),
  });
}

/** The address Clerk sends to becomes the To header: a line break in it would add headers of its own. */
function recipientAddress(address: string): string {
  if (/[\s<>]/.test(address) || !address.includes("@")) {
    throw new PayloadProblem("data.to_email_address must be a bare email address on one line");
  }
  return address;
}

/** Every address in `data.to`, bare and without repeats: a bounce to several recipients is about each. */
function recipients(to: unknown): string[] {
  if (!Array.isArray(to) || to.length === 0) {
    throw new PayloadProblem("data.to must be a non-empty array of addresses");
  }
  const seen = new Map<string, string>();
  to.forEach((entry, i) => {
    if (typeof entry !== "string") throw new PayloadProblem(`data.to[${i}] must be a string`);
    const address = bareAddress(entry, `data.to[${i}]`);
    if (!seen.has(address.toLowerCase())) seen.set(address.toLowerCase(), address);
  });
  return [...seen.values()];
}

/** `Name <a@b>` → `a@b`; another sender on the team may address mail that way. */
function bareAddress(value: string, path: string): string {
  const address = (/<([^<>]*)>\s*$/.exec(value)?.[1] ?? value).trim();
  if (!/^[^\s@]+@[^\s@]+$/.test(address)) throw new PayloadProblem(`${path} must be an email address`);
  return address;
}

/** Webhooks carry tags as an object; tolerate the send-side `[{name, value}]` form too. */
function readTags(raw: unknown): Record<string, string> {
  const tags: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (const t of raw) if (isObject(t) && typeof t.name === "string") tags[t.name] = String(t.value ?? "");
  } else if (isObject(raw)) {
    for (const [k, v] of Object.entries(raw)) if (typeof v === "string") tags[k] = v;
  }
  return tags;
}

/** Clerk's docs say milliseconds but its examples carry seconds; both are accepted. */
function clerkTimestampMs(value: unknown): number | undefined {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) return undefined;
  return value < 1e12 ? value * 1000 : value;
}
