// mailauth ships types only for its top-level API; the doctor uses two of its pure parsers directly, so
// it can feed them the TXT records it already resolved instead of letting mailauth do its own lookups.

declare module "mailauth/lib/spf/syntax.js" {
  /** The first RFC 7208 §4.6 syntax error in `terms` (the record minus `v=spf1`, split on spaces), or false. */
  export function validateTerms(terms: string[]): string | false;
}

declare module "mailauth/lib/dmarc/get-dmarc-record.js" {
  export interface ParsedDmarcRecord {
    v?: string;
    p?: string;
    sp?: string;
    np?: string;
    adkim?: string;
    aspf?: string;
    rua?: string;
    ruf?: string;
    pct?: number;
    t?: string;
    psd?: string;
    rr: string;
    [tag: string]: unknown;
  }
  /**
   * RFC 9989 tag-list parsing. With `strict`, a duplicated tag makes the record invalid (`null`); otherwise
   * `warnings` collects `duplicate-tag` and `tag-case`.
   */
  export function parseDmarcRecord(
    txt: string,
    opts?: { strict?: boolean; warnings?: Set<string> },
  ): ParsedDmarcRecord | null;
  /** The tags a record is applied with (RFC 9989 §4.10.1); `null` when it gets no DMARC processing at all. */
  export function getPolicyTags(record: ParsedDmarcRecord): { p: string; sp?: string; np?: string } | null;
  export type TxtResolver = (name: string, type: "TXT") => Promise<string[][]>;
  /** DMARC policy discovery by the RFC 9989 DNS tree walk, through `lookup`. Throws on DNS errors. */
  export function discoverPolicy(
    domain: string,
    lookup: (name: string) => Promise<ParsedDmarcRecord | false>,
  ): Promise<{
    record: ParsedDmarcRecord | false;
    recordDomain: string | null;
    orgDomain: string | null;
    orgRecord: ParsedDmarcRecord | false | null;
    error?: unknown;
  }>;
  export function createRecordLookup(
    resolver: TxtResolver,
    opts?: { strict?: boolean },
  ): (name: string) => Promise<ParsedDmarcRecord | false>;
}
