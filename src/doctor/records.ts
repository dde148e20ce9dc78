import { createPublicKey } from "node:crypto";
import { issuedProfile, PROFILE_SETTING, profileFix, type RecordProfile } from "../../infra/dns/profiles";
import type { Answer, DnsLookup, MxValue } from "./dns-lookup";
import { isSpfRecord, parseSpf } from "./spf";
import { type CheckResult, resultsFor } from "./types";

/** A record Resend expects for the domain (GET /domains/:id), with its name made fully qualified. */
export interface ExpectedRecord {
  /** Resend's `record`: DKIM, SPF, Tracking, Receiving. */
  record: string;
  type: string;
  fqdn: string;
  /** The name relative to the zone apex, as a DNS host's form wants it (`resend._domainkey.mail`). */
  relative: string;
  zone: string;
  value: string;
  priority?: number;
}

/** What DNS answers at one name, for every type a conflict can hide behind. */
export interface NameFacts {
  fqdn: string;
  txt: Answer<string>;
  mx: Answer<MxValue>;
  cname: Answer<string>;
  /**
   * The same name with the zone appended once more (`send.mail.example.com.example.com`): where a DNS host
   * puts a record whose fully qualified name was pasted into a field that expects a relative one.
   */
  doubled?: { fqdn: string; txt: Answer<string>; mx: Answer<MxValue> };
}

export async function fetchNameFacts(fqdn: string, zone: string, lookup: DnsLookup): Promise<NameFacts> {
  const doubledName = `${fqdn}.${zone}`;
  const [txt, mx, cname, doubledTxt, doubledMx] = await Promise.all([
    lookup.txt(fqdn),
    lookup.mx(fqdn),
    lookup.cname(fqdn),
    lookup.txt(doubledName),
    lookup.mx(doubledName),
  ]);
  return { fqdn, txt, mx, cname, doubled: { fqdn: doubledName, txt: doubledTxt, mx: doubledMx } };
}

const dns = resultsFor("dns");

export const recordLabel = (r: ExpectedRecord) => `${r.record} ${r.type} ${r.fqdn}`;
const recordCheckId = (r: ExpectedRecord) => `dns.${r.record.toLowerCase()}-${r.type.toLowerCase()}`;

/** Long values (DKIM keys) shortened for one-line messages; `--json` carries them whole in `details`. */
function short(value: string): string {
  return value.length > 48 ? `${value.slice(0, 40)}…` : value;
}

/** Records change outside Pulumi (a dashboard edit): `--refresh` makes Pulumi notice and put them back. */
function publishFix(r: ExpectedRecord): string {
  const priority = r.type === "MX" ? ` priority ${r.priority ?? 10}` : "";
  // A proxied or flattened CNAME answers with addresses, so a verifier never sees it.
  const dnsOnly = r.type === "CNAME" ? " DNS-only (not proxied, not flattened)" : "";
  return `publish ${r.type} ${r.fqdn} = ${short(r.value)}${priority}${dnsOnly} (in the DNS host's form: name ${r.relative} in zone ${r.zone}); pulumi up --refresh republishes the stack's records, --json has the full value`;
}

/** DKIM tag list (`v=DKIM1; k=rsa; p=…`) → tag map. */
export function dkimTags(value: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const part of value.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) tags[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).replace(/\s+/g, "");
  }
  return tags;
}

const normalize = (value: string) => value.trim().replace(/\s+/g, " ").toLowerCase();
const host = (value: string) => value.trim().replace(/\.$/, "").toLowerCase();

/** Whether a published TXT satisfies Resend's: same DKIM key; an SPF record holding Resend's mechanisms. */
function txtMatches(expected: ExpectedRecord, published: string): boolean {
  if (expected.record === "DKIM")
    return !!dkimTags(published).p && dkimTags(published).p === dkimTags(expected.value).p;
  if (isSpfRecord(expected.value)) {
    // Merged SPF records are normal (other senders); what matters is that Resend's mechanisms are there.
    const have = new Set(parseSpf(published).map((t) => `${t.name}:${t.value}`));
    return parseSpf(expected.value)
      .filter((t) => t.name !== "all")
      .every((t) => have.has(`${t.name}:${t.value}`));
  }
  return normalize(published) === normalize(expected.value);
}

/** Where two keys part: the first differing character and a little context on both sides. */
function keyDifference(published: string, expected: string): string {
  let i = 0;
  while (i < published.length && i < expected.length && published[i] === expected[i]) i++;
  const around = (s: string) =>
    `${i > 8 ? "…" : ""}${s.slice(Math.max(0, i - 8), i + 12)}${s.length > i + 12 ? "…" : ""}`;
  if (i === published.length && published.length < expected.length) {
    return `the published key stops after ${i} of ${expected.length} characters (cut instead of split?)`;
  }
  return `the keys differ from character ${i + 1} of ${expected.length}: published ${around(published)}, Resend ${around(expected)}; a stale key from an earlier domain?`;
}

