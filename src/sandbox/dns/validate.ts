import { isIPv4, isIPv6 } from "node:net";
import {
  DNS_FAULTS,
  DNS_RECORD_TYPES,
  type DnsFault,
  type DnsRecordInput,
  type DnsRecordType,
  type DnsValue,
} from "./types";

/** Bad input to the DNS stand-in; the message names the field and says how to fix it. */
export class DnsInputError extends Error {
  override name = "DnsInputError";
}

const DEFAULT_TTL = 300;
const MAX_TTL = 2_147_483_647;
/** One TXT character-string holds at most 255 octets (RFC 1035 §3.3). */
export const MAX_CHARACTER_STRING = 255;
const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;
const CAA_TAG = /^[a-z0-9]{1,15}$/i;

/**
 * Lower-cases a domain name and drops the trailing dot, the form every name is stored and compared in.
 * Wildcards are refused rather than stored as a literal `*` label, because the server does not expand them.
 */
export function normalizeName(name: unknown, field = "name"): string {
  if (typeof name !== "string" || name.trim() === "") {
    throw new DnsInputError(`${field} must be a non-empty domain name such as "send.example.com"`);
  }
  const normalized = name.trim().toLowerCase().replace(/\.$/, "");
  if (normalized.length > 253) throw new DnsInputError(`${field} is longer than 253 characters`);
  for (const label of normalized.split(".")) {
    if (label === "*") throw new DnsInputError(`${field} "${name}": wildcard names are not supported`);
    if (!LABEL.test(label)) {
      throw new DnsInputError(
        `${field} "${name}" has an invalid label "${label}": use 1-63 letters, digits, "-" or "_"`,
      );
    }
  }
  return normalized;
}

export function parseRecordType(type: unknown, field = "type"): DnsRecordType {
  const upper = typeof type === "string" ? type.toUpperCase() : type;
  if (!DNS_RECORD_TYPES.includes(upper as DnsRecordType)) {
    throw new DnsInputError(
      `${field} must be one of ${DNS_RECORD_TYPES.join(", ")} (got ${JSON.stringify(type)})`,
    );
  }
  return upper as DnsRecordType;
}

export function parseFault(fault: unknown, field = "fault"): DnsFault | null {
  if (fault === null) return null;
  if (!DNS_FAULTS.includes(fault as DnsFault)) {
    throw new DnsInputError(
      `${field} must be one of ${DNS_FAULTS.join(", ")} or null to clear (got ${JSON.stringify(fault)})`,
    );
  }
  return fault as DnsFault;
}

/** Checks a record from code or JSON and returns it normalized (lower-case name, upper-case type, ttl set). */
export function parseRecord(input: unknown): Required<DnsRecordInput> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new DnsInputError("record must be an object {name, type, ttl?, values}");
  }
  const raw = input as Record<string, unknown>;
  const name = normalizeName(raw["name"]);
  const type = parseRecordType(raw["type"]);
  const ttl = raw["ttl"] ?? DEFAULT_TTL;
  if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL) {
    throw new DnsInputError(`ttl must be an integer number of seconds from 0 to ${MAX_TTL}`);
  }
  const values = raw["values"];
  if (!Array.isArray(values) || values.length === 0) {
    throw new DnsInputError("values must be a non-empty array; to delete an RRset use remove(name, type)");
  }
  if (type === "CNAME" && values.length !== 1) {
    throw new DnsInputError(`values: a CNAME RRset holds exactly one target (got ${values.length})`);
  }
  return { name, type, ttl, values: values.map((v, i) => parseValue(type, v, `values[${i}]`)) };
}

function parseValue(type: DnsRecordType, value: unknown, field: string): DnsValue {
  switch (type) {
    case "A":
      if (typeof value !== "string" || !isIPv4(value)) {
        throw new DnsInputError(`${field} must be an IPv4 address such as "192.0.2.1"`);
      }
      return value;
    case "AAAA":
      if (typeof value !== "string" || !isIPv6(value)) {
        throw new DnsInputError(`${field} must be an IPv6 address such as "2001:db8::1"`);
      }
      return value;
    case "CNAME":
    case "NS":
      return normalizeName(value, field);
    case "TXT":
      return parseTxt(value, field);
    case "MX":
      return parseMx(value, field);
    case "CAA":
      return parseCaa(value, field);
  }
}

function parseTxt(value: unknown, field: string): DnsValue {
  // A single string may be longer than 255 octets: it is split on the wire, as Cloudflare does.
  if (typeof value === "string") return value;
  if (!Array.isArray(value) || value.length === 0 || !value.every((s) => typeof s === "string")) {
    throw new DnsInputError(
      `${field} must be a string or a non-empty array of strings (the character-strings)`,
    );
  }
  value.forEach((s: string, j) => {
    if (Buffer.byteLength(s) > MAX_CHARACTER_STRING) {
      throw new DnsInputError(
        `${field}[${j}] is ${Buffer.byteLength(s)} bytes; each character-string holds at most ${MAX_CHARACTER_STRING}, split it`,
      );
    }
  });
  return [...value] as string[];
}

function parseMx(value: unknown, field: string): DnsValue {
  const mx = value as { priority?: unknown; exchange?: unknown } | null;
  if (typeof mx !== "object" || mx === null) {
    throw new DnsInputError(`${field} must be {priority, exchange} for an MX record`);
  }
  if (
    typeof mx.priority !== "number" ||
    !Number.isInteger(mx.priority) ||
    mx.priority < 0 ||
    mx.priority > 65_535
  ) {
    throw new DnsInputError(`${field}.priority must be an integer from 0 to 65535`);
  }
  return { priority: mx.priority, exchange: normalizeName(mx.exchange, `${field}.exchange`) };
}

function parseCaa(value: unknown, field: string): DnsValue {
  const caa = value as { flags?: unknown; tag?: unknown; value?: unknown } | null;
  if (typeof caa !== "object" || caa === null) {
    throw new DnsInputError(`${field} must be {flags, tag, value} for a CAA record`);
  }
  if (typeof caa.flags !== "number" || !Number.isInteger(caa.flags) || caa.flags < 0 || caa.flags > 255) {
    throw new DnsInputError(`${field}.flags must be an integer from 0 to 255`);
  }
  if (typeof caa.tag !== "string" || !CAA_TAG.test(caa.tag)) {
    throw new DnsInputError(`${field}.tag must be 1-15 letters or digits, such as "issue"`);
  }
  if (typeof caa.value !== "string") throw new DnsInputError(`${field}.value must be a string`);
  return { flags: caa.flags, tag: caa.tag, value: caa.value };
}
