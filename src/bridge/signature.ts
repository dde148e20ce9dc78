import { nodeCrypto } from "./node-crypto";
import type { SecretSource } from "./secrets";

/** Svix/Standard Webhooks tolerance: older or newer than this and the message is refused (replay guard). */
const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

export type SignatureFailure = "missing_headers" | "stale_timestamp" | "bad_signature" | "no_secret";

export interface SvixHeaderValues {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

/**
 * A verifier for one set of `whsec_` secrets. The keys are decoded once (at cold start), not per request:
 * this check runs on every webhook and is most of the ingest handler's CPU.
 * Same algorithm as Svix and standardwebhooks: HMAC-SHA256 over `${id}.${timestamp}.${body}`, keyed with the
 * base64 secret minus `whsec_`; the header holds space-separated `v1,<base64>` values, any match passes.
 */
export class SvixVerifier {
  private readonly keys: Buffer[];

  constructor(secrets: string[]) {
    this.keys = secrets.map((s) => Buffer.from(s.startsWith("whsec_") ? s.slice(6) : s, "base64"));
  }

  /** `undefined` when valid, else why not. Never throws and never echoes the secret. */
  verify(body: Buffer | string, headers: SvixHeaderValues, nowMs = Date.now()): SignatureFailure | undefined {
    if (this.keys.length === 0) return "no_secret";
    const { id, timestamp, signature } = headers;
    if (!id || !timestamp || !signature) return "missing_headers";
    const seconds = Number(timestamp);
    if (!Number.isInteger(seconds)) return "missing_headers";
    if (Math.abs(nowMs / 1000 - seconds) > SIGNATURE_TOLERANCE_SECONDS) return "stale_timestamp";

    const candidates: Buffer[] = [];
    for (const part of signature.split(" ")) {
      const comma = part.indexOf(",");
      if (comma < 0 || part.slice(0, comma) !== "v1") continue;
      candidates.push(Buffer.from(part.slice(comma + 1), "base64"));
    }
    if (candidates.length === 0) return "bad_signature";

    const { createHmac, timingSafeEqual } = nodeCrypto();
    for (const key of this.keys) {
      const expected = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest();
      for (const candidate of candidates) {
        if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return undefined;
      }
    }
    return "bad_signature";
  }
}

/** Verifiers built once per set of secrets: the key decoding is not repeated per request. */
export function verifiersFrom(
  secrets: SecretSource,
): () => Promise<Record<"clerk" | "resend", SvixVerifier>> {
  let built: Promise<Record<"clerk" | "resend", SvixVerifier>> | undefined;
  return () => {
    built ??= secrets().then(
      (s) => ({
        clerk: new SvixVerifier(s.clerkWebhookSecrets),
        resend: new SvixVerifier(s.resendWebhookSecrets),
      }),
      (err: unknown) => {
        built = undefined;
        throw err;
      },
    );
    return built;
  };
}
