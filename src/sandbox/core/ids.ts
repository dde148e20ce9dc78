import { randomBytes, randomUUID } from "node:crypto";

/** A UUID, the id format Resend uses for domains, emails and webhooks. */
export const uuid = (): string => randomUUID();

/** A Clerk/Svix-style id: prefix, underscore, 27 base62-ish characters (`user_2abc…`, `msg_2abc…`). */
export function prefixedId(prefix: string): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const bytes = randomBytes(27);
  let out = "";
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return `${prefix}_${out}`;
}

/** A fresh Svix/Standard Webhooks signing secret: `whsec_` + base64 of 24 random bytes. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}
