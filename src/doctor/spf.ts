import type { Answer, DnsLookup } from "./dns-lookup";
import { type CheckResult, plural, resultsFor } from "./types";

const dns = resultsFor("dns");

/**
 * SPF evaluation limits (RFC 7208 §4.6.4): a receiver stops with `permerror` after 10 mechanisms or
 * modifiers that query DNS (include, a, mx, ptr, exists, redirect), counted across every include followed,
 * or after 2 "void" lookups (a name with no record). A permerror means SPF fails for every message, so
 * DMARC then rests on DKIM alone. Fetching is separate from counting so the counting is a pure function.
 */

const MAX_DNS_LOOKUPS = 10;
const MAX_VOID_LOOKUPS = 2;
/** Stop collecting after this many names: a chain this long is over the limit whatever it holds. */
const MAX_NAMES = 40;

const LOOKUP_TERMS = new Set(["include", "a", "mx", "ptr", "exists", "redirect"]);

export interface SpfTerm {
  name: string;
  /** What follows `:` or `=`, e.g. the include target; empty when there is none. */
  value: string;
}

export function isSpfRecord(txt: string): boolean {
  return /^v=spf1(\s|$)/i.test(txt.trim());
}

export function parseSpf(record: string): SpfTerm[] {
  return record
    .trim()
    .split(/\s+/)
    .slice(1)
    .filter((term) => term.length > 0)
    .map((term) => {
      const bare = term.replace(/^[+\-~?]/, "");
      const match = /^([a-z0-9_.-]+)(?:[:=](.*))?$/i.exec(bare);
      return { name: (match?.[1] ?? bare).toLowerCase(), value: (match?.[2] ?? "").toLowerCase() };
    });
}

/** Targets whose own SPF record counts: `include:` and `redirect=` (macros are left alone). */
function followed(terms: SpfTerm[]): string[] {
  return terms
    .filter((t) => (t.name === "include" || t.name === "redirect") && t.value && !t.value.includes("%"))
    .map((t) => t.value.replace(/\.$/, ""));
}

/** TXT answers for every name an SPF record leads to, keyed by name. */
export type SpfRecords = Map<string, Answer<string>>;

/** Fetches the TXT records of the SPF record at `name` and of every include/redirect it leads to. */
export async function collectSpfRecords(
  name: string,
  rootRecord: string,
  lookup: DnsLookup,
): Promise<SpfRecords> {
  const records: SpfRecords = new Map([[name, { kind: "found", values: [rootRecord] }]]);
  const queue = followed(parseSpf(rootRecord));
  while (queue.length > 0 && records.size < MAX_NAMES) {
    const next = queue.shift() as string;
    if (records.has(next)) continue;
    const answer = await lookup.txt(next);
    records.set(next, answer);
    const spf = answer.kind === "found" ? answer.values.find(isSpfRecord) : undefined;
    if (spf) queue.push(...followed(parseSpf(spf)));
  }
  return records;
}

export interface SpfAnalysis {
  lookups: number;
  voidLookups: number;
  /** Permanent errors a receiver would hit: no SPF record at an include target, a loop. */
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

/** The RFC 7208 limits for the SPF record at `name`, from {@link analyzeSpf}. */
export function checkSpfLimits(name: string, analysis: SpfAnalysis): CheckResult[] {
  const id = "dns.spf-lookups";
  const results: CheckResult[] = [];
  const trail = analysis.path.join(" ");
  if (analysis.lookups > MAX_DNS_LOOKUPS) {
    results.push(
      dns.fail(
        id,
        `SPF at ${name} needs ${analysis.lookups} DNS lookups (limit ${MAX_DNS_LOOKUPS}): ${trail}`,
        `remove includes from the TXT at ${name} (or replace them with ip4:/ip6: ranges) until at most ${MAX_DNS_LOOKUPS} lookups remain`,
      ),
    );
  }
  if (analysis.voidLookups > MAX_VOID_LOOKUPS) {
    results.push(
      dns.fail(
        `${id}.void`,
        `SPF at ${name} has ${analysis.voidLookups} lookups of names without records (limit ${MAX_VOID_LOOKUPS})`,
        `remove the includes of names that do not exist from the TXT at ${name}`,
      ),
    );
  }
  for (const error of analysis.errors) {
    results.push(
      dns.fail(
        `${id}.permerror`,
        `SPF at ${name}: ${error}`,
        `fix or remove that term in the TXT at ${name}`,
      ),
    );
  }
  if (analysis.unresolved.length > 0) {
    results.push(
      dns.warn(
        `${id}.unresolved`,
        `SPF at ${name}: could not follow ${analysis.unresolved.join(", ")}; ${plural(analysis.lookups, "lookup")} counted so far`,
        "check the resolver (--dns-server host:port) and run the doctor again",
      ),
    );
  }
  // With an include unresolved the count is only a lower bound, so it earns no pass.
  if (results.length === 0) {
    results.push(dns.pass(id, `SPF at ${name} needs ${analysis.lookups} of ${MAX_DNS_LOOKUPS} DNS lookups`));
  }
  return results;
}