/** Two TXT records at a DKIM selector that are one key cut in two: receivers read only one of them. */
function splitKey(r: ExpectedRecord, values: string[]): boolean {
  const key = dkimTags(r.value).p;
  if (!key || values.length < 2) return false;
  const joined = (list: string[]) => dkimTags(list.join("")).p ?? list.join("").replace(/\s+/g, "");
  return joined(values) === key || joined([...values].reverse()) === key;
}

function checkTxt(r: ExpectedRecord, answer: Answer<string>, id: string, label: string): CheckResult[] {
  if (answer.kind !== "found") return [];
  const isSpf = isSpfRecord(r.value);
  const relevant = isSpf ? answer.values.filter(isSpfRecord) : answer.values;
  const details = { expected: r.value, published: relevant };
  if (relevant.length === 0)
    return [dns.fail(id, `${label} has no v=spf1 record`, publishFix(r), { code: "missing", details })];
  if (r.record === "DKIM" && splitKey(r, relevant)) {
    return [
      dns.fail(
        id,
        `${label}: Resend's key is split across ${relevant.length} TXT records; receivers read one record, so they see half a key`,
        `delete those ${relevant.length} records and publish ONE TXT at ${r.fqdn} holding the whole key: a DNS host splits a long value into 255-character strings inside one record (in Route53 enter "part1" "part2" as one value); pulumi up --refresh does this`,
        { code: "split-key", details },
      ),
    ];
  }
  if (relevant.length > 1 && (isSpf || r.record === "DKIM")) {
    const why = isSpf
      ? "receivers answer permerror and SPF fails for every message"
      : "a DKIM selector holds one key";
    return [
      dns.fail(
        id,
        `${label} has ${relevant.length} ${isSpf ? "v=spf1" : "TXT"} records: ${why}`,
        isSpf
          ? `merge them into one TXT at ${r.fqdn} (keep ${r.value})`
          : `delete every TXT at ${r.fqdn} except Resend's key`,
        { code: "duplicate", details },
      ),
    ];
  }
  if (relevant.some((v) => txtMatches(r, v))) return [dns.pass(id, `${label} matches Resend`, details)];
  const published = relevant[0] as string;
  const differs =
    r.record === "DKIM" && dkimTags(published).p
      ? keyDifference(dkimTags(published).p as string, dkimTags(r.value).p ?? "")
      : `it is "${short(published)}" but Resend expects "${short(r.value)}"`;
  return [dns.fail(id, `${label}: ${differs}`, publishFix(r), { code: "mismatch", details })];
}

function checkMx(r: ExpectedRecord, answer: Answer<MxValue>, id: string, label: string): CheckResult[] {
  if (answer.kind !== "found") return [];
  const wanted = host(r.value);
  const priority = r.priority ?? 10;
  const details = { expected: { exchange: wanted, priority }, published: answer.values };
  const mine = answer.values.find((mx) => host(mx.exchange) === wanted);
  if (!mine) {
    const seen = answer.values.map((mx) => `${mx.priority} ${mx.exchange}`).join(", ");
    return [
      dns.fail(id, `${label} points to ${seen}, not ${wanted}`, publishFix(r), { code: "mismatch", details }),
    ];
  }
  const preferred = answer.values.filter(
    (mx) => host(mx.exchange) !== wanted && mx.priority <= mine.priority,
  );
  if (preferred.length > 0) {
    const names = preferred.map((mx) => `${mx.priority} ${mx.exchange}`).join(", ");
    return [
      dns.fail(
        id,
        `${label}: ${names} is preferred over ${wanted}, so bounce reports go elsewhere`,
        `delete the other MX records at ${r.fqdn}; keep only ${wanted} priority ${priority}`,
        { code: "preferred-mx", details },
      ),
    ];
  }
  if (mine.priority !== priority) {
    return [
      dns.warn(
        id,
        `${label} points to ${wanted} with priority ${mine.priority}; Resend lists ${priority}`,
        `set the MX ${r.fqdn} → ${wanted} priority to ${priority}`,
        { code: "priority", details },
      ),
    ];
  }
  return [dns.pass(id, `${label} points to ${wanted}`, details)];
}

/** A record that is missing at its name but sits at the name with the zone doubled: say so, exactly. */
function doubledSuffix(r: ExpectedRecord, facts: NameFacts, id: string): CheckResult | undefined {
  const doubled = facts.doubled;
  if (!doubled) return undefined;
  const answer = r.type === "MX" ? doubled.mx : doubled.txt;
  if (answer.kind !== "found") return undefined;
  return dns.fail(
    id,
    `${recordLabel(r)} is missing, but a ${r.type} record sits at ${doubled.fqdn}: the zone name was added twice (the DNS host appends ${r.zone} to the name it is given)`,
    `delete the ${r.type} at ${doubled.fqdn} and create it with the name ${r.relative} (the host appends ${r.zone}), so it lands at ${r.fqdn}; pulumi up --refresh publishes it there`,
    {
      code: "doubled-suffix",
      details: { expectedName: r.fqdn, foundAt: doubled.fqdn, enterName: r.relative },
    },
  );
}

