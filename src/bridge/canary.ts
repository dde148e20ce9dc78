/**
 * The bridge's side of the deployment canary (infra/providers/canary.ts). The Pulumi program proves each
 * change of the pipeline by sending one signed, synthetic `email.created` to `delivered@resend.dev` through
 * the deployed ingest, and cuts Clerk over only once the bridge reports that Resend accepted it. Here:
 * - how a canary job is recognised (its Clerk email id and recipient); the send job then tags it with
 *   `CANARY_TAG` (`canary=true`, events.ts), and `isCanarySend` there is what metrics and the ledger read to
 *   tell it from users' mail;
 * - the worker recording each canary's outcome (accepted, refused and why, retrying, could not start);
 * - `GET /canary/<clerk email id>`, which answers that outcome to whoever holds the Clerk webhook signing secret.
 *
 * The status answer carries no personal data: status, Resend email id, timestamps and a failure reason.
 * The signature helpers use Web Crypto only, because the Pulumi provider that calls the route is serialized
 * with everything it references.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, SQSEvent } from "aws-lambda";
import { parseWebhookSecrets } from "../settings/webhook-secret";
import { DynamoDb } from "./aws/dynamodb";
import type { EmailSender, SendOutcome } from "./email-sender";
import type { QueueMessage, SendJob } from "./events";
import { BRIDGE_PATHS } from "./routes";
import type { RecordVerdict, SendItem } from "./send-group";
import type { SendDeps } from "./send-job";
import type { RouteAuthSet, WebhookAuth } from "./signature";
import type { SendRecord } from "./store";

/** Resend's test inbox that accepts and "delivers" without reaching anyone. */
export const CANARY_RECIPIENT = "delivered@resend.dev";

/**
 * Canary ids are `ema_canary_<hex>`. Clerk's own email ids are `ema_` and one run of letters and digits,
 * so no real email can pass for a canary.
 */
export const CANARY_EMAIL_ID_PREFIX = "ema_canary_";
const CANARY_EMAIL_ID = /^ema_canary_[0-9a-f]{16,64}$/;

/** `v1,<base64 HMAC-SHA256 over the Clerk email id>` per key, keyed as {@link canaryStatusSignature} says. */
export const CANARY_SIGNATURE_HEADER = "x-canary-signature";

/** Separates the status key from the webhook key it is derived from: one can never stand in for the other. */
const STATUS_KEY_CONTEXT = "auth-email-pipeline/canary-status/v1";

/** A canary is read within minutes of its send; two days leaves room to look at a failed one. */
const RECORD_TTL_SECONDS = 2 * 24 * 3600;

export type CanaryState = "retrying" | "accepted" | "failed";

/** What the status route answers. `pending`: the worker has not recorded anything yet. */
export interface CanaryStatus {
  clerkEmailId: string;
  status: CanaryState | "pending";
  resendEmailId?: string;
  reason?: string;
  updatedAt?: string;
}

export function isCanaryEmailId(id: string): boolean {
  return CANARY_EMAIL_ID.test(id);
}

/** Both marks are required: a canary id addressed to anyone else is sent and counted as ordinary mail. */
export function isCanarySendJob(job: Pick<SendJob, "clerkEmailId" | "to">): boolean {
  return isCanaryEmailId(job.clerkEmailId) && job.to.trim().toLowerCase() === CANARY_RECIPIENT;
}

/**
 * The HMAC keys of a Clerk webhook secret parameter's value, parsed as ingest parses it
 * (`parseWebhookSecrets`): one `whsec_` secret, or two during a rotation's overlap. The unset marker or an
 * invalid value is an error naming the problem, never the value: the canary must not run on either.
 */
export function canaryWebhookKeys(clerkWebhookSecret: string): Uint8Array[] {
  const parsed = parseWebhookSecrets(clerkWebhookSecret);
  if (parsed.state === "unset") {
    throw new Error("the Clerk webhook signing secret is not set yet (the bridge's unset marker)");
  }
  if (parsed.state === "invalid") {
    throw new Error(`the Clerk webhook signing secret is unusable: ${parsed.problems.join("; ")}`);
  }
  return parsed.keys;
}

