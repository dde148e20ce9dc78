import type { DnsStandIn, DnsValue } from "../dns";
import {
  type CloudflareRecordInputs,
  type DecodedRecord,
  DnsEncodingError,
  decodeCloudflareRecord,
  decodeRoute53Record,
  type Route53RecordInputs,
  zoneIdFor,
} from "./dns-records";

export type DnsProviderKind = "cloudflare" | "route53";

/**
 * Cloudflare and Route53 as the program sees them: zone lookups by name, and record resources written
 * into the DNS stand-in's zones in each provider's own encoding. Several resources may contribute to one
 * RRset (same name and type), as several Cloudflare records of one name do.
 */
export class DnsPublisher {
  private readonly contributions = new Map<string, Map<string, DecodedRecord>>();

  constructor(private readonly dns: DnsStandIn) {}

  /** The zone id a `getZone` lookup answers; fails like the provider does when no zone matches. */
  zoneId(provider: DnsProviderKind, zoneName: unknown): string {
    const apex = String(zoneName ?? "")
      .toLowerCase()
      .replace(/\.$/, "");
    if (!this.dns.zones().includes(apex)) {
      throw new DnsEncodingError(
        `${provider} getZone: no zone named "${zoneName}" (the sandbox DNS serves ${this.dns.zones().join(", ")}); set dnsZone to one of them`,
      );
    }
    return zoneIdFor(provider, apex);
  }

  /** Decodes a record resource with its provider's rules and serves it from the DNS stand-in. */
  publish(provider: DnsProviderKind, resourceName: string, inputs: Record<string, unknown>): DecodedRecord {
    const zone = this.zoneOf(provider, inputs.zoneId);
    const record =
      provider === "cloudflare"
        ? decodeCloudflareRecord(zone, inputs as CloudflareRecordInputs)
        : decodeRoute53Record(zone, inputs as Route53RecordInputs);
    const key = `${record.name}|${record.type}`;
    const rrset = this.contributions.get(key) ?? new Map<string, DecodedRecord>();
    rrset.set(resourceName, record);
    const values: DnsValue[] = [...rrset.values()].flatMap((r) => r.values);
    this.dns.upsert({ name: record.name, type: record.type, ttl: record.ttl, values });
    this.contributions.set(key, rrset);
    return record;
  }

  private zoneOf(provider: DnsProviderKind, zoneId: unknown): string {
    const zone = this.dns.zones().find((apex) => zoneIdFor(provider, apex) === zoneId);
    if (!zone) {
      throw new DnsEncodingError(
        `${provider} record: zoneId ${JSON.stringify(zoneId)} is not a zone of this account; look it up with getZone`,
      );
    }
    return zone;
  }
}
