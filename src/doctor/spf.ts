import { validateTerms } from "mailauth/lib/spf/syntax.js";
import type { Answer, DnsLookup } from "./dns-lookup";
import { type CheckResult, plural, resultsFor } from "./types";

const dns = resultsFor("dns");

/**
 * SPF at Resend's return-path name. Syntax is mailauth's RFC 7208 §4.6 validator; what mailauth does not
 * offer without evaluating a message (it resolves as it goes) is counted here from the TXT records the
 * doctor fetched: a receiver stops with `permerror` after 10 mechanisms or modifiers that query DNS
 * (include, a, mx, ptr, exists, redirect), counted across every include followed, or after 2 "void"
 * lookups (a name with no record). A permerror means SPF fails for every message, so DMARC then rests on
 * DKIM alone. Fetching is separate from counting so the counting is a pure function.
 */

const MAX_DNS_LOOKUPS = 10;
const MAX_VOID_LOOKUPS = 2;
/** Stop collecting after this many names: a chain this long is over the limit whatever it holds. */
const MAX_NAMES = 40;

const LOOKUP_TERMS = new Set(["include", "a", "mx", "ptr", "exists", "redirect"]);

export interface SpfTerm {
  /** `+`, `-`, `~` or `?`; `+` when the term has none (RFC 7208 §4.6.2). */
  qualifier: string;
  name: string;
  /** What follows `:` or `=`, e.g. the include target; empty when there is none. */
  value: string;
}

export function isSpfRecord(txt: string): boolean {
  return /^v=spf1(\s|$)/i.test(txt.trim());
}

const termsOf = (record: string) => record.trim().split(/\s+/).slice(1).filter(Boolean);

export function parseSpf(record: string): SpfTerm[] {
  return termsOf(record).map((term) => {
    const qualifier = /^[+\-~?]/.test(term) ? (term[0] as string) : "+";
    const bare = term.replace(/^[+\-~?]/, "");
    const match = /^([a-z0-9_.-]+)(?:[:=](.*))?$/i.exec(bare);
    return { qualifier, name: (match?.[1] ?? bare).toLowerCase(), value: (match?.[2] ?? "").toLowerCase() };
  });
}

/** mailauth's verdict on the record's syntax: the first error, or undefined. */
export function spfSyntaxError(record: string): string | undefined {
  return validateTerms(termsOf(record)) || undefined;
}

/** Targets whose own SPF record counts: `include:` and `redirect=` (macros are left alone). */
function followed(terms: SpfTerm[]): string[] {
  return terms
    .filter((t) => (t.name === "include" || t.name === "redirect") && t.value && !t.value.includes("%"))
    .map((t) => t.value.replace(/\.$/, ""));
}

/** TXT answers for every name an SPF record leads to, keyed by name. */
export type SpfRecords = Map<string, Answer<string>>;

/**
 * Fetches the TXT records of the SPF record at `name` and of every include/redirect it leads to, one level
 * of the tree at a time with the names of a level in parallel.
 */
export async function collectSpfRecords(
  name: string,
  rootRecord: string,
  lookup: DnsLookup,
): Promise<SpfRecords> {
  const records: SpfRecords = new Map([[name, { kind: "found", values: [rootRecord] }]]);
  let level = followed(parseSpf(rootRecord));
  while (level.length > 0 && records.size < MAX_NAMES) {
    const fresh = [...new Set(level)].filter((n) => !records.has(n)).slice(0, MAX_NAMES - records.size);
    const answers = await Promise.all(fresh.map((n) => lookup.txt(n)));
    level = [];
    fresh.forEach((n, i) => {
      const answer = answers[i] as Answer<string>;
      records.set(n, answer);
      const spf = answer.kind === "found" ? answer.values.find(isSpfRecord) : undefined;
      if (spf) level.push(...followed(parseSpf(spf)));
    });
  }
  return records;
}

export interface SpfAnalysis {
  lookups: number;
  voidLookups: number;
  /** Permanent errors a receiver would hit: syntax, no SPF record at an include target, a loop. */
  errors: string[];
  /** Names that could not be fetched (network): the counts are then a lower bound. */
  unresolved: string[];
  /** The mechanisms that query DNS, in evaluation order, e.g. `include:amazonses.com`. */
  path: string[];
}

