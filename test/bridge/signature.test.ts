import { Webhook as SvixWebhook } from "svix";
import { describe, expect, it } from "vitest";
import { SvixVerifier } from "../../src/bridge/signature";
import { newSigningSecret } from "../../src/sandbox/core/ids";
import { svixHeaders } from "../../src/sandbox/core/svix-dispatcher";

const headersOf = (h: Record<string, string>) => ({
  id: h["svix-id"],
  timestamp: h["svix-timestamp"],
  signature: h["svix-signature"],
});

describe("SvixVerifier", () => {
  const secret = newSigningSecret();
  const body = JSON.stringify({ type: "email.created", data: { id: "ema_1" } });

  it("accepts what standardwebhooks and the svix SDK sign, from a string or a Buffer", () => {
    const verifier = new SvixVerifier([secret]);
    const h = svixHeaders("msg_1", [secret], body);
    expect(verifier.verify(body, headersOf(h))).toBeUndefined();
    expect(verifier.verify(Buffer.from(body), headersOf(h))).toBeUndefined();
    const at = new Date();
    const svixSig = new SvixWebhook(secret).sign("msg_2", at, body);
    const ts = String(Math.floor(at.getTime() / 1000));
    expect(verifier.verify(body, { id: "msg_2", timestamp: ts, signature: svixSig })).toBeUndefined();
  });

  it("matches any of several signatures and any of several secrets", () => {
    const old = newSigningSecret();
    const h = svixHeaders("msg_3", [newSigningSecret(), old], body);
    expect(new SvixVerifier([secret, old]).verify(body, headersOf(h))).toBeUndefined();
    expect(new SvixVerifier([secret]).verify(body, headersOf(h))).toBe("bad_signature");
  });

  it("names why a message is refused", () => {
    const verifier = new SvixVerifier([secret]);
    const h = svixHeaders("msg_4", [secret], body);
    expect(verifier.verify(`${body} `, headersOf(h))).toBe("bad_signature");
    expect(verifier.verify(body, { ...headersOf(h), id: "msg_other" })).toBe("bad_signature");
    expect(verifier.verify(body, { ...headersOf(h), signature: undefined })).toBe("missing_headers");
    expect(verifier.verify(body, { ...headersOf(h), signature: "v2,abc" })).toBe("bad_signature");
    const old = svixHeaders("msg_5", [secret], body, new Date(Date.now() - 301_000));
    expect(verifier.verify(body, headersOf(old))).toBe("stale_timestamp");
    const future = svixHeaders("msg_6", [secret], body, new Date(Date.now() + 301_000));
    expect(verifier.verify(body, headersOf(future))).toBe("stale_timestamp");
    expect(new SvixVerifier([]).verify(body, headersOf(h))).toBe("no_secret");
  });
});
