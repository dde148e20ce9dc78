import { createHash } from "node:crypto";
import type { StandInRequest, StandInResponse } from "../core/server";
import { resendError } from "./errors";

const RETENTION_MS = 24 * 3_600_000;

interface Entry {
  fingerprint: string;
  response?: StandInResponse;
  at: number;
}

/**
 * Resend's `Idempotency-Key` (docs `dashboard/emails/idempotency-keys`): a key is scoped to method and
 * endpoint and kept 24 h. Same key and body → the first answer again, nothing sent twice; a different
 * body → 409 `invalid_idempotent_request`; the first request still running → 409
 * `concurrent_idempotent_requests`. Only successful answers are kept: a rejected request may be retried.
 */
export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  async run(req: StandInRequest, execute: () => Promise<StandInResponse>): Promise<StandInResponse> {
    const value = idempotencyKey(req);
    if (value === undefined) return execute();
    if (value.length < 1 || value.length > 256) {
      return resendError(400, "invalid_idempotency_key", "The key must be between 1-256 chars.");
    }
    const scoped = `${req.method} ${req.path} ${value}`;
    const fingerprint = bodyFingerprint(req.rawBody);
    const existing = this.entries.get(scoped);
    if (existing && Date.now() - existing.at < RETENTION_MS) {
      if (!existing.response) {
        return resendError(
          409,
          "concurrent_idempotent_requests",
          "Same idempotency key used while original request is still in progress. Try the request again later.",
        );
      }
      if (existing.fingerprint !== fingerprint) {
        return resendError(
          409,
          "invalid_idempotent_request",
          "Same idempotency key used with a different request payload. Change your idempotency key or payload.",
        );
      }
      return existing.response;
    }
    const entry: Entry = { fingerprint, at: Date.now() };
    this.entries.set(scoped, entry);
    try {
      const response = await execute();
      if (response.status >= 200 && response.status < 300) entry.response = response;
      else this.entries.delete(scoped);
      return response;
    } catch (err) {
      this.entries.delete(scoped);
      throw err;
    }
  }
}

/** The `Idempotency-Key` header as one string, as the stored email records it. */
export function idempotencyKey(req: StandInRequest): string | undefined {
  const header = req.headers["idempotency-key"];
  return Array.isArray(header) ? header.join(",") : header;
}

/** Compares bodies by content, not bytes: key order and whitespace do not make a "different payload". */
function bodyFingerprint(raw: Buffer): string {
  let canonical: string;
  try {
    canonical = stableStringify(JSON.parse(raw.toString("utf8")));
  } catch {
    canonical = raw.toString("utf8");
  }
  return createHash("sha256").update(canonical).digest("hex");
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