async function hmacSha256(key: Uint8Array, message: string): Promise<Uint8Array> {
  const imported = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", imported, new TextEncoder().encode(message)));
}

/** `v1,<base64>` for each key, space-separated: the form Svix uses when more than one secret is active. */
async function signedWithEach(keys: readonly Uint8Array[], sign: (key: Uint8Array) => Promise<Uint8Array>) {
  const entries = await Promise.all(
    keys.map(async (key) => `v1,${Buffer.from(await sign(key)).toString("base64")}`),
  );
  return entries.join(" ");
}

/** One entry of {@link canaryStatusSignature}: HMAC over the id, keyed with a key derived from the webhook key. */
async function statusMac(webhookKey: Uint8Array, clerkEmailId: string): Promise<Uint8Array> {
  return hmacSha256(await hmacSha256(webhookKey, STATUS_KEY_CONTEXT), clerkEmailId);
}

/**
 * The status route's credential for one canary: an HMAC over its Clerk email id, keyed with a key derived
 * from the Clerk webhook signing key, one `v1,` entry per secret in the value (two during a rotation). The
 * program and the bridge already share that secret, and whoever holds it can already post `email.created` to
 * the bridge, so reading a canary's outcome grants nothing more.
 */
export async function canaryStatusSignature(
  clerkWebhookSecret: string,
  clerkEmailId: string,
): Promise<string> {
  return signedWithEach(canaryWebhookKeys(clerkWebhookSecret), (key) => statusMac(key, clerkEmailId));
}

/**
 * The `svix-signature` value Clerk's Svix would send: `v1,<base64 HMAC-SHA256 over "<id>.<timestamp>.<body>">`
 * for each secret in the value (Svix signs with the old and the new secret during a rotation); the canary
 * signs its `email.created` with it.
 */
export async function svixSignature(
  clerkWebhookSecret: string,
  svixId: string,
  timestampSeconds: number,
  body: string,
): Promise<string> {
  return signedWithEach(canaryWebhookKeys(clerkWebhookSecret), (key) =>
    hmacSha256(key, `${svixId}.${timestampSeconds}.${body}`),
  );
}

/** Svix sends at most a few entries; a header with more is not the canary's. */
const MAX_SIGNATURE_ENTRIES = 8;

/** Constant-time check of every `v1,` entry against every key the bridge holds (two during a rotation). */
async function signatureMatches(
  keys: readonly Uint8Array[],
  clerkEmailId: string,
  header: string,
): Promise<boolean> {
  const given = header
    .split(" ")
    .filter((entry) => entry.startsWith("v1,"))
    .map((entry) => new TextEncoder().encode(entry.slice(3)));
  if (given.length === 0 || given.length > MAX_SIGNATURE_ENTRIES) return false;
  let matched = false;
  for (const key of keys) {
    const expected = new TextEncoder().encode(
      Buffer.from(await statusMac(key, clerkEmailId)).toString("base64"),
    );
    for (const candidate of given) {
      let diff = expected.length ^ candidate.length;
      for (let i = 0; i < expected.length; i++) diff |= expected[i]! ^ (candidate[i] ?? 0);
      matched ||= diff === 0;
    }
  }
  return matched;
}

/** The partition-key prefix of canary outcomes; ingest's role may read only these besides its claims. */
export const CANARY_KEY_PREFIX = "canary#";

