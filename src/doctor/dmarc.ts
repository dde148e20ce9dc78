import type { ParsedDmarcRecord } from "mailauth/lib/dmarc/get-dmarc-record.js";
import { dmarcValue } from "../../infra/dns/records";
import type { DmarcPolicy } from "../settings/stack-config";
import type { Answer, DnsLookup } from "./dns-lookup";
import { lookupWarning } from "./records";
import { type CheckResult, type Fetched, resultsFor } from "./types";

/**
 * DMARC for the sending domain, parsed by mailauth (RFC 9989, DMARCbis) from the TXT records the doctor
 * resolved itself. The stack publishes its own record at `_dmarc.<sendingDomain>`; without one, the policy
 * comes from the RFC 9989 DNS tree walk (the organizational domain's `sp=`).
 */

/**
 * mailauth's DMARC module, loaded when DMARC is first checked: it pulls in most of mailauth (about 150 ms
 * of module loading), which then overlaps with the vendor calls already under way instead of delaying them.
 */
type DmarcParser = typeof import("mailauth/lib/dmarc/get-dmarc-record.js");
let parserLoad: Promise<DmarcParser> | undefined;
const loadParser = () => {
  parserLoad ??= import("mailauth/lib/dmarc/get-dmarc-record.js");
  return parserLoad;
};

export interface DmarcFacts {
  parser: DmarcParser;
  domain: string;
  /** TXT records at `_dmarc.<domain>`. */
  own: Answer<string>;
  /** The tree walk's answer, when the domain has no usable record of its own. */
  inherited?: Fetched<{ record: ParsedDmarcRecord; recordDomain: string } | undefined>;
}

export interface DmarcExpectation {
  policy: DmarcPolicy;
  pct: number;
  rua?: string[];
  stack: string;
  /** The stack's From domain: strict DKIM alignment (`adkim=s`) only works when Resend signs exactly it. */
  fromDomain: string;
  /** Whether DKIM is published and right; a policy that enforces is only advised when it is. */
  dkimOk: boolean;
}

/** Anything that tries to be a DMARC record, including broken ones, so they are reported as malformed. */
const looksLikeDmarc = (txt: string) => /^\s*v\s*=\s*dmarc1/i.test(txt);
/** RFC 9989 §4.7: `v=DMARC1` first, exactly spelt, then `;` or the end. */
const VERSION = /^[vV][ \t]*=[ \t]*DMARC1[ \t]*(?:;|$)/;
const POLICIES = new Set(["none", "quarantine", "reject"]);
const MAILTO = /^mailto:[^@\s]+@[^@\s]+$/i;

/** Adapts the doctor's lookup to the resolver mailauth calls: lists of character-strings, errors by code. */
function txtResolver(lookup: DnsLookup) {
  return async (name: string): Promise<string[][]> => {
    const answer = await lookup.txt(name);
    if (answer.kind === "found") return answer.values.map((v) => [v]);
    throw Object.assign(new Error(`${name}: ${answer.code}`), { code: answer.code });
  };
}

export async function fetchDmarcFacts(domain: string, lookup: DnsLookup): Promise<DmarcFacts> {
  const [parser, own] = await Promise.all([loadParser(), lookup.txt(`_dmarc.${domain}`)]);
  const candidates = own.kind === "found" ? own.values.filter(looksLikeDmarc) : [];
  if (own.kind === "error" || candidates.length > 0) return { parser, domain, own };
  try {
    const found = await parser.discoverPolicy(domain, parser.createRecordLookup(txtResolver(lookup)));
    const inherited =
      found.record && found.recordDomain
        ? { record: found.record, recordDomain: found.recordDomain }
        : undefined;
    return { parser, domain, own, inherited: { ok: true, value: inherited } };
  } catch (err) {
    const code = (err as { code?: string }).code ?? "EUNKNOWN";
    return {
      parser,
      domain,
      own,
      inherited: { ok: false, failure: { transient: true, code, message: String(err) } },
    };
  }
}

/** Why a record that starts like DMARC is not one receivers can use, or undefined when it is fine. */
function malformation(parser: DmarcParser, txt: string): string | undefined {
  if (!VERSION.test(txt.trim())) return `it must start with exactly "v=DMARC1;"`;
  const warnings = new Set<string>();
  const parsed = parser.parseDmarcRecord(txt.trim(), { strict: true, warnings });
  if (!parsed) return "a tag appears twice, which makes the whole tag list invalid (RFC 6376 §3.2)";
  const bare = txt
    .split(";")
    .slice(1)
    .map((t) => t.trim())
    .find((t) => t && !t.includes("="));
  if (bare) return `"${bare}" is not a tag=value pair (a missing ";"?)`;
  return undefined;
}

