import { createHmac } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import { isValidSvixId, SvixVerifier, WeakWebhookKeyError } from "../../src/bridge/signature";
import { newSigningSecret } from "../../src/sandbox/core/ids";
import { svixHeaders } from "../../src/sandbox/core/svix-dispatcher";
import { parseWebhookSecret } from "../../src/settings/webhook-secret";

const headersOf = (h: Record<string, string>) => ({
  id: h["svix-id"],
  timestamp: h["svix-timestamp"],
  signature: h["svix-signature"],
});

const keyOf = (secret: string) => {
  const parsed = parseWebhookSecret(secret);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.key;
};

/** Signs over the exact header strings given, so malformed headers carry a signature that would match. */
function signRaw(key: Buffer, id: string, timestamp: string, body: string): string {
  return createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
}

describe("SvixVerifier", () => {
  const secret = newSigningSecret();
  const key = keyOf(secret);
  const body = JSON.stringify({ type: "email.created", data: { id: "ema_1" } });
  const now = () => String(Math.floor(Date.now() / 1000));

  it("accepts what standardwebhooks and the svix SDK sign, from a string or a Buffer", () => {
    const verifier = new SvixVerifier([key]);
    const h = svixHeaders("msg_1", [secret], body);
    expect(verifier.verify(body, headersOf(h))).toBeUndefined();
    expect(verifier.verify(Buffer.from(body), headersOf(h))).toBeUndefined();
    const at = new Date();
    const svixSig = new SvixWebhook(secret).sign("msg_2", at, body);
    const ts = String(Math.floor(at.getTime() / 1000));
    expect(verifier.verify(body, { id: "msg_2", timestamp: ts, signature: svixSig })).toBeUndefined();
    // And standardwebhooks accepts what it signed, so both sides agree on the algorithm.
    expect(() =>
      new StandardWebhook(secret).verify(body, {
        "webhook-id": "msg_2",
        "webhook-timestamp": ts,
        "webhook-signature": svixSig,
      }),
    ).not.toThrow();
  });

  it("matches any of several signatures and any of several keys, ignoring other signature versions", () => {
    const old = newSigningSecret();
    const h = svixHeaders("msg_3", [newSigningSecret(), old], body);
    expect(new SvixVerifier([key, keyOf(old)]).verify(body, headersOf(h))).toBeUndefined();
    expect(new SvixVerifier([key]).verify(body, headersOf(h))).toBe("bad_signature");
    const mine = svixHeaders("msg_3", [secret], body);
    const withV1a = `v1a,${Buffer.alloc(64, 7).toString("base64")} ${mine["svix-signature"]}`;
    expect(new SvixVerifier([key]).verify(body, { ...headersOf(mine), signature: withV1a })).toBeUndefined();
  });

  it("names why a message is refused", () => {
    const verifier = new SvixVerifier([key]);
    const h = svixHeaders("msg_4", [secret], body);
    expect(verifier.verify(`${body} `, headersOf(h))).toBe("bad_signature");
    expect(verifier.verify(body, { ...headersOf(h), id: "msg_other" })).toBe("bad_signature");
    expect(verifier.verify(body, { ...headersOf(h), signature: undefined })).toBe("missing_headers");
    expect(verifier.verify(body, { ...headersOf(h), signature: "v2,abc" })).toBe("bad_signature");
    const old = svixHeaders("msg_5", [secret], body, new Date(Date.now() - 301_000));
    expect(verifier.verify(body, headersOf(old))).toBe("stale_timestamp");
    const future = svixHeaders("msg_6", [secret], body, new Date(Date.now() + 301_000));
    expect(verifier.verify(body, headersOf(future))).toBe("stale_timestamp");
  });

  it("refuses timestamps that are not plain decimal seconds, even when signed over exactly that text", () => {
    const verifier = new SvixVerifier([key]);
    const seconds = Number(now());
    for (const timestamp of [
      `0x${seconds.toString(16)}`,
      `${seconds / 1e9}e9`,
      ` ${seconds}`,
      `${seconds} `,
      `${seconds}\n`,
      `${seconds}abc`,
      `+${seconds}`,
      `0${seconds}`,
      `${seconds}.0`,
    ]) {
      const signature = `v1,${signRaw(key, "msg_ts", timestamp, body)}`;
      expect(verifier.verify(body, { id: "msg_ts", timestamp, signature }), JSON.stringify(timestamp)).toBe(
        "malformed_headers",
      );
    }
  });

  it("refuses signature headers with trailing junk, non-canonical base64 or the wrong length", () => {
    const verifier = new SvixVerifier([key]);
    const timestamp = now();
    const good = signRaw(key, "msg_sig", timestamp, body);
    const check = (signature: string) => verifier.verify(body, { id: "msg_sig", timestamp, signature });
    expect(check(`v1,${good}`)).toBeUndefined();
    const sameBytesOtherText = `${good.slice(0, 42)}${String.fromCharCode(good.charCodeAt(42) + 1)}=`;
    expect(Buffer.from(sameBytesOtherText, "base64").equals(Buffer.from(good, "base64"))).toBe(true);
    for (const signature of [
      `v1,${good}junk`,
      `v1,${good}=`,
      `v1,${good} junk`,
      `v1,${good} `,
      ` v1,${good}`,
      `v1,${good}  v1,${good}`,
      `v1,${good.slice(0, -1)}`,
      `v1,${sameBytesOtherText}`,
      `v1,${Buffer.concat([Buffer.from(good, "base64"), Buffer.alloc(1)]).toString("base64")}`,
      Array.from({ length: 9 }, () => `v1,${good}`).join(" "),
    ]) {
      expect(check(signature), signature).toBe("malformed_headers");
    }
  });

  it("takes parsed keys only: no key, or a key shorter than a Svix secret's, is refused at construction", () => {
    expect(() => new SvixVerifier([])).toThrow(WeakWebhookKeyError);
    for (const weak of ["unregistered", "", "AAAA"]) {
      expect(() => new SvixVerifier([Buffer.from(weak, "base64")])).toThrow(WeakWebhookKeyError);
    }
  });

  it("accepts svix-ids of printable ASCII up to 256 characters", () => {
    expect(isValidSvixId("msg_2Z4xYv1Wc8Q0pNoMqLr3sTuVwXy")).toBe(true);
    expect(isValidSvixId("x".repeat(256))).toBe(true);
    for (const bad of ["", "x".repeat(257), "msg 1", "msg_\u00e9", "msg_\n", "msg_\u0000"]) {
      expect(isValidSvixId(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});
