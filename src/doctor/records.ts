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
  value: string;
  priority?: number;
}

/** What DNS answers at one name, for every type a conflict can hide behind. */
export interface NameFacts {
  fqdn: string;
  txt: Answer<string>;
  mx: Answer<MxValue>;
  cname: Answer<string>;
}

export async function fetchNameFacts(fqdn: string, lookup: DnsLookup): Promise<NameFacts> {
  const [txt, mx, cname] = await Promise.all([lookup.txt(fqdn), lookup.mx(fqdn), lookup.cname(fqdn)]);
  return { fqdn, txt, mx, cname };
}

const dns = resultsFor("dns");

export const recordLabel = (r: ExpectedRecord) => `${r.record} ${r.type} ${r.fqdn}`;
const recordCheckId = (r: ExpectedRecord) => `dns.${r.record.toLowerCase()}-${r.type.toLowerCase()}`;

/** Long values (DKIM keys) shortened for one-line messages; the fix points at where the full value is. */
function short(value: string): string {
  return value.length > 48 ? `${value.slice(0, 40)}…` : value;
}

function publishFix(r: ExpectedRecord): string {
  const priority = r.type === "MX" ? ` priority ${r.priority ?? 10}` : "";
  // A proxied or flattened CNAME answers with addresses, so a verifier never sees it.
  const dnsOnly = r.type === "CNAME" ? " DNS-only (not proxied, not flattened)" : "";
  return `publish ${r.type} ${r.fqdn} = ${short(r.value)}${priority}${dnsOnly} (full value: Resend dashboard → Domains, or run pulumi up)`;
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

function checkTxt(r: ExpectedRecord, answer: Answer<string>, id: string, label: string): CheckResult[] {
  if (answer.kind !== "found") return [];
  const isSpf = isSpfRecord(r.value);
  const relevant = isSpf ? answer.values.filter(isSpfRecord) : answer.values;
  if (relevant.length === 0) return [dns.fail(id, `${label} has no v=spf1 record`, publishFix(r))];
  if (relevant.length > 1 && (isSpf || r.record === "DKIM")) {
    const why = isSpf
      ? "receivers answer permerror and SPF fails for every message"
      : "a DKIM selector holds one key";
    return [
      dns.fail(
        `${id}.duplicate`,
        `${label} has ${relevant.length} ${isSpf ? "v=spf1" : "TXT"} records: ${why}`,
        isSpf
          ? `merge them into one TXT at ${r.fqdn} (keep ${r.value})`
          : `delete every TXT at ${r.fqdn} except Resend's key`,
      ),
    ];
  }
  if (relevant.some((v) => txtMatches(r, v))) return [dns.pass(id, `${label} matches Resend`)];
  return [
    dns.fail(
      id,
      `${label} is "${short(relevant[0] as string)}" but Resend expects "${short(r.value)}"`,
      publishFix(r),
    ),
  ];
}

function checkMx(r: ExpectedRecord, answer: Answer<MxValue>, id: string, label: string): CheckResult[] {
  if (answer.kind !== "found") return [];
  const wanted = host(r.value);
  const priority = r.priority ?? 10;
  const mine = answer.values.find((mx) => host(mx.exchange) === wanted);
  if (!mine) {
    const seen = answer.values.map((mx) => `${mx.priority} ${mx.exchange}`).join(", ");
    return [dns.fail(id, `${label} points to ${seen}, not ${wanted}`, publishFix(r))];
  }
  const results: CheckResult[] = [];
  const preferred = answer.values.filter(
    (mx) => host(mx.exchange) !== wanted && mx.priority <= mine.priority,
  );
  if (preferred.length > 0) {
    const names = preferred.map((mx) => `${mx.priority} ${mx.exchange}`).join(", ");
    results.push(
      dns.fail(
        `${id}.priority`,
        `${label}: ${names} is preferred over ${wanted}, so bounce reports go elsewhere`,
        `delete the other MX records at ${r.fqdn}; keep only ${wanted} priority ${priority}`,
      ),
    );
  } else if (mine.priority !== priority) {
    results.push(
      dns.warn(
        `${id}.priority`,
        `${label} has priority ${mine.priority}; Resend lists ${priority}`,
        `set the MX ${r.fqdn} → ${wanted} priority to ${priority}`,
      ),
    );
  }
  results.push(dns.pass(id, `${label} points to ${wanted}`));
  return results;
}

/** Present, right value, no duplicate or conflicting record at the name. */
export function checkExpectedRecord(r: ExpectedRecord, facts: NameFacts): CheckResult[] {
  const id = recordCheckId(r);
  const label = recordLabel(r);
  if (r.type === "CNAME") {
    const answer = facts.cname;
    if (answer.kind === "error") return [lookupWarning(id, label, answer.code)];
    if (answer.kind === "absent") return [dns.fail(id, `${label} is missing`, publishFix(r))];
    return answer.values.some((v) => host(v) === host(r.value))
      ? [dns.pass(id, `${label} points to ${host(r.value)}`)]
      : [dns.fail(id, `${label} points to ${answer.values.join(", ")}, not ${host(r.value)}`, publishFix(r))];
  }
  if (facts.cname.kind === "found") {
    return [
      dns.fail(
        `${id}.conflict`,
        `${r.fqdn} is a CNAME to ${facts.cname.values.join(", ")}; a CNAME cannot share its name, so the ${r.type} Resend expects is hidden`,
        `delete the CNAME at ${r.fqdn}, then ${publishFix(r)}`,
      ),
    ];
  }
  const answer = r.type === "MX" ? facts.mx : facts.txt;
  if (answer.kind === "error") return [lookupWarning(id, label, answer.code)];
  if (answer.kind === "absent") return [dns.fail(id, `${label} is missing`, publishFix(r))];
  return r.type === "MX" ? checkMx(r, facts.mx, id, label) : checkTxt(r, facts.txt, id, label);
}

export function lookupWarning(id: string, label: string, code: string): CheckResult {
  return dns.warn(
    id,
    `${label} could not be looked up (${code})`,
    "check the resolver (--dns-server host:port) and run the doctor again",
  );
}

/** The published DKIM key must be a base64 RSA public key (SubjectPublicKeyInfo), or receivers ignore it. */
export function checkDkimKey(r: ExpectedRecord, facts: NameFacts): CheckResult[] {
  if (facts.txt.kind !== "found") return [];
  const published = facts.txt.values.find((v) => dkimTags(v).p !== undefined) ?? facts.txt.values[0] ?? "";
  const p = dkimTags(published).p;
  const fix = publishFix(r);
  if (!p) return [dns.fail("dns.dkim-key", `${r.fqdn} has no p= key (an empty p= revokes it)`, fix)];
  try {
    const key = createPublicKey({ key: Buffer.from(p, "base64"), format: "der", type: "spki" });
    if (key.asymmetricKeyType !== "rsa") {
      return [dns.fail("dns.dkim-key", `${r.fqdn} holds a ${key.asymmetricKeyType} key, not RSA`, fix)];
    }
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    return [dns.pass("dns.dkim-key", `${r.fqdn} holds a ${bits}-bit RSA key`)];
  } catch {
    return [
      dns.fail(
        "dns.dkim-key",
        `${r.fqdn}: p= is not a base64 RSA public key (truncated or split wrongly?)`,
        `${fix}; TXT values over 255 characters must be split into strings, not cut`,
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
    );
  }
  return dns.fail(
    id,
    `Resend's records for ${domain} have the "${issued}" shape (${sending.join("; ")}) but ${PROFILE_SETTING} is ` +
      `"${profile}", so pulumi up stops before writing any record`,
    `${profileFix(issued, stack)} (Resend picks the shape when it creates a domain; the setting follows it)`,
  );
}
