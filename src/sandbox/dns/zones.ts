import type { DnsFault, DnsRecordInput, DnsRecordType } from "./types";
import { DnsInputError, normalizeName, parseRecord } from "./validate";

export type StoredRecord = Required<DnsRecordInput>;

/** Query types the store answers beyond the record types it stores. */
export type QueryType = DnsRecordType | "SOA" | "ANY" | "OTHER";

/** The outcome of one question, independent of the wire format. */
export type Lookup =
  | { kind: "fault"; fault: DnsFault }
  | { kind: "refused" }
  | {
      kind: "answer";
      rcode: "NOERROR" | "NXDOMAIN";
      answers: StoredRecord[];
      /** Zone whose SOA goes in the authority section (negative answers), if any. */
      soaZone?: string;
      /** The apex whose synthesized SOA is itself the answer (an SOA query at an apex). */
      soaAnswer?: string;
      /** A delegation to a zone this server does not serve: its NS RRset goes in the authority section. */
      referral?: StoredRecord;
    };

/** CNAME chains longer than this are cut off, as resolvers do, so a loop cannot spin forever. */
const MAX_CHASE = 8;

/**
 * Authoritative data for the served zones: RRsets keyed by name and type, per-name faults,
 * and the resolution rules (exact RRset, in-zone CNAME chasing, NXDOMAIN vs NODATA, REFUSED).
 */
export class ZoneStore {
  private readonly zones = new Map<string, { serial: number }>();
  private readonly rrsets = new Map<string, StoredRecord>();
  private readonly faults = new Map<string, DnsFault>();

  addZone(apex: string): void {
    const name = normalizeName(apex, "apex");
    if (!this.zones.has(name)) this.zones.set(name, { serial: 1 });
  }

  zoneList(): string[] {
    return [...this.zones.keys()];
  }

  serial(apex: string): number {
    return this.zones.get(apex)?.serial ?? 1;
  }

  /** The most specific served zone containing `name`, if any. */
  zoneOf(name: string): string | undefined {
    let best: string | undefined;
    for (const apex of this.zones.keys()) {
      if ((name === apex || name.endsWith(`.${apex}`)) && (!best || apex.length > best.length)) best = apex;
    }
    return best;
  }

  /** Replaces the RRset (name + type); `input` is validated, so JSON from the admin API can be passed as is. */
  upsert(input: unknown): StoredRecord {
    const record = parseRecord(input);
    const zone = this.zoneOf(record.name);
    if (!zone) {
      throw new DnsInputError(
        `name "${record.name}" is outside every served zone (${this.zoneList().join(", ") || "none"}); add its zone first`,
      );
    }
    const atName = this.recordsAt(record.name).filter((r) => r.type !== record.type);
    // As Route53 and Cloudflare do: a CNAME owns its name alone (RFC 1034 §3.6.2).
    if (record.type === "CNAME" && atName.length > 0) {
      throw new DnsInputError(
        `name "${record.name}" already has ${atName.map((r) => r.type).join(", ")} records; a CNAME cannot sit beside them`,
      );
    }
    if (record.type !== "CNAME" && atName.some((r) => r.type === "CNAME")) {
      throw new DnsInputError(
        `name "${record.name}" has a CNAME; remove it before adding ${record.type} records`,
      );
    }
    this.rrsets.set(key(record.name, record.type), record);
    this.bumpSerial(zone);
    return record;
  }

  /** Removes one RRset, or every RRset at `name` when `type` is absent; returns how many were removed. */
  remove(name: string, type?: DnsRecordType): number {
    const normalized = normalizeName(name);
    let removed = 0;
    for (const record of this.recordsAt(normalized)) {
      if (type && record.type !== type) continue;
      this.rrsets.delete(key(record.name, record.type));
      removed += 1;
    }
    const zone = this.zoneOf(normalized);
    if (removed > 0 && zone) this.bumpSerial(zone);
    return removed;
  }

  records(): StoredRecord[] {
    return [...this.rrsets.values()].map((r) => structuredClone(r));
  }

  setFault(name: string, fault: DnsFault | null): void {
    const normalized = normalizeName(name);
    if (fault) this.faults.set(normalized, fault);
    else this.faults.delete(normalized);
  }

  resolve(qname: string, qtype: QueryType): Lookup {
    const name = qname.toLowerCase().replace(/\.$/, "");
    const fault = this.faults.get(name);
    if (fault) return { kind: "fault", fault };
    const zone = this.zoneOf(name);
    if (!zone) return { kind: "refused" };
    if (qtype === "SOA" && name === zone)
      return { kind: "answer", rcode: "NOERROR", answers: [], soaAnswer: zone };
    // Below a zone cut the parent is not authoritative: it refers the asker to the child's servers.
    const cut = this.delegationAbove(name, zone);
    if (cut) return { kind: "answer", rcode: "NOERROR", answers: [], referral: cut };
    if (qtype === "NS" && name === zone && !this.rrsets.has(key(zone, "NS"))) {
      return { kind: "answer", rcode: "NOERROR", answers: [this.defaultApexNs(zone)] };
    }

    const answers: StoredRecord[] = [];
    const visited = new Set<string>();
    let current = name;
    for (let hop = 0; hop < MAX_CHASE && !visited.has(current); hop++) {
      visited.add(current);
      const currentZone = this.zoneOf(current)!;
      if (!this.exists(current)) {
        return { kind: "answer", rcode: "NXDOMAIN", answers, soaZone: currentZone };
      }
      const here = this.recordsAt(current);
      const wanted = qtype === "ANY" ? here : here.filter((r) => r.type === qtype);
      if (wanted.length > 0) return { kind: "answer", rcode: "NOERROR", answers: [...answers, ...wanted] };
      const cname = here.find((r) => r.type === "CNAME");
      if (!cname) return { kind: "answer", rcode: "NOERROR", answers, soaZone: currentZone };
      answers.push(cname);
      const target = cname.values[0] as string;
      // Targets outside the served zones are left for the client to resolve, as an authoritative server does.
      if (!this.zoneOf(target)) break;
      current = target;
    }
    return { kind: "answer", rcode: "NOERROR", answers };
  }

  /**
   * The NS RRset of a delegation inside `zone` at or above `name` (a zone cut, RFC 1034 §4.2.1), if any. A
   * child zone this server also serves is answered from the child, so only unserved children are cut.
   */
  private delegationAbove(name: string, zone: string): StoredRecord | undefined {
    for (let at = name; at !== zone && at.endsWith(`.${zone}`); at = at.slice(at.indexOf(".") + 1)) {
      const ns = this.rrsets.get(key(at, "NS"));
      if (ns) return ns;
    }
    return undefined;
  }

  /** Every zone has apex NS records; without stored ones, the server names itself as in its SOA. */
  private defaultApexNs(apex: string): StoredRecord {
    return { name: apex, type: "NS", ttl: 300, values: [`ns1.${apex}`] };
  }

  private recordsAt(name: string): StoredRecord[] {
    return [...this.rrsets.values()].filter((r) => r.name === name);
  }

  /** A name exists if it owns records, is an apex, or is an empty non-terminal above a record (RFC 8020). */
  private exists(name: string): boolean {
    if (this.zones.has(name)) return true;
    for (const record of this.rrsets.values()) {
      if (record.name === name || record.name.endsWith(`.${name}`)) return true;
    }
    return false;
  }

  private bumpSerial(apex: string): void {
    const zone = this.zones.get(apex);
    if (zone) zone.serial += 1;
  }
}

function key(name: string, type: DnsRecordType): string {
  return `${name}/${type}`;
}
