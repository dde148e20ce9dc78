import { randomBytes } from "node:crypto";
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

/** A record the provider's API refuses because another record is in the way. */
export class DnsConflictError extends Error {
  override name = "DnsConflictError";
}

const sameValues = (a: DnsValue[], b: DnsValue[]) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Cloudflare and Route53 as the program sees them: zone lookups by name, and record resources written
 * into the DNS stand-in's zones in each provider's own encoding, created, updated and deleted by id. Several
 * Cloudflare records of one name and type form one RRset; Route53 has one record set per name and type. Each
 * API's refusals are kept: Route53 will not create a record set that exists, Cloudflare will not create a
 * record identical to another.
 */
export class DnsPublisher {
  /** RRset key (`name|type`) → the records contributing to it, by record id. */
  private readonly contributions = new Map<string, Map<string, DecodedRecord>>();
  /** Record id → the RRset key it contributes to. */
  private readonly owners = new Map<string, string>();

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

  /**
   * Creates a record from a record resource's inputs: decoded with its provider's rules and served from the
   * DNS stand-in. Its id is the provider's: Route53's `<zone>_<name>_<type>`, a random one for Cloudflare.
   */
  create(provider: DnsProviderKind, inputs: Record<string, unknown>): { id: string; record: DecodedRecord } {
    const { zoneId, record } = this.decode(provider, inputs);
    const id =
      provider === "route53" ? `${zoneId}_${record.name}_${record.type}` : randomBytes(16).toString("hex");
    this.publish(provider, id, record, "create");
    return { id, record };
  }

  /** Updates a record in place (same id): what it served before is replaced. */
  update(provider: DnsProviderKind, id: string, inputs: Record<string, unknown>): DecodedRecord {
    const { record } = this.decode(provider, inputs);
    this.publish(provider, id, record, "update");
    return record;
  }

  /** Deletes a record; the rest of its RRset keeps being served. */
  delete(id: string): void {
    const key = this.owners.get(id);
    if (key === undefined) return;
    this.owners.delete(id);
    this.contributions.get(key)?.delete(id);
    this.serve(key);
  }

  /** Whether a record exists (what a refresh reads). */
  exists(id: string): boolean {
    return this.owners.has(id);
  }

  private decode(provider: DnsProviderKind, inputs: Record<string, unknown>) {
    const zone = this.zoneOf(provider, inputs.zoneId);
    const record =
      provider === "cloudflare"
        ? decodeCloudflareRecord(zone, inputs as CloudflareRecordInputs)
        : decodeRoute53Record(zone, inputs as Route53RecordInputs);
    return { zoneId: String(inputs.zoneId), record };
  }

  /** Serves `record` as the record `id`, unless the provider's API would refuse it. */
  private publish(
    provider: DnsProviderKind,
    id: string,
    record: DecodedRecord,
    op: "create" | "update",
  ): void {
    const key = `${record.name}|${record.type}`;
    // On create every record already there is another; an update may rewrite its own.
    const others = [...(this.contributions.get(key) ?? new Map<string, DecodedRecord>())].filter(
      ([owner]) => op === "create" || owner !== id,
    );
    if (provider === "route53" && others.length > 0) {
      throw new DnsConflictError(
        `route53 InvalidChangeBatch: Tried to create resource record set [name='${record.name}.', type='${record.type}'] but it already exists`,
      );
    }
    if (provider === "cloudflare" && others.some(([, other]) => sameValues(other.values, record.values))) {
      throw new DnsConflictError(
        `cloudflare error 81058: An identical record already exists (${record.type} ${record.name})`,
      );
    }
    this.delete(id);
    const rrset = this.contributions.get(key) ?? new Map<string, DecodedRecord>();
    rrset.set(id, record);
    this.contributions.set(key, rrset);
    this.owners.set(id, key);
    this.serve(key);
  }

  private serve(key: string): void {
    const rrset = this.contributions.get(key);
    const records = [...(rrset?.values() ?? [])];
    const first = records[0];
    if (!first) {
      this.contributions.delete(key);
      const [name, type] = key.split("|") as [string, DecodedRecord["type"]];
      this.dns.remove(name, type);
      return;
    }
    const values: DnsValue[] = records.flatMap((r) => r.values);
    this.dns.upsert({ name: first.name, type: first.type, ttl: first.ttl, values });
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
