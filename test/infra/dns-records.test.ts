import { describe, expect, it } from "vitest";
import { cloudflareContent } from "../../infra/dns/cloudflare";
import {
  issuedProfile,
  profileSlots,
  RECORD_PROFILES,
  type RecordProfile,
  RecordProfileMismatchError,
  UnexpectedRecordsError,
  writeOrder,
} from "../../infra/dns/profiles";
import {
  assignRecords,
  dmarcValue,
  type RecordPlan,
  resendRecordFqdn,
  unquoteTxt,
} from "../../infra/dns/records";
import { route53Value } from "../../infra/dns/route53";
import {
  classicResendRecords,
  cnameResendRecords,
  cnameReturnPathRecords,
  DKIM,
  DKIM_SELECTORS,
  dkimCnameRecords,
} from "../support/pulumi-program";

const DOMAIN = "auth.example.com";
const plan = (profile: RecordProfile, returnPath = "send"): RecordPlan => ({
  profile,
  sendingDomain: DOMAIN,
  slots: profileSlots(profile, DOMAIN, returnPath),
});
const classicSpf = () => classicResendRecords().filter((r) => r.record === "SPF");
const RECORDS: Record<RecordProfile, () => ReturnType<typeof classicResendRecords>> = {
  classic: () => classicResendRecords(),
  cname: () => cnameResendRecords(),
  "classic-dkim-cname": () => [...classicSpf(), ...dkimCnameRecords()],
  "cname-dkim-cname": () => [...cnameReturnPathRecords(), ...dkimCnameRecords()],
};

describe("record profiles: fixed slots per shape", () => {
  it("names each profile's slots, types and record names from the settings alone", () => {
    const shape = (profile: RecordProfile, returnPath = "send") =>
      profileSlots(profile, DOMAIN, returnPath).map((s) => [s.id, s.resendRecord, s.type, s.fqdn ?? "?"]);
    expect(shape("classic")).toEqual([
      ["dkim", "DKIM", "TXT", "resend._domainkey.auth.example.com"],
      ["spf-mx", "SPF", "MX", "send.auth.example.com"],
      ["spf-txt", "SPF", "TXT", "send.auth.example.com"],
    ]);
    expect(shape("cname", "bounce")).toEqual([
      ["dkim", "DKIM", "TXT", "resend._domainkey.auth.example.com"],
      ["spf-mx", "SPF", "CNAME", "bounce.auth.example.com"],
      ["spf-txt", "SPF", "CNAME", "rbounce.auth.example.com"],
    ]);
    expect(shape("cname-dkim-cname")).toEqual([
      ["dkim", "DKIM", "CNAME", "?"],
      ["dkim-2", "DKIM", "CNAME", "?"],
      ["dkim-3", "DKIM", "CNAME", "?"],
      ["spf-mx", "SPF", "CNAME", "send.auth.example.com"],
      ["spf-txt", "SPF", "CNAME", "rsend.auth.example.com"],
    ]);
  });

  it("writes the slot that frees the return-path name before the one that needs it alone", () => {
    // classic → cname: spf-txt (TXT at send) is replaced by the CNAME at rsend before the CNAME at send.
    expect(writeOrder(profileSlots("cname", DOMAIN, "send")).map((s) => s.id)).toEqual([
      "dkim",
      "spf-txt",
      "spf-mx",
    ]);
    // cname → classic: spf-mx (the CNAME at send) becomes the MX before a TXT may join it.
    expect(writeOrder(profileSlots("classic", DOMAIN, "send")).map((s) => s.id)).toEqual([
      "dkim",
      "spf-mx",
      "spf-txt",
    ]);
  });

  it("tells each shape of Resend's answer apart, and no shape from a mixed one", () => {
    for (const profile of RECORD_PROFILES) expect(issuedProfile(RECORDS[profile]()), profile).toBe(profile);
    expect(
      issuedProfile([...cnameReturnPathRecords().slice(0, 1), ...classicResendRecords()]),
    ).toBeUndefined();
    expect(issuedProfile(classicSpf())).toBeUndefined();
  });
});