/** Present, right value, no duplicate or conflicting record at the name. One result, id fixed per record. */
export function checkExpectedRecord(r: ExpectedRecord, facts: NameFacts): CheckResult[] {
  const id = recordCheckId(r);
  const label = recordLabel(r);
  const missing = () => [
    doubledSuffix(r, facts, id) ??
      dns.fail(id, `${label} is missing`, publishFix(r), { code: "missing", details: { expected: r.value } }),
  ];
  if (r.type === "CNAME") {
    const answer = facts.cname;
    if (answer.kind === "error") return [lookupWarning(id, label, answer.code)];
    if (answer.kind === "absent") return missing();
    return answer.values.some((v) => host(v) === host(r.value))
      ? [dns.pass(id, `${label} points to ${host(r.value)}`)]
      : [
          dns.fail(
            id,
            `${label} points to ${answer.values.join(", ")}, not ${host(r.value)}`,
            publishFix(r),
            {
              code: "mismatch",
              details: { expected: r.value, published: answer.values },
            },
          ),
        ];
  }
  if (facts.cname.kind === "found") {
    const target = facts.cname.values.join(", ");
    // A DKIM selector delegated by CNAME works when the key it leads to is Resend's.
    if (r.record === "DKIM" && facts.txt.kind === "found" && facts.txt.values.some((v) => txtMatches(r, v))) {
      return [dns.pass(id, `${label} is a CNAME to ${target}, which holds Resend's key`)];
    }
    return [
      dns.fail(
        `${id}`,
        `${r.fqdn} is a CNAME to ${target}; ${r.record === "DKIM" ? "the key it leads to is not Resend's" : `a CNAME cannot share its name, so the ${r.type} Resend expects is hidden`}`,
        `delete the CNAME at ${r.fqdn}, then ${publishFix(r)}`,
        { code: "conflict", details: { expected: r.value, cname: facts.cname.values } },
      ),
    ];
  }
  const answer = r.type === "MX" ? facts.mx : facts.txt;
  if (answer.kind === "error") return [lookupWarning(id, label, answer.code)];
  if (answer.kind === "absent") return missing();
  return r.type === "MX" ? checkMx(r, facts.mx, id, label) : checkTxt(r, facts.txt, id, label);
}

export function lookupWarning(id: string, label: string, code: string): CheckResult {
  return dns.warn(
    id,
    `${label} could not be looked up (${code})`,
    "check the resolver (--dns-server host:port) and run the doctor again",
    { code: "lookup-failed" },
  );
}

/** The published DKIM key must be a base64 RSA public key (SubjectPublicKeyInfo), or receivers ignore it. */
export function checkDkimKey(r: ExpectedRecord, facts: NameFacts): CheckResult[] {
  if (facts.txt.kind !== "found") return [];
  const published = facts.txt.values.find((v) => dkimTags(v).p !== undefined) ?? facts.txt.values[0] ?? "";
  const p = dkimTags(published).p;
  const fix = publishFix(r);
  if (!p)
    return [
      dns.fail("dns.dkim-key", `${r.fqdn} has no p= key (an empty p= revokes it)`, fix, { code: "revoked" }),
    ];
  try {
    const key = createPublicKey({ key: Buffer.from(p, "base64"), format: "der", type: "spki" });
    if (key.asymmetricKeyType !== "rsa") {
      return [
        dns.fail("dns.dkim-key", `${r.fqdn} holds a ${key.asymmetricKeyType} key, not RSA`, fix, {
          code: "not-rsa",
        }),
      ];
    }
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    return [dns.pass("dns.dkim-key", `${r.fqdn} holds a ${bits}-bit RSA key`)];
  } catch {
    return [
      dns.fail(
        "dns.dkim-key",
        `${r.fqdn}: p= is not a base64 RSA public key (truncated or split wrongly?)`,
        `${fix}; TXT values over 255 characters must be split into strings of one record, not cut`,
        { code: "undecodable", details: { published } },
      ),
    ];
  }
}

/**
 * Whether Resend's records have the shape the stack's `resendRecordProfile` declares. They decide: Resend
 * fixes the shape when it creates a domain, and `pulumi up` writes no record while the setting differs.
 */
export function checkRecordProfile(
  profile: RecordProfile,
  records: ExpectedRecord[],
  domain: string,
  stack: string,
): CheckResult {
  const id = "dns.record-profile";
  const issued = issuedProfile(records);
  const sending = records.filter((r) => r.record === "SPF" || r.record === "DKIM").map(recordLabel);
  if (issued === profile) {
    return dns.pass(
      id,
      `Resend's records for ${domain} have the "${profile}" shape ${PROFILE_SETTING} declares`,
    );
  }
  if (!issued) {
    return dns.warn(
      id,
      `Resend's records for ${domain} fit no record profile (${sending.join("; ") || "no SPF or DKIM records"})`,
      "compare them with the profiles in docs/providers.md; pulumi up stops on records no profile covers",
      { code: "unknown-shape" },
    );
  }
  return dns.fail(
    id,
    `Resend's records for ${domain} have the "${issued}" shape (${sending.join("; ")}) but ${PROFILE_SETTING} is ` +
      `"${profile}", so pulumi up stops before writing any record`,
    `${profileFix(issued, stack)} (Resend picks the shape when it creates a domain; the setting follows it)`,
    { code: "mismatch" },
  );
}
