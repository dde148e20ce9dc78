/** A record in the DNS stand-in. `name` is a fully qualified name without the trailing dot. */
export interface DnsRecordInput {
  name: string;
  type: "A" | "AAAA" | "CNAME" | "MX" | "TXT" | "CAA" | "NS";
  /** Seconds; 300 when omitted. */
  ttl?: number;
  /**
   * One entry per resource record. TXT: each entry is the record's character-strings (several
   * strings make one TXT record, as Route53 writes a value split at 255); MX: `{priority, exchange}`;
   * CAA: `{flags, tag, value}`; others: the target string.
   */
  values: DnsValue[];
}

export type DnsValue =
  | string
  | string[]
  | { priority: number; exchange: string }
  | { flags: number; tag: string; value: string };

/** How the stand-in misbehaves for one name: the answers a flaky or broken resolver path gives. */
export type DnsFault = "nxdomain" | "servfail" | "timeout";

export type DnsRecordType = DnsRecordInput["type"];

export const DNS_RECORD_TYPES: readonly DnsRecordType[] = ["A", "AAAA", "CNAME", "MX", "TXT", "CAA", "NS"];

export const DNS_FAULTS: readonly DnsFault[] = ["nxdomain", "servfail", "timeout"];