describe("Resend records onto fixed slots", () => {
  it("reads names relative to the zone apex, or as FQDNs", () => {
    expect(resendRecordFqdn("send.auth", "example.com")).toBe("send.auth.example.com");
    expect(resendRecordFqdn("send.auth.example.com.", "example.com")).toBe("send.auth.example.com");
    expect(resendRecordFqdn("@", "example.com")).toBe("example.com");
  });

  it("assigns the classic profile and strips Resend's TXT quoting", () => {
    expect(assignRecords(classicResendRecords(), plan("classic"), "example.com")).toEqual({
      dkim: { fqdn: "resend._domainkey.auth.example.com", content: DKIM },
      "spf-mx": {
        fqdn: "send.auth.example.com",
        content: "feedback-smtp.us-east-1.amazonses.com",
        priority: 10,
      },
      "spf-txt": { fqdn: "send.auth.example.com", content: "v=spf1 include:amazonses.com ~all" },
    });
    expect(unquoteTxt('"v=spf1 " "include:amazonses.com ~all"')).toBe("v=spf1 include:amazonses.com ~all");
  });

  it("assigns the cname profile: the return-path CNAME pair and the DKIM TXT", () => {
    expect(
      assignRecords(cnameResendRecords("auth", "bounce"), plan("cname", "bounce"), "example.com"),
    ).toEqual({
      dkim: { fqdn: "resend._domainkey.auth.example.com", content: DKIM },
      "spf-mx": { fqdn: "bounce.auth.example.com", content: "rp.us-east-1.resend-dns.com" },
      "spf-txt": { fqdn: "rbounce.auth.example.com", content: "rrp.us-east-1.resend-dns.com" },
    });
  });

  it("gives DKIM CNAMEs, whose names Resend picks, to their slots in name order without the trailing dot", () => {
    const [first, second, third] = [...DKIM_SELECTORS].sort();
    const assigned = assignRecords(
      RECORDS["cname-dkim-cname"]().reverse(),
      plan("cname-dkim-cname"),
      "example.com",
    );
    expect([assigned.dkim, assigned["dkim-2"], assigned["dkim-3"]]).toEqual(
      [first, second, third].map((s) => ({
        fqdn: `${s}._domainkey.auth.example.com`,
        content: `${s}.dkim.amazonses.com`,
      })),
    );
  });

  it("fails on another shape with the exact setting that fixes it, before anything is written", () => {
    const attempt = () => assignRecords(cnameResendRecords(), plan("classic"), "example.com", "dev");
    expect(attempt).toThrow(RecordProfileMismatchError);
    expect(attempt).toThrow(
      [
        'Resend\'s DNS records for auth.example.com have the "cname" shape, but resendRecordProfile is "classic", so no DNS record was written.',
        "  Resend asks for: SPF CNAME send.auth.example.com; SPF CNAME rsend.auth.example.com; DKIM TXT resend._domainkey.auth.example.com",
        "  fix: pulumi config set resendRecordProfile cname --stack dev, then pulumi up again. Resend picks the shape when it creates a",
        "       domain and the domain keeps it, so the setting follows the domain.",
      ].join("\n"),
    );
    expect(() => assignRecords(classicResendRecords(), plan("cname-dkim-cname"), "example.com")).toThrow(
      /have the "classic" shape, but resendRecordProfile is "cname-dkim-cname".*\n.*\n {2}fix: pulumi config set resendRecordProfile classic, then/,
    );
  });

  it("fails clearly on records no profile expects", () => {
    const receiving = {
      record: "Receiving",
      name: "auth",
      type: "MX",
      value: "inbound-smtp.us-east-1.amazonaws.com",
      priority: 10,
      ttl: "Auto",
      status: "pending",
    };
    const attempt = () =>
      assignRecords([...classicResendRecords(), receiving], plan("classic"), "example.com");
    expect(attempt).toThrow(UnexpectedRecordsError);
    expect(attempt).toThrow(
      /"classic" profile does not expect.*\n {2}unexpected: Receiving MX auth\.example\.com\n/,
    );
    const relativeToSubdomain = classicResendRecords().map((r) => ({
      ...r,
      name: r.name.replace(/\.auth$/, ""),
    }));
    expect(() => assignRecords(relativeToSubdomain, plan("classic"), "example.com")).toThrow(
      /unexpected: SPF MX send\.example\.com;.*\n {2}missing: {4}DKIM TXT resend\._domainkey\.auth\.example\.com;/,
    );
    const twoSelectors = [...cnameReturnPathRecords(), ...dkimCnameRecords().slice(1)];
    expect(() => assignRecords(twoSelectors, plan("cname-dkim-cname"), "example.com")).toThrow(
      /missing: {4}DKIM CNAME <selector>\._domainkey\.auth\.example\.com/,
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

  it("Cloudflare takes TXT as quoted strings of at most 255 bytes, escaped, and other types verbatim", () => {
    expect(cloudflareContent("TXT", "v=spf1 include:amazonses.com ~all")).toBe(
      '"v=spf1 include:amazonses.com ~all"',
    );
    expect(cloudflareContent("TXT", DKIM)).toBe(`"${DKIM.slice(0, 255)}" "${DKIM.slice(255)}"`);
    expect(cloudflareContent("TXT", 'say "hi" \\o/')).toBe('"say \\"hi\\" \\\\o/"');
    expect(cloudflareContent("MX", "feedback-smtp.us-east-1.amazonses.com")).toBe(
      "feedback-smtp.us-east-1.amazonses.com",
    );
    expect(cloudflareContent("CNAME", "rp.us-east-1.resend-dns.com")).toBe("rp.us-east-1.resend-dns.com");
  });
});
