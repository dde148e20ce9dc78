import type * as pulumi from "@pulumi/pulumi";
import type { DnsProviderName } from "../config";
import type { RecordType } from "./records";

/** One record to publish; values may still be unknown (Outputs) while names and types are fixed. */
export interface DnsRecordSpec {
  /** Logical name suffix, static per slot so previews and diffs stay stable. */
  slot: string;
  /** Fully qualified name, no trailing dot. */
  fqdn: string;
  type: RecordType;
  /** The record's value as the DNS answer should carry it: unquoted, unsplit TXT text; bare MX host. */
  content: pulumi.Input<string>;
  priority?: pulumi.Input<number>;
  description: string;
}

/** A published record, in a provider-neutral shape for stack outputs and the verification fingerprint. */
export interface PublishedRecord {
  resource: pulumi.CustomResource;
  name: string;
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
