import { Packet } from "dns2";
import type { DnsRecordType, DnsValue } from "./types";
import { MAX_CHARACTER_STRING } from "./validate";
import type { QueryType, StoredRecord, ZoneStore } from "./zones";

type Resource = Packet.Resource;

const TYPE_CODES: Record<Exclude<QueryType, "OTHER">, number> = {
  A: Packet.TYPE.A,
  AAAA: Packet.TYPE.AAAA,
  CNAME: Packet.TYPE.CNAME,
  MX: Packet.TYPE.MX,
  TXT: Packet.TYPE.TXT,
  CAA: Packet.TYPE.CAA,
  NS: Packet.TYPE.NS,
  SOA: Packet.TYPE.SOA,
  ANY: Packet.TYPE.ANY,
};

/** SOA timers of the synthesized SOA; `minimum` is the negative-caching TTL (RFC 2308). */
const SOA_TIMERS = { refresh: 7200, retry: 900, expiration: 1_209_600, minimum: 60 };

function queryType(code: number): QueryType {
  const entry = Object.entries(TYPE_CODES).find(([, c]) => c === code);
  return (entry?.[0] as QueryType | undefined) ?? "OTHER";
}

export function typeName(code: number): string {
  return Packet.typeName(code);
}

/**
 * Builds the response to `request`, or `undefined` when the stand-in must stay silent (a `timeout` fault).
 * Only the first question is answered: no real client sends more than one.
 */
export function answer(store: ZoneStore, request: Packet): Packet | undefined {
  const response = Packet.createResponseFromRequest(request);
  response.header.aa = 1;
  const question = request.questions[0];
  if (!question) {
    response.header.rcode = Packet.RCODE.FORMERR;
    return response;
  }
  if (question.class !== Packet.CLASS.IN && question.class !== Packet.CLASS.ANY) {
    response.header.rcode = Packet.RCODE.REFUSED;
    return response;
  }
  const lookup = store.resolve(question.name, queryType(question.type));
  switch (lookup.kind) {
    case "fault":
      if (lookup.fault === "timeout") return undefined;
      response.header.rcode = lookup.fault === "servfail" ? Packet.RCODE.SERVFAIL : Packet.RCODE.NXDOMAIN;
      return response;
    case "refused":
      // Not authoritative for the name and no recursion: an authoritative server refuses.
      response.header.aa = 0;
      response.header.rcode = Packet.RCODE.REFUSED;
      return response;
    case "answer":
      response.header.rcode = lookup.rcode === "NXDOMAIN" ? Packet.RCODE.NXDOMAIN : Packet.RCODE.NOERROR;
      if (lookup.referral) {
        // A referral is not an authoritative answer: no AA bit, the child's NS RRset as authority.
        response.header.aa = 0;
        response.authorities = toResources(lookup.referral, question.name);
        return response;
      }
      response.answers = lookup.answers.flatMap((record) => toResources(record, question.name));
      if (lookup.soaAnswer) response.answers.push(soa(store, lookup.soaAnswer, question.name));
      if (lookup.soaZone) response.authorities.push(soa(store, lookup.soaZone));
      return response;
  }
}

function toResources(record: StoredRecord, questionName: string): Resource[] {
  // Echo the asker's spelling for the queried name, as servers do (case is not significant).
  const owner = questionName.toLowerCase().replace(/\.$/, "") === record.name ? questionName : record.name;
  const base = { name: owner, type: TYPE_CODES[record.type], class: Packet.CLASS.IN, ttl: record.ttl };
  return record.values.map((value) => resource({ ...base, ...rdata(record.type, value) }));
}

function rdata(type: DnsRecordType, value: DnsValue): Partial<ResourceFields> {
  switch (type) {
    case "A":
    case "AAAA":
      return { address: value as string };
    case "CNAME":
      return { domain: value as string };
    case "NS":
      return { ns: value as string };
    case "MX":
      return value as { priority: number; exchange: string };
    case "CAA":
      return value as { flags: number; tag: string; value: string };
    case "TXT":
      return { data: characterStrings(value as string | string[]) };
  }
}

/**
 * The character-strings of one TXT record, as octets. A long single string is split into 255-octet
 * pieces, as DNS providers do on publish; Buffers keep a split inside a UTF-8 sequence byte-exact.
 */
function characterStrings(value: string | string[]): Buffer[] {
  if (Array.isArray(value)) return value.map((s) => Buffer.from(s, "utf8"));
  const bytes = Buffer.from(value, "utf8");
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += MAX_CHARACTER_STRING)
    parts.push(bytes.subarray(i, i + MAX_CHARACTER_STRING));
  return parts.length > 0 ? parts : [bytes];
}

function soa(store: ZoneStore, apex: string, owner = apex): Resource {
  return resource({
    name: owner,
    type: Packet.TYPE.SOA,
    class: Packet.CLASS.IN,
    ttl: SOA_TIMERS.minimum,
    primary: `ns1.${apex}`,
    admin: `hostmaster.${apex}`,
    serial: store.serial(apex),
    ...SOA_TIMERS,
  });
}

/** dns2's encoder takes TXT data as Buffers too, which its typings do not say. */
type ResourceFields = Omit<Resource, "toBuffer" | "data"> & { data?: Buffer[] };

function resource(fields: ResourceFields): Resource {
  return fields as unknown as Resource;
}
