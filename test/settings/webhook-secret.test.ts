import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  parseWebhookSecret,
  parseWebhookSecrets,
  WEBHOOK_SECRET_UNSET,
} from "../../src/settings/webhook-secret";

const real = `whsec_${randomBytes(24).toString("base64")}`;

describe("parseWebhookSecret", () => {
  it("accepts whsec_ + strict base64 of 24 bytes or more and returns the decoded key", () => {
    const parsed = parseWebhookSecret(real);
    expect(parsed).toEqual({ ok: true, key: Buffer.from(real.slice(6), "base64") });
    expect(parseWebhookSecret(`whsec_${randomBytes(32).toString("base64")}`).ok).toBe(true);
  });

  it.each([
    ["the old placeholder", "unregistered", 'must start with "whsec_"'],
    ["an empty key", "whsec_", "at least 24 bytes (it holds 0)"],
    ["punctuation Node would decode to nothing", "whsec_!!!!", "followed by base64"],
    ["a trivial key", "whsec_AAAA", "at least 24 bytes (it holds 3)"],
    ["a short key", `whsec_${randomBytes(16).toString("base64")}`, "(it holds 16)"],
    ["trailing junk", `${real}!`, "followed by base64"],
    ["url-safe alphabet", `whsec_${"-_".repeat(16)}`, "followed by base64"],
    ["a missing pad", `${real.replace(/=+$/, "")}A`, "followed by base64"],
  ])("refuses %s", (_label, value, problem) => {
    const parsed = parseWebhookSecret(value);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.problem).toContain(problem);
      expect(parsed.problem).not.toContain(value.slice(6) || "unregistered");
    }
  });
});

describe("parseWebhookSecrets", () => {
  it("reads the unset marker as no secret yet", () => {
    expect(parseWebhookSecrets(WEBHOOK_SECRET_UNSET)).toEqual({ state: "unset" });
  });

  it("takes two secrets during a rotation, and refuses the pair when either is weak", () => {
    const next = `whsec_${randomBytes(24).toString("base64")}`;
    const both = parseWebhookSecrets(`${real} ${next}`);
    expect(both.state).toBe("ready");
    if (both.state === "ready") expect(both.keys).toHaveLength(2);
    expect(parseWebhookSecrets(`${real} whsec_AAAA`)).toEqual({
      state: "invalid",
      problems: ["secret 2 must hold a key of at least 24 bytes (it holds 3)"],
    });
  });

  it("refuses an empty value", () => {
    expect(parseWebhookSecrets("  ")).toEqual({ state: "invalid", problems: ["is empty"] });
  });
});
