import { Resolver } from "node:dns/promises";
import type { DomainRecordState } from "./domain-model";

/**
 * Looks records up the way a verifier on the internet would: through a resolver (here the DNS
 * stand-in), so what counts is what DNS answers, not what a provider API claims it wrote.
 */
export class DnsChecker {
  private readonly resolver: Resolver;

  constructor(dnsServer: string) {
    this.resolver = new Resolver({ timeout: 1_000, tries: 1 });
    this.resolver.setServers([dnsServer]);
  }

  /** True when DNS serves a value that satisfies `record`; lookup errors (NXDOMAIN, SERVFAIL, timeout) are false. */
  async isPresent(record: DomainRecordState): Promise<boolean> {
    try {
      switch (record.type) {
        case "TXT": {
          // A TXT record may be split into several strings (Route53 does at 255); they form one value.
          const values = (await this.resolver.resolveTxt(record.fqdn)).map((parts) =>
            unquote(parts.join("")),
          );
          return values.some((value) => txtMatches(record, value));
        }
        case "MX": {
          const answers = await this.resolver.resolveMx(record.fqdn);
          return answers.some((mx) => sameHost(mx.exchange, record.value));
        }
        case "CNAME": {
          const answers = await this.resolver.resolveCname(record.fqdn);
          return answers.some((target) => sameHost(target, record.value));
        }
      }
    } catch {
      return false;
    }
  }

  cancel(): void {
    this.resolver.cancel();
  }
}

function txtMatches(record: DomainRecordState, value: string): boolean {
  if (record.record === "DKIM") {
    // DKIM is tag=value pairs; a `v=DKIM1; k=rsa;` prefix or spacing does not change the key.
    return dkimTags(value).get("p") === dkimTags(record.value).get("p");
  }
  const terms = value.trim().split(/\s+/);
  return terms[0]?.toLowerCase() === "v=spf1" && terms.includes("include:amazonses.com");
}

function dkimTags(value: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of value.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) tags.set(part.slice(0, eq).trim(), part.slice(eq + 1).replace(/\s+/g, ""));
  }
  return tags;
}

/** DNS providers sometimes store TXT with its quotes; what matters is the text between them. */
function unquote(value: string): string {
  const trimmed = value.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
    ? trimmed.slice(1, -1)
    : trimmed;
}

function sameHost(a: string, b: string): boolean {
  const norm = (h: string) => h.toLowerCase().replace(/\.$/, "");
  return norm(a) === norm(b);
}
