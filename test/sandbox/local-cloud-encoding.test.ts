import { describe, expect, it } from "vitest";
import {
  DnsEncodingError,
  decodeCloudflareRecord,
  decodeRoute53Record,
  parseCharacterStrings,
} from "../../src/sandbox/local-cloud/dns-records";
import { failedDeployment, TYPES } from "./local-cloud-harness";

const LONG = `p=${"A".repeat(300)}`;

describe("each DNS adapter's encoding, as its provider reads it", () => {
  it("reads RFC 1035 text: quoted strings whole, bare words one string each", () => {
    expect(parseCharacterStrings('"v=spf1 include:amazonses.com ~all"')).toEqual([
      "v=spf1 include:amazonses.com ~all",
    ]);
    expect(parseCharacterStrings("v=spf1 include:amazonses.com ~all")).toEqual([
      "v=spf1",
      "include:amazonses.com",
      "~all",
    ]);
    expect(parseCharacterStrings('"a\\"b" "c"')).toEqual(['a"b', "c"]);
    expect(() => parseCharacterStrings('"open')).toThrow(DnsEncodingError);
  });

  it("Cloudflare: one quoted string of any length is one value; a relative name is refused", () => {
    const base = { type: "TXT", ttl: 300, name: "resend._domainkey.mail.example.com" };
    expect(decodeCloudflareRecord("example.com", { ...base, content: `"${LONG}"` }).values).toEqual([LONG]);
    expect(decodeCloudflareRecord("example.com", { ...base, content: "v=spf1 ~all" }).values).toEqual([
      ["v=spf1", "~all"],
    ]);
    expect(() =>
      decodeCloudflareRecord("example.com", { ...base, name: "resend._domainkey.mail", content: '"x"' }),
    ).toThrow(/needs the FQDN/);
    expect(() => decodeCloudflareRecord("example.com", { ...base, ttl: 30, content: '"x"' })).toThrow(/ttl/);
  });

  it("Route53: the provider quotes an unquoted entry, splits at embedded quotes, and refuses strings over 255 bytes", () => {
    const base = { type: "TXT", ttl: 300, name: "resend._domainkey.mail" };
    const split = decodeRoute53Record("example.com", {
      ...base,
      records: [`${LONG.slice(0, 255)}""${LONG.slice(255)}`],
    });
    expect(split.name).toBe("resend._domainkey.mail.example.com");
    expect(split.values).toEqual([[LONG.slice(0, 255), LONG.slice(255)]]);
    expect(() => decodeRoute53Record("example.com", { ...base, records: [LONG] })).toThrow(
      /CharacterStringTooLong/,
    );
    // Two entries are two records, not one split value.
    expect(decodeRoute53Record("example.com", { ...base, records: ["p=ab", "cd"] }).values).toEqual([
      ["p=ab"],
      ["cd"],
    ]);
    expect(
      decodeRoute53Record("example.com", {
        type: "MX",
        ttl: 300,
        name: "send.mail",
        records: ["10 feedback-smtp.x.com"],
      }).values,
    ).toEqual([{ priority: 10, exchange: "feedback-smtp.x.com" }]);
  });
});

describe("a wrongly encoded record fails Resend's verification, and Clerk keeps delivering", () => {
  it("Cloudflare: an unquoted SPF TXT is served as three strings and the gate fails on it", async () => {
    const { error, sandbox, realizedTypes } = await failedDeployment("cloudflare", (type, name, inputs) =>
      type === TYPES.cloudflareRecord && name === "sending-domain-spf-txt"
        ? { ...inputs, content: String(inputs.content).replace(/^"|"$/g, "") }
        : inputs,
    );
    try {
      expect(error.message).toMatch(/DomainVerification sending-domain-verification failed/);
      expect(error.message).toMatch(/could not verify mail\.example\.com \(status failed\).*SPF TXT/);
      expect(realizedTypes).not.toContain(TYPES.delivery);
      expect(sandbox.clerk.instance.templates.email("verification_code").deliveredByClerk).toBe(true);
    } finally {
      await sandbox.close();
    }
  }, 60_000);

  it("Route53: a DKIM value split into separate records instead of strings of one record fails the gate", async () => {
    const { error, sandbox, realizedTypes } = await failedDeployment("route53", (type, name, inputs) => {
      if (type !== TYPES.route53Record || name !== "sending-domain-dkim") return inputs;
      const value = String((inputs.records as string[])[0]);
      return { ...inputs, records: [value.slice(0, 100), value.slice(100)] };
    });
    try {
      expect(error.message).toMatch(/could not verify mail\.example\.com \(status failed\).*DKIM TXT/);
      expect(realizedTypes).toContain(TYPES.route53Record);
      expect(realizedTypes).not.toContain(TYPES.delivery);
      expect(sandbox.clerk.instance.templates.email("verification_code").deliveredByClerk).toBe(true);
    } finally {
      await sandbox.close();
    }
  }, 60_000);
});
