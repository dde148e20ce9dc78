/**
 * Webhook signing secrets (Svix / Standard Webhooks `whsec_…`), parsed one way for the Pulumi program's config
 * check, the bridge's cold start and the doctor. Pure: no Pulumi, no I/O.
 *
 * A secret is accepted only when it is `whsec_` followed by strict, padded base64 of at least
 * {@link MIN_WEBHOOK_KEY_BYTES} bytes. Node's lenient base64 decoder would turn `whsec_`, `whsec_!!!!` or a
 * placeholder word into an empty or few-byte HMAC key that anyone can compute, so "it decodes" is not enough.
 */

/** Svix issues 24-byte keys (32 base64 characters); anything shorter is not one of theirs. */
export const MIN_WEBHOOK_KEY_BYTES = 24;

/**
 * What the program stores in a webhook-secret parameter before a real secret exists (manual Clerk mode,
 * first `pulumi up`). SSM refuses empty values, so the parameter holds this marker; the bridge reads it as
 * "no secret yet" and answers that route 503 without verifying anything.
 */
export const WEBHOOK_SECRET_UNSET = "unset: register the endpoint, then set its signing secret";

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type WebhookSecretResult = { ok: true; key: Buffer } | { ok: false; problem: string };

/** Parses one secret. The problem text never contains the value. */
export function parseWebhookSecret(value: string): WebhookSecretResult {
  if (!value.startsWith("whsec_")) return { ok: false, problem: 'must start with "whsec_"' };
  const encoded = value.slice("whsec_".length);
  if (!STRICT_BASE64.test(encoded)) {
    return { ok: false, problem: 'must be "whsec_" followed by base64 (A-Z, a-z, 0-9, +, /, = padding)' };
  }
  const key = Buffer.from(encoded, "base64");
  if (key.length < MIN_WEBHOOK_KEY_BYTES) {
    return {
      ok: false,
      problem: `must hold a key of at least ${MIN_WEBHOOK_KEY_BYTES} bytes (it holds ${key.length})`,
    };
  }
  return { ok: true, key };
}

export type WebhookSecretsResult =
  | { state: "ready"; keys: Buffer[] }
  | { state: "unset" }
  | { state: "invalid"; problems: string[] };

/**
 * A parameter's whole value: the unset marker, or one or more whitespace-separated secrets (two during a
 * rotation's overlap). One bad secret makes the whole value invalid: a half-valid list would verify with
 * the good one and hide the mistake until the rotation ends.
 */
export function parseWebhookSecrets(value: string): WebhookSecretsResult {
  const trimmed = value.trim();
  if (trimmed === WEBHOOK_SECRET_UNSET) return { state: "unset" };
  const parts = trimmed.split(/\s+/).filter((part) => part.length > 0);
  if (parts.length === 0) return { state: "invalid", problems: ["is empty"] };
  const keys: Buffer[] = [];
  const problems: string[] = [];
  parts.forEach((part, index) => {
    const parsed = parseWebhookSecret(part);
    if (parsed.ok) keys.push(parsed.key);
    else problems.push(parts.length === 1 ? parsed.problem : `secret ${index + 1} ${parsed.problem}`);
  });
  return problems.length > 0 ? { state: "invalid", problems } : { state: "ready", keys };
}
