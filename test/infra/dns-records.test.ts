import { describe, expect, it } from "vitest";
import { cloudflareContent } from "../../infra/dns/cloudflare";
import {
  assignRecords,
  dmarcValue,
  resendRecordFqdn,
  resendSlots,
  unquoteTxt,
} from "../../infra/dns/records";
import { route53Value } from "../../infra/dns/route53";
import { classicResendRecords, DKIM } from "../support/pulumi-program";

describe("Resend records onto fixed slots", () => {
  const slots = resendSlots("auth.example.com", "send");

  it("reads names relative to the zone apex, or as FQDNs", () => {
    expect(resendRecordFqdn("send.auth", "example.com")).toBe("send.auth.example.com");
    expect(resendRecordFqdn("send.auth.example.com.", "example.com")).toBe("send.auth.example.com");
    expect(resendRecordFqdn("@", "example.com")).toBe("example.com");
  });

  it("assigns the classic profile and strips Resend's TXT quoting", () => {
    expect(assignRecords(classicResendRecords(), slots, "example.com")).toEqual({
      dkim: { content: DKIM },
      spfMx: { content: "feedback-smtp.us-east-1.amazonses.com", priority: 10 },
      spfTxt: { content: "v=spf1 include:amazonses.com ~all" },
    });
    expect(unquoteTxt('"v=spf1 " "include:amazonses.com ~all"')).toBe("v=spf1 include:amazonses.com ~all");
  });

  it("fails clearly on a record shape the profile does not expect", () => {
    const cnameSpf = [
      ...classicResendRecords().filter((r) => r.record === "DKIM"),
      {
        record: "SPF",
        name: "send.auth",
        type: "CNAME",
        value: "x.resend-dns.com",
        ttl: "Auto",
        status: "pending",
      },
    ];
    expect(() => assignRecords(cnameSpf, slots, "example.com")).toThrow(
      /unexpected: SPF CNAME send\.auth\n {2}missing: {4}SPF MX send\.auth\.example\.com; SPF TXT send\.auth\.example\.com/,
    );
    const relativeToSubdomain = classicResendRecords().map((r) => ({
      ...r,
      name: r.name.replace(/\.auth$/, ""),
    }));
    expect(() => assignRecords(relativeToSubdomain, slots, "example.com")).toThrow(
      /unexpected: SPF MX send;/,
    );
  });
});

describe("DMARC per stage", () => {
  it.each([
    [{ policy: "none" as const, pct: 100 }, "v=DMARC1; p=none;"],
    [
      { policy: "none" as const, pct: 50, rua: ["d@example.com"] },
      "v=DMARC1; p=none; rua=mailto:d@example.com;",
    ],
    [
      { policy: "quarantine" as const, pct: 25, rua: ["d@example.com", "e@example.com"] },
      "v=DMARC1; p=quarantine; pct=25; rua=mailto:d@example.com,mailto:e@example.com;",
    ],
    [
      { policy: "reject" as const, pct: 100, rua: ["d@example.com"] },
      "v=DMARC1; p=reject; rua=mailto:d@example.com;",
    ],
  ])("%o -> %s", (settings, expected) => {
    expect(dmarcValue(settings)).toBe(expected);
  });
});

describe("provider encodings", () => {
  it("Route53 splits TXT at 255 characters; the provider adds the outer quotes", () => {
    const value = route53Value("TXT", DKIM);
    const parts = value.split('""');
    expect(parts.map((p) => p.length)).toEqual([255, DKIM.length - 255]);
    expect(parts.join("")).toBe(DKIM);
    expect(route53Value("TXT", "v=spf1 include:amazonses.com ~all")).toBe(
      "v=spf1 include:amazonses.com ~all",
    );
    // Route53 counts bytes: a value of two-byte characters splits at 255 bytes, never inside a character.
    const wide = `v=DMARC1; p=none; rua=mailto:${"é".repeat(200)}@example.com;`;
    const wideParts = route53Value("TXT", wide).split('""');
    expect(wideParts.map((p) => Buffer.byteLength(p) <= 255)).toEqual([true, true]);
    expect(wideParts.join("")).toBe(wide);
    expect(route53Value("MX", "feedback-smtp.us-east-1.amazonses.com", 10)).toBe(
      "10 feedback-smtp.us-east-1.amazonses.com",
    );
  });

  it("Cloudflare takes TXT as one quoted string and other types verbatim", () => {
    expect(cloudflareContent("TXT", DKIM)).toBe(`"${DKIM}"`);
    expect(cloudflareContent("MX", "feedback-smtp.us-east-1.amazonses.com")).toBe(
      "feedback-smtp.us-east-1.amazonses.com",
    );
  });
});
