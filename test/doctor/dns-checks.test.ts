import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checkDmarc, type DmarcExpectation, fetchDmarcFacts } from "../../src/doctor/dmarc";
import type { MxValue } from "../../src/doctor/dns-lookup";
import {
  checkDkimKey,
  checkExpectedRecord,
  checkRecordProfile,
  type ExpectedRecord,
  type NameFacts,
} from "../../src/doctor/records";
import { absent, found, txtLookup } from "./fake-dns";

const spki = (type: "rsa" | "ec") =>
  (type === "rsa"
    ? generateKeyPairSync("rsa", { modulusLength: 1024 })
    : generateKeyPairSync("ec", { namedCurve: "P-256" })
  ).publicKey
    .export({ format: "der", type: "spki" })
    .toString("base64");

const RSA = spki("rsa");
const DKIM: ExpectedRecord = {
  record: "DKIM",
  type: "TXT",
  fqdn: "resend._domainkey.mail.example.com",
  relative: "resend._domainkey.mail",
  zone: "example.com",
  value: `p=${RSA}`,
};
const MX: ExpectedRecord = {
  record: "SPF",
  type: "MX",
  fqdn: "send.mail.example.com",
  relative: "send.mail",
  zone: "example.com",
  value: "feedback-smtp.us-east-1.amazonses.com",
  priority: 10,
};

function facts(fqdn: string, parts: Partial<Omit<NameFacts, "fqdn">>): NameFacts {
  return { fqdn, txt: absent, mx: absent, cname: absent, ...parts };
}

describe("the record profile against Resend's records", () => {
  const cname = (fqdn: string, value: string): ExpectedRecord => ({
    record: "SPF",
    type: "CNAME",
    fqdn,
    relative: fqdn.slice(0, -".example.com".length),
    zone: "example.com",
    value,
  });
  const pair = [
    cname("send.mail.example.com", "rp.x.resend-dns.com"),
    cname("rsend.mail.example.com", "rrp.x"),
  ];

  it("passes the declared shape, fails another with the setting, and warns on a mix", () => {
    expect(checkRecordProfile("cname", [DKIM, ...pair], "mail.example.com", "prod").status).toBe("pass");
    expect(checkRecordProfile("cname-dkim-cname", [DKIM, ...pair], "mail.example.com", "prod")).toMatchObject(
      {
        status: "fail",
        fix: expect.stringMatching(/^pulumi config set resendRecordProfile cname --stack prod /),
      },
    );
    expect(checkRecordProfile("classic", [DKIM, MX, pair[0]!], "mail.example.com", "prod")).toMatchObject({
      status: "warn",
      message:
        "Resend's records for mail.example.com fit no record profile (DKIM TXT resend._domainkey.mail.example.com; " +
        "SPF MX send.mail.example.com; SPF CNAME send.mail.example.com)",
    });
  });

  it("a missing CNAME's fix says DNS-only: proxied or flattened, it answers addresses", () => {
    const [result] = checkExpectedRecord(pair[1]!, facts("rsend.mail.example.com", {}));
    expect(result).toMatchObject({ check: "dns.spf-cname", status: "fail" });
    expect(result?.fix).toBe(
      "publish CNAME rsend.mail.example.com = rrp.x DNS-only (not proxied, not flattened) (in the DNS host's form: name rsend.mail in zone example.com); pulumi up --refresh republishes the stack's records, --json has the full value",
    );
  });
});

describe("expected records", () => {
  it("a DKIM key published with v=DKIM1 tags and split whitespace still matches Resend's", () => {
    const published = `v=DKIM1; k=rsa; p=${RSA.slice(0, 100)} ${RSA.slice(100)}`;
    const [result] = checkExpectedRecord(DKIM, facts(DKIM.fqdn, { txt: found(published) }));
    expect(result).toMatchObject({ check: "dns.dkim-txt", status: "pass" });
  });

  it("a CNAME at the name hides the expected record and is reported as the conflict", () => {
    const [result] = checkExpectedRecord(
      DKIM,
      facts(DKIM.fqdn, { cname: found("resend._domainkey.old-provider.example"), txt: found("p=other") }),
    );
    expect(result).toMatchObject({ check: "dns.dkim-txt", status: "fail", code: "conflict" });
    expect(result?.fix).toContain(`delete the CNAME at ${DKIM.fqdn}`);
  });

  it("an MX preferred over Resend's fails; only a different priority warns", () => {
    const preferred: MxValue[] = [
      { priority: 5, exchange: "mx.other.example" },
      { priority: 10, exchange: MX.value },
    ];
    const worse = checkExpectedRecord(MX, facts(MX.fqdn, { mx: found(...preferred) }));
    expect(worse.map((r) => [r.check, r.status, r.code])).toEqual([["dns.spf-mx", "fail", "preferred-mx"]]);
    const shifted = checkExpectedRecord(
      MX,
      facts(MX.fqdn, { mx: found({ priority: 20, exchange: `${MX.value}` }) }),
    );
    expect(shifted.map((r) => [r.check, r.status, r.code])).toEqual([["dns.spf-mx", "warn", "priority"]]);
    const wrong = checkExpectedRecord(
      MX,
      facts(MX.fqdn, { mx: found({ priority: 10, exchange: "mx.other.example" }) }),
    );
    expect(wrong[0]).toMatchObject({
      status: "fail",
      message: `SPF MX ${MX.fqdn} points to 10 mx.other.example, not ${MX.value}`,
    });
  });

  it("the DKIM key must decode as an RSA public key", () => {
    const check = (value: string) => checkDkimKey(DKIM, facts(DKIM.fqdn, { txt: found(value) }))[0];
    expect(check(`p=${RSA}`)).toMatchObject({
      status: "pass",
      message: `${DKIM.fqdn} holds a 1024-bit RSA key`,
    });
    expect(check(`p=${RSA.slice(0, 120)}`)?.status).toBe("fail");
    expect(check(`p=${spki("ec")}`)?.message).toContain("holds a ec key, not RSA");
    expect(check("v=DKIM1; p=")?.message).toContain("an empty p= revokes it");
  });
});