/** Counts DNS-querying terms and void lookups the way a receiver evaluates the record at `name`. */
export function analyzeSpf(name: string, records: SpfRecords): SpfAnalysis {
  const result: SpfAnalysis = { lookups: 0, voidLookups: 0, errors: [], unresolved: [], path: [] };
  const walk = (domain: string, stack: string[]): void => {
    const answer = records.get(domain);
    const spf = answer?.kind === "found" ? answer.values.filter(isSpfRecord) : [];
    // Two records at the evaluated name are a permerror; the root's duplicates are reported on their own.
    if (spf.length > 1 && stack.length > 1) result.errors.push(`${domain} has ${spf.length} v=spf1 records`);
    if (spf.length !== 1) return;
    const syntax = spfSyntaxError(spf[0] as string);
    if (syntax) {
      result.errors.push(`${stack.length > 1 ? `${domain}: ` : ""}${syntax}`);
      return;
    }
    for (const term of parseSpf(spf[0] as string)) {
      if (!LOOKUP_TERMS.has(term.name)) continue;
      result.lookups += 1;
      result.path.push(term.value ? `${term.name}:${term.value}` : term.name);
      if (term.name !== "include" && term.name !== "redirect") continue;
      const target = term.value.replace(/\.$/, "");
      if (stack.includes(target)) {
        result.errors.push(`${term.name}:${target} loops back to itself`);
        continue;
      }
      const targetAnswer = records.get(target);
      if (!targetAnswer) continue; // not collected: beyond the collection limit or a macro
      if (targetAnswer.kind === "error") {
        result.unresolved.push(`${target} (${targetAnswer.code})`);
        continue;
      }
      if (targetAnswer.kind === "absent") {
        result.voidLookups += 1;
        result.errors.push(`${term.name}:${target} has no TXT record`);
        continue;
      }
      if (!targetAnswer.values.some(isSpfRecord)) {
        result.errors.push(`${term.name}:${target} has no v=spf1 record`);
        continue;
      }
      walk(target, [...stack, target]);
    }
  };
  walk(name, [name]);
  return result;
}

/** The RFC 7208 limits and permerrors for the SPF record at `name`, from {@link analyzeSpf}. */
export function checkSpfLimits(name: string, analysis: SpfAnalysis): CheckResult[] {
  const trail = analysis.path.join(" ");
  const details = { lookups: analysis.lookups, voidLookups: analysis.voidLookups, path: analysis.path };
  let lookups: CheckResult;
  if (analysis.lookups > MAX_DNS_LOOKUPS) {
    lookups = dns.fail(
      "dns.spf-lookups",
      `SPF at ${name} needs ${analysis.lookups} DNS lookups (limit ${MAX_DNS_LOOKUPS}): ${trail}`,
      `remove includes from the TXT at ${name} (or replace them with ip4:/ip6: ranges) until at most ${MAX_DNS_LOOKUPS} lookups remain`,
      { code: "too-many", details },
    );
  } else if (analysis.voidLookups > MAX_VOID_LOOKUPS) {
    lookups = dns.fail(
      "dns.spf-lookups",
      `SPF at ${name} has ${analysis.voidLookups} lookups of names without records (limit ${MAX_VOID_LOOKUPS})`,
      `remove the includes of names that do not exist from the TXT at ${name}`,
      { code: "too-many-void", details },
    );
  } else if (analysis.unresolved.length > 0) {
    // With an include unresolved the count is only a lower bound, so it earns no pass.
    lookups = dns.warn(
      "dns.spf-lookups",
      `SPF at ${name}: could not follow ${analysis.unresolved.join(", ")}; ${plural(analysis.lookups, "lookup")} counted so far`,
      "check the resolver (--dns-server host:port) and run the doctor again",
      { code: "unresolved", details },
    );
  } else {
    lookups = dns.pass(
      "dns.spf-lookups",
      `SPF at ${name} needs ${analysis.lookups} of ${MAX_DNS_LOOKUPS} DNS lookups`,
      details,
    );
  }
  const syntax =
    analysis.errors.length > 0
      ? dns.fail(
          "dns.spf-syntax",
          `SPF at ${name} is a permerror for receivers: ${analysis.errors.join("; ")}`,
          `fix or remove those terms in the TXT at ${name} (or in the included record named)`,
          { code: "permerror", details: { errors: analysis.errors } },
        )
      : dns.pass("dns.spf-syntax", `SPF at ${name} and every record it includes parse cleanly`);
  return [lookups, syntax];
}

/**
 * What the record says about every other server: `+all` authorizes the whole internet to send as the domain,
 * `?all` (or no `all` at all) says nothing, so neither protects it. Resend publishes `~all`.
 */
export function checkSpfAll(name: string, record: string): CheckResult {
  const id = "dns.spf-all";
  const terms = parseSpf(record);
  const all = terms.find((t) => t.name === "all");
  const fix = `end the TXT at ${name} with ~all (as Resend publishes it) or -all; pulumi up --refresh restores Resend's record`;
  if (!all) {
    if (terms.some((t) => t.name === "redirect")) return dns.pass(id, `SPF at ${name} ends in a redirect=`);
    return dns.warn(id, `SPF at ${name} has no all term: mail from any other server is neutral`, fix, {
      code: "no-all",
    });
  }
  if (all.qualifier === "+") {
    return dns.fail(
      id,
      `SPF at ${name} ends in +all: every server on the internet may send as this domain, so filters distrust it`,
      fix,
      { code: "pass-all" },
    );
  }
  if (all.qualifier === "?") {
    return dns.warn(id, `SPF at ${name} ends in ?all: other servers are neutral, not refused`, fix, {
      code: "neutral-all",
    });
  }
  return dns.pass(id, `SPF at ${name} ends in ${all.qualifier}all`);
}
