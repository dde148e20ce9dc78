import { dmarcValue } from "../../infra/dns/records";
import type { DmarcPolicy } from "../settings/stack-config";
import type { Answer, DnsLookup } from "./dns-lookup";
import { lookupWarning } from "./records";
import { type CheckResult, resultsFor } from "./types";

/**
 * DMARC for the sending domain (RFC 7489): one `v=DMARC1` TXT at `_dmarc.<domain>`, or, when there is none,
 * the organizational domain's record applies (its `sp=` if set). The stack publishes its own record at
 * `_dmarc.<sendingDomain>`, so its policy is what the stack's `dmarcPolicy` stage says.
 */

export interface DmarcFacts {
  domain: string;
  /** The organizational domain (the stack's DNS zone). */
  orgDomain: string;
  own: Answer<string>;
  /** Only fetched when the domain has no record of its own. */
  org?: Answer<string>;
}

export interface DmarcExpectation {
  policy: DmarcPolicy;
  pct: number;
  rua?: string[];
  stack: string;
}

const isDmarc = (txt: string) => /^v=DMARC1\s*(;|$)/i.test(txt.trim());
const dmarcRecords = (answer: Answer<string> | undefined) =>
  answer?.kind === "found" ? answer.values.filter(isDmarc) : [];

export async function fetchDmarcFacts(
  domain: string,
  orgDomain: string,
  lookup: DnsLookup,
): Promise<DmarcFacts> {
  const own = await lookup.txt(`_dmarc.${domain}`);
  if (dmarcRecords(own).length > 0 || orgDomain === domain || own.kind === "error") {
    return { domain, orgDomain, own };
  }
  return { domain, orgDomain, own, org: await lookup.txt(`_dmarc.${orgDomain}`) };
}

function dmarcTags(record: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const part of record.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) tags[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim();
  }
  return tags;
}

const dns = resultsFor("dns");

export function checkDmarc(facts: DmarcFacts, expected: DmarcExpectation): CheckResult[] {
  const name = `_dmarc.${facts.domain}`;
  const wanted = dmarcValue({ policy: expected.policy, pct: expected.pct, rua: expected.rua });
  const publish = `publish TXT ${name} = "${wanted}" (pulumi up publishes it)`;
  if (facts.own.kind === "error") return [lookupWarning("dns.dmarc.present", `TXT ${name}`, facts.own.code)];

  const own = dmarcRecords(facts.own);
  const results: CheckResult[] = [];
  let record: string;
  let effectivePolicy: string | undefined;
  if (own.length > 1) {
    return [
      dns.fail(
        "dns.dmarc.single",
        `${name} has ${own.length} v=DMARC1 records; receivers then apply no DMARC at all`,
        `delete all but one TXT at ${name}, keeping "${wanted}"`,
      ),
    ];
  }
  if (own.length === 1) {
    record = own[0] as string;
    effectivePolicy = dmarcTags(record).p;
    results.push(dns.pass("dns.dmarc.present", `${name} = "${record}"`));
  } else {
    const inherited = dmarcRecords(facts.org);
    if (facts.org?.kind === "error")
      return [lookupWarning("dns.dmarc.present", `TXT ${name}`, facts.org.code)];
    if (inherited.length !== 1) {
      return [
        dns.fail("dns.dmarc.present", `no DMARC record at ${name} or _dmarc.${facts.orgDomain}`, publish),
      ];
    }
    record = inherited[0] as string;
    const tags = dmarcTags(record);
    effectivePolicy = tags.sp ?? tags.p;
    results.push(
      dns.warn(
        "dns.dmarc.present",
        `no record at ${name}; the domain inherits _dmarc.${facts.orgDomain} = "${record}" (policy ${effectivePolicy})`,
        publish,
      ),
    );
  }

  const tags = dmarcTags(record);
  if (effectivePolicy !== expected.policy) {
    results.push(
      dns.fail(
        "dns.dmarc.policy",
        `DMARC policy is p=${effectivePolicy ?? "(missing)"} but the stack's dmarcPolicy stage is "${expected.policy}"`,
        `${publish}, or if ${effectivePolicy ?? "that"} is intended: pulumi config set dmarcPolicy ${effectivePolicy ?? "none"} && pulumi up`,
      ),
    );
  } else {
    results.push(dns.pass("dns.dmarc.policy", `DMARC policy p=${effectivePolicy} matches the stack's stage`));
  }
  if (!tags.rua) {
    results.push(
      dns.warn(
        "dns.dmarc.rua",
        `DMARC record has no rua=: nobody receives aggregate reports`,
        "pulumi config set dmarcRua dmarc-reports@example.com && pulumi up",
      ),
    );
  }
  const pct = tags.pct === undefined ? 100 : Number(tags.pct);
  if (expected.policy !== "none" && pct !== expected.pct) {
    results.push(
      dns.warn(
        "dns.dmarc.pct",
        `DMARC pct=${tags.pct ?? "100 (default)"} but the stack's dmarcPct is ${expected.pct}`,
        `${publish}, or pulumi config set dmarcPct ${pct}`,
      ),
    );
  }
  if (effectivePolicy === "none" && expected.stack === "prod") {
    results.push(
      dns.warn(
        "dns.dmarc.enforcement",
        "p=none in prod: spoofed mail from the auth domain is only reported, not stopped",
        "once the rua reports show only legitimate senders: pulumi config set dmarcPolicy quarantine && pulumi up",
      ),
    );
  }
  return results;
}