const dns = resultsFor("dns");

export function checkDmarc(facts: DmarcFacts, expected: DmarcExpectation): CheckResult[] {
  const name = `_dmarc.${facts.domain}`;
  // What a fix may safely publish: never an enforcing policy while DKIM is broken, which would reject
  // every message whose SPF does not align (all of them, with Resend's return path).
  const safePolicy: DmarcPolicy = expected.dkimOk ? expected.policy : "none";
  const wanted = dmarcValue({ policy: safePolicy, pct: expected.pct, rua: expected.rua });
  const publish = `publish TXT ${name} = "${wanted}" (pulumi up --refresh restores it)`;
  const dkimFirst = expected.dkimOk
    ? ""
    : `; keep p=none until DKIM passes (the stack's stage "${expected.policy}" would reject mail that only SPF can vouch for, and Resend's SPF never aligns strictly)`;
  if (facts.own.kind === "error") return [lookupWarning("dns.dmarc.record", `TXT ${name}`, facts.own.code)];

  const own = facts.own.kind === "found" ? facts.own.values.filter(looksLikeDmarc) : [];
  if (own.length > 1) {
    return [
      dns.fail(
        "dns.dmarc.record",
        `${name} has ${own.length} v=DMARC1 records; receivers then discard them all`,
        `delete all but one TXT at ${name}, keeping "${wanted}"${dkimFirst}`,
        { code: "duplicate", details: { published: own, expected: wanted } },
      ),
    ];
  }
  let record: ParsedDmarcRecord;
  let inherited = false;
  const results: CheckResult[] = [];
  if (own.length === 1) {
    const txt = own[0] as string;
    const problem = malformation(facts.parser, txt);
    if (problem) {
      return [
        dns.fail(
          "dns.dmarc.record",
          `${name} = "${txt}" is malformed: ${problem}`,
          `${publish}${dkimFirst}`,
          {
            code: "malformed",
            details: { published: txt, expected: wanted },
          },
        ),
      ];
    }
    record = facts.parser.parseDmarcRecord(txt.trim(), { strict: true }) as ParsedDmarcRecord;
    results.push(dns.pass("dns.dmarc.record", `${name} = "${txt}"`, { published: txt }));
  } else {
    const walk = facts.inherited;
    if (walk && !walk.ok)
      return [lookupWarning("dns.dmarc.record", `DMARC above ${name}`, walk.failure.code ?? "")];
    if (!walk?.value) {
      return [
        dns.fail(
          "dns.dmarc.record",
          `no DMARC record at ${name} or any parent domain`,
          `${publish}${dkimFirst}`,
          {
            code: "missing",
            details: { expected: wanted },
          },
        ),
      ];
    }
    record = walk.value.record;
    inherited = true;
    results.push(
      dns.warn(
        "dns.dmarc.record",
        `no record at ${name}; the domain inherits _dmarc.${walk.value.recordDomain} = "${record.rr}"`,
        `${publish}${dkimFirst}`,
        { code: "inherited", details: { published: record.rr, from: `_dmarc.${walk.value.recordDomain}` } },
      ),
    );
  }

  results.push(checkPolicy(facts.parser, record, inherited, expected, publish, dkimFirst));
  results.push(checkRua(record, expected, publish));
  results.push(checkAlignment(record, facts.domain, expected, publish));
  const pct = record.pct === undefined ? 100 : record.pct;
  if (expected.policy !== "none" && pct !== expected.pct) {
    results.push(
      dns.warn(
        "dns.dmarc.pct",
        `DMARC pct=${record.pct ?? "100 (default)"} but the stack's dmarcPct is ${expected.pct}`,
        `${publish}, or pulumi config set dmarcPct ${pct}`,
        { code: "mismatch" },
      ),
    );
  } else {
    results.push(dns.pass("dns.dmarc.pct", `DMARC pct=${pct} as the stack says`));
  }
  // An invalid policy tag leaves the record at p=none or without DMARC (RFC 9989 §4.10.1): not enforcing.
  const tagged = inherited ? (record.sp ?? record.p) : record.p;
  const applied = facts.parser.getPolicyTags(record) && tagged && POLICIES.has(tagged) ? tagged : "none";
  if (applied === "none" && expected.stack === "prod") {
    results.push(
      dns.warn(
        "dns.dmarc.enforcement",
        "p=none in prod: spoofed mail from the auth domain is only reported, not stopped",
        expected.dkimOk
          ? "once the rua reports show only legitimate senders: pulumi config set dmarcPolicy quarantine && pulumi up"
          : "fix DKIM first (see dns.dkim-txt); then, once the rua reports show only legitimate senders: pulumi config set dmarcPolicy quarantine && pulumi up",
        { code: "not-enforcing" },
      ),
    );
  } else {
    results.push(dns.pass("dns.dmarc.enforcement", `p=${applied} for stack ${expected.stack}`));
  }
  return results;
}

