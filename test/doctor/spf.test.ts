import { describe, expect, it } from "vitest";
import { analyzeSpf, checkSpfAll, checkSpfLimits, collectSpfRecords, parseSpf } from "../../src/doctor/spf";
import { txtLookup } from "./fake-dns";

const ROOT = "send.mail.example.com";

async function analyze(root: string, records: Parameters<typeof txtLookup>[0]) {
  const lookup = txtLookup(records);
  const collected = await collectSpfRecords(ROOT, root, lookup);
  return { analysis: analyzeSpf(ROOT, collected), asked: lookup.asked };
}

describe("SPF parsing", () => {
  it("splits qualifiers, mechanisms and values, lower-cased", () => {
    expect(
      parseSpf("v=spf1 -include:Amazonses.com ~a mx:mail.example.com redirect=_spf.example.com ?all"),
    ).toEqual([
      { qualifier: "-", name: "include", value: "amazonses.com" },
      { qualifier: "~", name: "a", value: "" },
      { qualifier: "+", name: "mx", value: "mail.example.com" },
      { qualifier: "+", name: "redirect", value: "_spf.example.com" },
      { qualifier: "?", name: "all", value: "" },
    ]);
  });

  it("judges the all term: +all fails, ?all and none warn, ~all, -all and redirect= pass", () => {
    const verdict = (record: string) => {
      const r = checkSpfAll(ROOT, record);
      return [r.status, r.code];
    };
    expect(verdict("v=spf1 include:amazonses.com all")).toEqual(["fail", "pass-all"]);
    expect(verdict("v=spf1 include:amazonses.com +all")).toEqual(["fail", "pass-all"]);
    expect(verdict("v=spf1 include:amazonses.com ?all")).toEqual(["warn", "neutral-all"]);
    expect(verdict("v=spf1 include:amazonses.com")).toEqual(["warn", "no-all"]);
    expect(verdict("v=spf1 include:amazonses.com ~all")).toEqual(["pass", undefined]);
    expect(verdict("v=spf1 -all")).toEqual(["pass", undefined]);
    expect(verdict("v=spf1 redirect=_spf.example.com")).toEqual(["pass", undefined]);
  });
});

describe("SPF lookup counting (RFC 7208 §4.6.4)", () => {
  it("counts include, a, mx, ptr, exists and redirect across nested includes, not ip4/all", async () => {
    const { analysis } = await analyze("v=spf1 include:one.example ip4:192.0.2.1 mx ~all", {
      "one.example": ["v=spf1 a ptr include:two.example -all"],
      "two.example": ["v=spf1 exists:%{i}.bl.example redirect=three.example"],
      "three.example": ["v=spf1 ip6:2001:db8::/32 -all"],
    });
    expect(analysis.lookups).toBe(7);
    expect(analysis.path).toEqual([
      "include:one.example",
      "a",
      "ptr",
      "include:two.example",
      "exists:%{i}.bl.example",
      "redirect:three.example",
      "mx",
    ]);
    expect(analysis.errors).toEqual([]);
  });

  it("fails over 10 lookups and names the record to trim", async () => {
    const includes = Array.from({ length: 6 }, (_, i) => `include:i${i}.example`).join(" ");
    const records = Object.fromEntries(
      Array.from({ length: 6 }, (_, i) => [`i${i}.example`, [`v=spf1 a -all`]]),
    );
    const { analysis } = await analyze(`v=spf1 ${includes} ~all`, records);
    expect(analysis.lookups).toBe(12);
    const [result] = checkSpfLimits(ROOT, analysis);
    expect(result).toMatchObject({ check: "dns.spf-lookups", status: "fail", code: "too-many" });
    expect(result?.message).toContain("needs 12 DNS lookups (limit 10)");
  });

  it("counts void lookups and reports includes without an SPF record as permerrors", async () => {
    const { analysis } = await analyze(
      "v=spf1 include:gone1.example include:gone2.example include:gone3.example include:web.example ~all",
      {
        "web.example": ["google-site-verification=abc"],
      },
    );
    expect(analysis.voidLookups).toBe(3);
    const results = checkSpfLimits(ROOT, analysis);
    expect(results.map((r) => [r.check, r.status, r.code])).toEqual([
      ["dns.spf-lookups", "fail", "too-many-void"],
      ["dns.spf-syntax", "fail", "permerror"],
    ]);
    expect(results.at(-1)?.message).toBe(
      `SPF at ${ROOT} is a permerror for receivers: include:gone1.example has no TXT record; include:gone2.example has no TXT record; include:gone3.example has no TXT record; include:web.example has no v=spf1 record`,
    );
  });

  it("a syntax error in an included record is a permerror naming that record", async () => {
    const { analysis } = await analyze("v=spf1 include:one.example ~all", {
      "one.example": ["v=spf1 ip4:192.0.2.0/33 -all"],
    });
    expect(analysis.errors).toEqual(['one.example: Invalid CIDR length "33"']);
  });

  it("stops at loops and fetches each name once", async () => {
    const { analysis, asked } = await analyze("v=spf1 include:a.example ~all", {
      "a.example": ["v=spf1 include:b.example -all"],
      "b.example": ["v=spf1 include:a.example -all"],
    });
    expect(asked).toEqual(["a.example", "b.example"]);
    expect(analysis.errors).toEqual(["include:a.example loops back to itself"]);
  });

  it("an include that cannot be fetched warns instead of failing, with the count so far", async () => {
    const { analysis } = await analyze("v=spf1 include:amazonses.com ~all", {
      "amazonses.com": "ERR:EREFUSED",
    });
    const results = checkSpfLimits(ROOT, analysis);
    expect(results.map((r) => [r.check, r.status, r.code])).toEqual([
      ["dns.spf-lookups", "warn", "unresolved"],
      ["dns.spf-syntax", "pass", undefined],
    ]);
    expect(results[0]?.message).toContain(
      "could not follow amazonses.com (EREFUSED); 1 lookup counted so far",
    );
  });
});