/** Canary outcomes in the bridge table: `canary#<clerk email id>` / `canary`. */
export class CanaryRecords {
  constructor(
    private readonly db: Pick<DynamoDb, "get" | "put">,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async record(
    clerkEmailId: string,
    outcome: { status: CanaryState; resendEmailId?: string; reason?: string },
  ): Promise<void> {
    await this.db.put(this.tableName, {
      ...key(clerkEmailId),
      clerkEmailId,
      status: outcome.status,
      ...(outcome.resendEmailId ? { resendEmailId: outcome.resendEmailId } : {}),
      ...(outcome.reason ? { reason: outcome.reason.slice(0, 500) } : {}),
      updatedAt: new Date(this.now()).toISOString(),
      expiresAt: Math.floor(this.now() / 1000) + RECORD_TTL_SECONDS,
    });
  }

  async read(clerkEmailId: string): Promise<CanaryStatus | undefined> {
    const item = await this.db.get(this.tableName, key(clerkEmailId));
    if (!item) return undefined;
    const text = (name: string) => (typeof item[name] === "string" ? { [name]: item[name] as string } : {});
    return {
      clerkEmailId,
      status: item.status as CanaryState,
      ...text("resendEmailId"),
      ...text("reason"),
      ...text("updatedAt"),
    };
  }
}

function key(clerkEmailId: string): { pk: string; sk: string } {
  return { pk: `${CANARY_KEY_PREFIX}${clerkEmailId}`, sk: "canary" };
}

export interface CanaryStatusRouteDeps {
  records: Pick<CanaryRecords, "read">;
  /** Ingest's view of its webhook secrets: the Clerk route's keys, re-read as they age or are refused. */
  auth: WebhookAuth;
}

export type CanaryStatusRoute = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * `GET /canary/<clerk email id>` with {@link CANARY_SIGNATURE_HEADER}. 404 for anything that is not a
 * canary id, 503 while the Clerk route has no usable webhook secret (unset or invalid, as ingest reads it),
 * 401 for a wrong signature, else 200 with the {@link CanaryStatus}. A signature that matches none of the
 * keys held re-reads the secrets once (rate-limited, as ingest does): the canary may sign with a secret the
 * program has just rotated in.
 */
export function createCanaryStatusRoute(deps: CanaryStatusRouteDeps): CanaryStatusRoute {
  return async (event) => {
    const method = event.requestContext?.http?.method ?? "GET";
    const id = (event.rawPath ?? "").slice(BRIDGE_PATHS.canary.length);
    if (method !== "GET") return json(405, { error: `use GET ${BRIDGE_PATHS.canary}<id>` });
    if (!isCanaryEmailId(id)) return json(404, { error: `no canary ${id}` });
    let auth: RouteAuthSet;
    try {
      auth = await deps.auth.current();
    } catch {
      return json(503, { error: "the bridge could not read its webhook signing secrets" });
    }
    const route = auth.routes.clerk;
    if (route.state !== "ready") {
      return json(503, { error: "the bridge has no usable Clerk webhook signing secret" });
    }
    const header = event.headers?.[CANARY_SIGNATURE_HEADER] ?? "";
    let matched = await signatureMatches(route.keys, id, header);
    if (!matched) {
      const fresh = (await deps.auth.reloadAfter(auth).catch(() => undefined))?.routes.clerk;
      if (fresh?.state === "ready") matched = await signatureMatches(fresh.keys, id, header);
    }
    if (!matched) return json(401, { error: "canary signature rejected" });
    const status: CanaryStatus = (await deps.records.read(id)) ?? { clerkEmailId: id, status: "pending" };
    return json(200, status);
  };
}

function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

/** The worker's send step (`processSends`), passed in so this module and the send path do not import each other. */
export type SendStep = (items: SendItem[], deps: SendDeps) => Promise<Map<string, RecordVerdict>>;

type CanaryOutcome = { status: CanaryState; resendEmailId?: string; reason?: string };

/**
 * A canary goes through the worker's ordinary send step (pre-send checks, the pacing schedule, Resend with the
 * deployed key and sender), alone: in a batch with users' mail its verdict would be the batch's. This records
 * what became of it, in the words the canary reports, and returns its SQS record's verdict. A failure that SQS
 * will retry is recorded as `retrying` with its cause.
 */
export async function processCanarySend(
  item: SendItem,
  deps: SendDeps,
  records: CanaryRecords,
  send: SendStep,
): Promise<RecordVerdict> {
  const id = item.job.clerkEmailId;
  let last: SendOutcome | undefined;
  const watched: EmailSender = {
    async send(email, idempotencyKey) {
      last = await deps.email.send(email, idempotencyKey);
      return last;
    },
    // Sent alone, a canary is one POST /emails; a batch would not be the canary's.
    sendBatch: (emails, idempotencyKey) => deps.email.sendBatch(emails, idempotencyKey),
  };
  let verdict: RecordVerdict;
  try {
    verdict = (await send([item], { ...deps, email: watched })).get(item.messageId) ?? {
      kind: "retry",
      reason: "no outcome",
    };
  } catch (err) {
    verdict = { kind: "retry", reason: `${(err as Error).name}: ${(err as Error).message}` };
  }
  if (verdict.kind === "retry") {
    if (last && !last.ok && isRefusal(last)) {
      // A refusal users' mail waits out in the queue (a revoked key, say) is the canary's verdict: the pipeline
      // cannot deliver now. Recorded and acknowledged; a retry would only send the canary again.
      await records.record(id, { status: "failed", reason: `Resend refused: ${resendProblem(last)}` });
      return { kind: "done" };
    }
    const cause = last && !last.ok ? resendProblem(last) : verdict.reason;
    await records.record(id, { status: "retrying", reason: `${cause}; SQS will redeliver it` });
    return verdict;
  }
  await records.record(id, outcomeOf(await deps.store.getSend(id), last));
  return verdict;
}

/** Resend answered the request and refused it: a 4xx other than rate limits and "try again shortly" conflicts. */
function isRefusal(outcome: Extract<SendOutcome, { ok: false }>): boolean {
  const status = outcome.status;
  return status !== null && status >= 400 && status < 500 && status !== 429 && status !== 409;
}

/** The canary's send record, written by the send path (now or by an earlier delivery), in the canary's words. */
function outcomeOf(record: SendRecord | undefined, last: SendOutcome | undefined): CanaryOutcome {
  switch (record?.status) {
    case "sent": {
      const resendEmailId = record.resendEmailId ?? (last?.ok ? last.id : undefined);
      return { status: "accepted", ...(resendEmailId ? { resendEmailId } : {}) };
    }
    case "failed":
      return {
        status: "failed",
        reason: `Resend refused: ${last && !last.ok ? resendProblem(last) : (record.detail ?? "failed")}`,
      };
    case "suppressed":
      return { status: "failed", reason: `${CANARY_RECIPIENT} is on the bridge's suppression ledger` };
    case "test_mode":
      return { status: "failed", reason: "Clerk's test mode covers its recipient: recorded, never sent" };
    case "dropped_stale":
      return {
        status: "failed",
        reason: "the worker dropped it as older than the code lifetime: it waited too long in the queue",
      };
    case undefined:
      return { status: "failed", reason: "the worker acknowledged it without recording an outcome" };
  }
}

function resendProblem(outcome: Extract<SendOutcome, { ok: false }>): string {
  const status = outcome.status === null ? "no answer" : `HTTP ${outcome.status}`;
  return `${status} ${outcome.name}${outcome.message ? `: ${outcome.message}` : ""}`;
}

/**
 * The worker could not start (its configuration or secrets): every canary in the batch is recorded as
 * failed with that cause, so the canary names it instead of timing out. Best effort: when the table itself
 * is unknown or unreachable there is nowhere to record it, and the canary's timeout says to read the logs.
 */
export async function recordCanaryStartFailure(
  event: SQSEvent,
  error: unknown,
  env: Record<string, string | undefined>,
): Promise<void> {
  const tableName = env.BRIDGE_TABLE_NAME?.trim();
  if (!tableName) return;
  const canaries = (event.Records ?? []).map((r) => canaryJobIn(r.body)).filter((j) => j !== undefined);
  if (canaries.length === 0) return;
  const { name, message } = error as Error;
  const reason =
    name === "SecretsError"
      ? `worker could not read its secrets: ${message}`
      : name === "BridgeConfigError"
        ? `worker configuration is invalid: ${message}`
        : `worker could not start: ${name}: ${message}`;
  const records = new CanaryRecords(new DynamoDb({ env }), tableName);
  await Promise.all(
    canaries.map((job) => records.record(job.clerkEmailId, { status: "failed", reason })),
  ).catch(() => undefined);
}

function canaryJobIn(body: string): SendJob | undefined {
  try {
    const job = (JSON.parse(body) as QueueMessage).job;
    return job?.kind === "send" && isCanarySendJob(job) ? job : undefined;
  } catch {
    return undefined;
  }
}