function checkPolicy(
  parser: DmarcParser,
  record: ParsedDmarcRecord,
  inherited: boolean,
  expected: DmarcExpectation,
  publish: string,
  dkimFirst: string,
): CheckResult {
  const id = "dns.dmarc.policy";
  for (const tag of ["p", "sp", "np"] as const) {
    const value = record[tag];
    if (value === undefined && tag !== "p") continue;
    if (value === undefined || !POLICIES.has(value)) {
      // RFC 9989 §4.10.1: an invalid p, sp or np leaves the record at p=none (with rua) or without DMARC.
      const applied = parser.getPolicyTags(record);
      const effect = applied ? "receivers treat the record as p=none" : "receivers apply no DMARC at all";
      return dns.fail(
        id,
        `${tag}=${value ?? "(missing)"} is not none, quarantine or reject: ${effect}`,
        `${publish}${dkimFirst}`,
        { code: `invalid-${tag}`, details: { published: record.rr } },
      );
    }
  }
  const effective = (inherited ? (record.sp ?? record.p) : record.p) as DmarcPolicy;
  if (effective === expected.policy) {
    return dns.pass(id, `DMARC policy p=${effective} matches the stack's stage`);
  }
  // Adopting the published policy into config is only offered when it cannot break mail.
  const adopt =
    effective === "none" || expected.dkimOk
      ? `, or if ${effective} is intended: pulumi config set dmarcPolicy ${effective} && pulumi up`
      : "";
  return dns.fail(
    id,
    `DMARC policy is ${inherited ? "sp" : "p"}=${effective} but the stack's dmarcPolicy stage is "${expected.policy}"`,
    `${publish}${adopt}${dkimFirst}`,
    { code: "mismatch", details: { published: effective, expected: expected.policy } },
  );
}

function checkRua(record: ParsedDmarcRecord, expected: DmarcExpectation, publish: string): CheckResult {
  const id = "dns.dmarc.rua";
  if (!record.rua) {
    return dns.warn(
      id,
      "DMARC record has no rua=: nobody receives aggregate reports",
      expected.rua?.length ? publish : "pulumi config set dmarcRua dmarc-reports@<your domain> && pulumi up",
      { code: "missing" },
    );
  }
  const uris = record.rua.split(",").map((u) => u.trim().replace(/![0-9]+[kmgt]?$/i, ""));
  const bad = uris.filter((u) => !MAILTO.test(u));
  if (bad.length > 0) {
    return dns.fail(
      id,
      `rua=${record.rua}: ${bad.join(", ")} is not a mailto: URI, so no report reaches it (RFC 9989 §4.8)`,
      publish,
      { code: "invalid-uri", details: { published: record.rua } },
    );
  }
  return dns.pass(id, `aggregate reports go to ${uris.join(", ")}`);
}

function checkAlignment(
  record: ParsedDmarcRecord,
  domain: string,
  expected: DmarcExpectation,
  publish: string,
): CheckResult {
  const id = "dns.dmarc.alignment";
  if (record.adkim === "s" && expected.fromDomain !== domain) {
    return dns.fail(
      id,
      `adkim=s but Resend signs d=${domain} and the From address is at ${expected.fromDomain}: DKIM never aligns strictly, and SPF cannot either`,
      publish,
      { code: "strict-dkim" },
    );
  }
  if (record.aspf === "s") {
    return dns.warn(
      id,
      `aspf=s: Resend's return path is a subdomain of ${domain} (send. by default), which only aligns relaxed, so SPF never counts for DMARC and it rests on DKIM alone`,
      publish,
      { code: "strict-spf" },
    );
  }
  return dns.pass(
    id,
    `alignment ${record.adkim === "s" ? "adkim=s" : "relaxed"} fits Resend's signing and return path`,
  );
}
