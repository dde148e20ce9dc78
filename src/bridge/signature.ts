import { MIN_WEBHOOK_KEY_BYTES } from "../settings/webhook-secret";
import type { WebhookSource } from "./events";
import { nodeCrypto } from "./node-crypto";
import type { SecretSource, WebhookSecretState } from "./secrets";

/** Svix/Standard Webhooks tolerance: older or newer than this and the message is refused (replay guard). */
const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

/**
 * Svix ids are `msg_` and 27 characters. The id becomes part of a DynamoDB key (at most 2 KB) and of every
 * log line, so anything longer than this, or outside printable ASCII, is refused before it gets there.
 */
export const MAX_SVIX_ID_LENGTH = 256;
const SVIX_ID = new RegExp(`^[\\x21-\\x7e]{1,${MAX_SVIX_ID_LENGTH}}$`);
/** Seconds since the epoch, as Svix writes them: decimal digits, no sign, no leading zero, nothing else. */
const TIMESTAMP = /^[1-9][0-9]{0,11}$/;
/** Canonical base64 of 32 bytes (an HMAC-SHA256): 43 characters, the last with its 2 spare bits zero, then `=`. */
const V1_SIGNATURE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
/** Any versioned entry; versions other than v1 (e.g. Svix's asymmetric `v1a`) are ignored, as the spec says. */
const VERSIONED_ENTRY = /^v[0-9]+[a-z]?,[A-Za-z0-9+/=]+$/;
/** Svix sends one entry per active secret; a header with more is not theirs. */
const MAX_SIGNATURE_ENTRIES = 8;

export type SignatureFailure = "missing_headers" | "malformed_headers" | "stale_timestamp" | "bad_signature";

export interface SvixHeaderValues {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

/** Whether a `svix-id` header can be a Svix message id at all (it is checked before any storage call). */
export function isValidSvixId(id: string): boolean {
  return SVIX_ID.test(id);
}

export class WeakWebhookKeyError extends Error {
  override name = "WeakWebhookKeyError";
}

/**
 * A verifier for one route's keys, decoded once (when the secrets are read), not per request: this check
 * runs on every webhook and is most of the ingest handler's CPU. Same algorithm as Svix and
 * standardwebhooks: HMAC-SHA256 over `${id}.${timestamp}.${body}`; the header holds space-separated
 * `v1,<base64>` values, any match passes. Parsing is stricter than the reference's: a timestamp is plain
 * decimal digits and every entry is well formed (a v1 one exactly 32 bytes of canonical base64), so
 * trailing junk, hex or exponent timestamps and padding tricks are refused rather than tolerated.
 */
export class SvixVerifier {
  private readonly keys: readonly Buffer[];

  /** `keys` come from `parseWebhookSecrets`; an empty list or a short key is a programming error. */
  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0 || keys.some((k) => k.length < MIN_WEBHOOK_KEY_BYTES)) {
      throw new WeakWebhookKeyError(
        `a webhook verifier needs at least one key of ${MIN_WEBHOOK_KEY_BYTES} bytes or more; parse secrets with parseWebhookSecrets`,
      );
    }
    this.keys = keys;
  }

  /** `undefined` when valid, else why not. Never throws and never echoes the secret. */
  verify(body: Buffer | string, headers: SvixHeaderValues, nowMs = Date.now()): SignatureFailure | undefined {
    const { id, timestamp, signature } = headers;
    if (!id || !timestamp || !signature) return "missing_headers";
    if (!isValidSvixId(id) || !TIMESTAMP.test(timestamp)) return "malformed_headers";
    const candidates = v1Signatures(signature);
    if (!candidates) return "malformed_headers";
    if (Math.abs(nowMs / 1000 - Number(timestamp)) > SIGNATURE_TOLERANCE_SECONDS) return "stale_timestamp";
    if (candidates.length === 0) return "bad_signature";

    const { createHmac, timingSafeEqual } = nodeCrypto();
    for (const key of this.keys) {
      const expected = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest();
      for (const candidate of candidates) if (timingSafeEqual(candidate, expected)) return undefined;
    }
    return "bad_signature";
  }
}

