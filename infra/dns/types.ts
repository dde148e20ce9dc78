import type * as pulumi from "@pulumi/pulumi";
import type { DnsProviderName } from "../config";
import type { RecordType } from "./profiles";

/** One record to publish; values may still be unknown (Outputs) while names and types are fixed. */
export interface DnsRecordSpec {
  /** Logical name suffix, static per slot so previews and diffs stay stable. */
  slot: string;
  /** Fully qualified name, no trailing dot; known from the settings except for names Resend picks. */
  fqdn: pulumi.Input<string>;
  type: RecordType;
  /** The record's value as the DNS answer should carry it: unquoted, unsplit TXT text; bare MX host. */
  content: pulumi.Input<string>;
  priority?: pulumi.Input<number>;
  /** What the record is for, in the provider's comment where it has one. */
  description: string;
}

/** A published record, in a provider-neutral shape for stack outputs and the verification fingerprint. */
export interface PublishedRecord {
  resource: pulumi.CustomResource;
  name: pulumi.Output<string>;
  type: RecordType;
  /** The value exactly as this provider stores it (quoted or split as the provider needs). */
  value: pulumi.Output<string>;
  ttl: number;
  priority?: pulumi.Output<number | undefined>;
}

/**
 * Writes DNS records into one provider's zone. A provider is one file implementing this: it owns its zone
 * lookup and its value encoding (quoting, TXT splitting), nothing else.
 */
export interface DnsAdapter {
  readonly provider: DnsProviderName;
  publish(name: string, spec: DnsRecordSpec, opts: pulumi.CustomResourceOptions): PublishedRecord;
}

export interface DnsAdapterSettings {
  zone: string;
  /** Provider zone id; looked up by `zone` when absent. */
  zoneId?: string;
  ttl: number;
  stack: string;
  project: string;
}

/**
 * Options every DNS record resource gets. A record whose name or type changes (a record profile switch) is
 * replaced, never updated in place, and the old record goes first: Cloudflare refuses a second identical
 * record (81058) and any record beside a CNAME, Route53 refuses to create a record set that exists, so
 * create-before-delete would stop the `up`. Value changes (a new DKIM key) still update in place.
 */
export function recordOptions(opts: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions {
  return { ...opts, deleteBeforeReplace: true, replaceOnChanges: ["name", "type"] };
}