const STAGE: DmarcExpectation = {
  policy: "quarantine",
  pct: 50,
  rua: ["dmarc@example.com"],
  stack: "prod",
  fromDomain: "auth.example.com",
  dkimOk: true,
};

async function dmarc(records: Parameters<typeof txtLookup>[0], expected = STAGE) {
  return checkDmarc(await fetchDmarcFacts("auth.example.com", txtLookup(records)), expected);
}

const verdicts = (results: { check: string; status: string }[]) => results.map((r) => [r.check, r.status]);

describe("DMARC (parsed by mailauth, RFC 9989)", () => {
  it("matches the stage, pct and rua of the stack", async () => {
    const results = await dmarc({
      "_dmarc.auth.example.com": ["v=DMARC1; p=quarantine; pct=50; rua=mailto:dmarc@example.com;"],
    });
    expect(verdicts(results)).toEqual([
      ["dns.dmarc.record", "pass"],
      ["dns.dmarc.policy", "pass"],
      ["dns.dmarc.rua", "pass"],
      ["dns.dmarc.alignment", "pass"],
      ["dns.dmarc.pct", "pass"],
      ["dns.dmarc.enforcement", "pass"],
    ]);
  });

  it("an inherited organizational record applies its sp= and warns that the stack's own is missing", async () => {
    const lookup = txtLookup({
      "_dmarc.example.com": ["v=DMARC1; p=reject; sp=quarantine; pct=50; rua=mailto:dmarc@example.com"],
    });
    const results = checkDmarc(await fetchDmarcFacts("auth.example.com", lookup), STAGE);
    expect(lookup.asked).toEqual([
      "_dmarc.auth.example.com",
      "_dmarc.auth.example.com",
      "_dmarc.example.com",
      "_dmarc.com",
    ]);
    expect(verdicts(results).slice(0, 2)).toEqual([
      ["dns.dmarc.record", "warn"],
      ["dns.dmarc.policy", "pass"],
    ]);
    expect(results[0]?.fix).toBe(
      'publish TXT _dmarc.auth.example.com = "v=DMARC1; p=quarantine; pct=50; rua=mailto:dmarc@example.com;" (pulumi up --refresh restores it)',
    );
  });

  it("two records void DMARC; a missing rua or another pct warns; p=none warns only in prod", async () => {
    const two = await dmarc({ "_dmarc.auth.example.com": ["v=DMARC1; p=none", "v=DMARC1; p=reject"] });
    expect(two).toEqual([
      expect.objectContaining({ check: "dns.dmarc.record", status: "fail", code: "duplicate" }),
    ]);

    const loose = await dmarc({ "_dmarc.auth.example.com": ["v=DMARC1; p=quarantine"] });
    expect(loose.filter((r) => r.status === "warn").map((r) => r.check)).toEqual([
      "dns.dmarc.rua",
      "dns.dmarc.pct",
    ]);

    const none = { ...STAGE, policy: "none" as const, pct: 100 };
    const record = { "_dmarc.auth.example.com": ["v=DMARC1; p=none; rua=mailto:dmarc@example.com"] };
    expect(find(await dmarc(record, { ...none, stack: "prod" }), "dns.dmarc.enforcement").status).toBe(
      "warn",
    );
    expect((await dmarc(record, { ...none, stack: "dev" })).every((r) => r.status === "pass")).toBe(true);
  });

  it("a misspelled policy enforces nothing: it fails and p=none-in-prod warns", async () => {
    const results = await dmarc({
      "_dmarc.auth.example.com": ["v=DMARC1; p=rejct; rua=mailto:dmarc@example.com"],
    });
    expect(find(results, "dns.dmarc.policy")).toMatchObject({ status: "fail", code: "invalid-p" });
    expect(find(results, "dns.dmarc.enforcement")).toMatchObject({ status: "warn", code: "not-enforcing" });
  });

  it("adkim=s fails when the From domain is not the domain Resend signs", async () => {
    const record = {
      "_dmarc.auth.example.com": ["v=DMARC1; p=quarantine; pct=50; adkim=s; rua=mailto:dmarc@example.com"],
    };
    expect(find(await dmarc(record), "dns.dmarc.alignment").status).toBe("pass");
    expect(
      find(await dmarc(record, { ...STAGE, fromDomain: "example.com" }), "dns.dmarc.alignment"),
    ).toMatchObject({
      status: "fail",
      code: "strict-dkim",
    });
  });

  it("a resolver failure warns instead of reporting DMARC missing", async () => {
    const results = await dmarc({ "_dmarc.auth.example.com": "ERR:ETIMEOUT" });
    expect(results).toEqual([expect.objectContaining({ check: "dns.dmarc.record", status: "warn" })]);
    const above = await dmarc({ "_dmarc.example.com": "ERR:ESERVFAIL" });
    expect(above).toEqual([
      expect.objectContaining({ check: "dns.dmarc.record", status: "warn", code: "lookup-failed" }),
    ]);
  });
});

function find(results: { check: string; status: string; code?: string }[], check: string) {
  const found = results.find((r) => r.check === check);
  if (!found) throw new Error(`no ${check}`);
  return found;
}