/** The v1 signatures of a header, or `undefined` when any entry is malformed. */
function v1Signatures(header: string): Buffer[] | undefined {
  const entries = header.split(" ");
  if (entries.length > MAX_SIGNATURE_ENTRIES) return undefined;
  const signatures: Buffer[] = [];
  for (const entry of entries) {
    if (!VERSIONED_ENTRY.test(entry)) return undefined;
    if (!entry.startsWith("v1,")) continue;
    const encoded = entry.slice(3);
    if (!V1_SIGNATURE.test(encoded)) return undefined;
    signatures.push(Buffer.from(encoded, "base64"));
  }
  return signatures;
}

/** What one route can do with the secrets it has. */
export type RouteAuth =
  | { state: "ready"; verifier: SvixVerifier }
  | { state: "unset" }
  | { state: "invalid"; parameter: string; problems: string[] };

/** Both routes' state, built from one secrets snapshot (`version`). */
export interface RouteAuthSet {
  readonly version: number;
  readonly routes: Readonly<Record<WebhookSource, RouteAuth>>;
}

/** The routes' verifiers, following the secrets as they change. */
export interface WebhookAuth {
  current(): Promise<RouteAuthSet>;
  /** After a refusal under `used`: the routes from newer secrets, or `undefined` (see `SecretSource`). */
  reloadAfter(used: RouteAuthSet): Promise<RouteAuthSet | undefined>;
}

export function routeAuth(secret: WebhookSecretState): RouteAuth {
  switch (secret.state) {
    case "ready":
      return { state: "ready", verifier: new SvixVerifier(secret.keys) };
    case "unset":
      return { state: "unset" };
    case "invalid":
      return { state: "invalid", parameter: secret.parameter, problems: secret.problems };
  }
}

/** Verifiers built once per secrets snapshot: the keys are not decoded again per request. */
export function webhookAuthFrom(source: SecretSource): WebhookAuth {
  let built: RouteAuthSet | undefined;
  const build = (snapshot: Awaited<ReturnType<SecretSource["current"]>>): RouteAuthSet => {
    if (built?.version !== snapshot.version) {
      const { clerk, resend } = snapshot.secrets.webhooks;
      built = { version: snapshot.version, routes: { clerk: routeAuth(clerk), resend: routeAuth(resend) } };
    }
    return built;
  };
  return {
    current: async () => build(await source.current()),
    async reloadAfter(used) {
      const fresh = await source.reloadAfter(used.version);
      return fresh && build(fresh);
    },
  };
}

const ROUTE_NAMES: Record<WebhookSource, string> = { clerk: "Clerk", resend: "Resend" };

const UNSET_FIX: Record<WebhookSource, string> = {
  clerk:
    "register the endpoint in the Clerk Dashboard (the clerkRegistrationSteps stack output), then " +
    "pulumi config set --secret clerkWebhookSigningSecret <whsec_...> and pulumi up",
  resend: "pulumi up creates the Resend webhook and stores its signing secret",
};

const INVALID_FIX: Record<WebhookSource, string> = {
  clerk:
    "set clerkWebhookSigningSecret to the endpoint's Signing Secret from the Clerk Dashboard " +
    "(whsec_ followed by base64) and pulumi up; the ingest function's log names the parameter and the problem",
  resend:
    "pulumi up stores the Resend webhook's signing secret again; the ingest function's log names the " +
    "parameter and the problem",
};

/** Why a route cannot verify, and the fix, in words safe to answer publicly (no parameter, no value). */
export function unreadyReason(
  source: WebhookSource,
  auth: Exclude<RouteAuth, { state: "ready" }>,
): { problem: string; fix: string } {
  const name = ROUTE_NAMES[source];
  return auth.state === "unset"
    ? { problem: `the ${name} webhook signing secret is not set yet`, fix: UNSET_FIX[source] }
    : {
        problem: `the ${name} webhook signing secret is not a valid whsec_ secret`,
        fix: INVALID_FIX[source],
      };
}
