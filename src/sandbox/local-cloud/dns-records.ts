import { createHash } from "node:crypto";
import type { DnsRecordInput, DnsValue } from "../dns";

/**
 * How the two DNS providers the program writes to turn resource inputs into records, so the local cloud
 * publishes what the real API would serve. Each provider has its own encoding; a value written in the
 * other provider's encoding (or none) ends up served differently, and Resend's verification sees that.
 */

/** A record decoded from a provider resource: the RRset it contributes to. */
export interface DecodedRecord {
  name: string;
  type: DnsRecordInput["type"];
  ttl: number;
  values: DnsValue[];
}

/** A record the provider's API would refuse; the message says which input and why. */
export class DnsEncodingError extends Error {
  override name = "DnsEncodingError";
}

const MAX_CHARACTER_STRING = 255;
/** What Cloudflare's edge answers for a proxied name: its own addresses, never the record's target. */
const CLOUDFLARE_EDGE_ADDRESSES = ["104.16.132.229", "104.16.133.229"];
const PROXIABLE = ["A", "AAAA", "CNAME"];
/**
 * What a flattened CNAME answers: the target's addresses, resolved by Cloudflare. The stand-in cannot resolve
 * targets outside its zones, so it answers a documentation address (RFC 5737); the CNAME is gone either way.
 */
const FLATTENED_ADDRESS = "192.0.2.53";

/**
 * Reads a TXT value in RFC 1035 presentation format: each quoted string is one character-string
 * (`\"` and `\\` escaped), and outside quotes every whitespace-separated word is one as well. So
 * `"v=spf1 include:amazonses.com ~all"` is one string while the same text unquoted is three, which
 * DKIM and SPF verifiers join into `v=spf1include:amazonses.com~all`.
 */
export function parseCharacterStrings(text: string): string[] {
  const strings: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    let current = "";
    if (c === '"') {
      i++;
      let closed = false;
      while (i < text.length) {
        const d = text[i]!;
        if (d === "\\" && i + 1 < text.length) {
          current += text[i + 1];
          i += 2;
        } else if (d === '"') {
          closed = true;
          i++;
          break;
        } else {
          current += d;
          i++;
        }
      }
      if (!closed)
        throw new DnsEncodingError(`TXT value has an unterminated quoted string: ${preview(text)}`);
    } else {
      while (i < text.length && !/\s/.test(text[i]!) && text[i] !== '"') {
        current += text[i] === "\\" && i + 1 < text.length ? text[++i] : text[i];
        i++;
      }
    }
    strings.push(current);
  }
  return strings;
}

function preview(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function stripDot(name: string): string {
  return name.trim().replace(/\.$/, "").toLowerCase();
}

function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** Zone ids in each provider's format, derived from the apex so they are stable across runs. */
export function zoneIdFor(provider: "cloudflare" | "route53", apex: string): string {
  const digest = createHash("sha256").update(apex).digest("hex");
  return provider === "cloudflare" ? digest.slice(0, 32) : `Z${digest.slice(0, 20).toUpperCase()}`;
}

export interface CloudflareRecordInputs {
  name?: unknown;
  type?: unknown;
  ttl?: unknown;
  content?: unknown;
  priority?: unknown;
  proxied?: unknown;
  settings?: unknown;
}

/**
 * `cloudflare.DnsRecord` (provider v6): `name` is the full name, `ttl` is required (1 = automatic),
 * TXT `content` is RFC 1035 text (one quoted string; Cloudflare splits a long string at 255 itself),
 * MX carries its preference in `priority`, and a proxied name answers with Cloudflare's addresses, as does a
 * CNAME with `settings.flattenCname` (with its target's addresses).
 */
export function decodeCloudflareRecord(zone: string, inputs: CloudflareRecordInputs): DecodedRecord {
  const name = stripDot(String(inputs.name ?? ""));
  const type = String(inputs.type ?? "").toUpperCase() as DecodedRecord["type"];
  if (!inZone(name, zone)) {
    throw new DnsEncodingError(
      `cloudflare.DnsRecord name "${inputs.name}" is not a full name in zone ${zone}: provider v6 needs the FQDN (e.g. send.mail.${zone})`,
    );
  }
  const ttl = Number(inputs.ttl);
  if (!(ttl === 1 || (Number.isInteger(ttl) && ttl >= 60 && ttl <= 86400))) {
    throw new DnsEncodingError(
      `cloudflare.DnsRecord ${name} ttl ${JSON.stringify(inputs.ttl)} must be 1 (automatic) or 60-86400`,
    );
  }
  const effectiveTtl = ttl === 1 ? 300 : ttl;
  const content = String(inputs.content ?? "");
  if (inputs.proxied === true) {
    if (!PROXIABLE.includes(type)) {
      throw new DnsEncodingError(
        `cloudflare.DnsRecord ${name}: only A, AAAA and CNAME records can be proxied`,
      );
    }
    return { name, type: "A", ttl: effectiveTtl, values: [...CLOUDFLARE_EDGE_ADDRESSES] };
  }
  switch (type) {
    case "TXT": {
      const strings = parseCharacterStrings(content);
      if (strings.length === 0)
        throw new DnsEncodingError(`cloudflare.DnsRecord ${name}: TXT content is empty`);
      // One string may be longer than 255 bytes: Cloudflare splits it on the wire.
      return { name, type, ttl: effectiveTtl, values: [strings.length === 1 ? strings[0]! : strings] };
    }
    case "MX": {
      const priority = Number(inputs.priority);
      if (inputs.priority === undefined || !Number.isInteger(priority)) {
        throw new DnsEncodingError(`cloudflare.DnsRecord ${name}: an MX record needs an integer priority`);
      }
      return { name, type, ttl: effectiveTtl, values: [{ priority, exchange: stripDot(content) }] };
    }
    case "CNAME": {
      const flattened = (inputs.settings as { flattenCname?: unknown } | undefined)?.flattenCname === true;
      if (flattened) return { name, type: "A", ttl: effectiveTtl, values: [FLATTENED_ADDRESS] };
      return { name, type, ttl: effectiveTtl, values: [stripDot(content)] };
    }
    default:
      return { name, type, ttl: effectiveTtl, values: [content] };
  }
}

export interface Route53RecordInputs {
  name?: unknown;
  type?: unknown;
  ttl?: unknown;
  records?: unknown;
}

/**
 * `aws.route53.Record`: a name outside the zone is relative to it (the provider appends the zone), each
 * entry of `records` is one resource record, and TXT entries are RFC 1035 text that the provider wraps
 * in quotes unless it starts with one — so `part1""part2` is one record of two strings, while a string
 * over 255 bytes is refused by Route53 (`CharacterStringTooLong`).
 */
export function decodeRoute53Record(zone: string, inputs: Route53RecordInputs): DecodedRecord {
  const raw = stripDot(String(inputs.name ?? ""));
  const name = inZone(raw, zone) ? raw : `${raw}.${zone}`;
  const type = String(inputs.type ?? "").toUpperCase() as DecodedRecord["type"];
  const ttl = Number(inputs.ttl);
  if (!Number.isInteger(ttl) || ttl < 0) {
    throw new DnsEncodingError(`aws.route53.Record ${name}: ttl is required for a non-alias record`);
  }
  const records = Array.isArray(inputs.records) ? inputs.records.map(String) : [];
  if (records.length === 0) {
    throw new DnsEncodingError(`aws.route53.Record ${name}: records must hold at least one value`);
  }
  const values = records.map((value): DnsValue => {
    switch (type) {
      case "TXT": {
        const wrapped = value.startsWith('"') ? value : `"${value}"`;
        const strings = parseCharacterStrings(wrapped);
        const tooLong = strings.find((s) => Buffer.byteLength(s) > MAX_CHARACTER_STRING);
        if (tooLong !== undefined) {
          throw new DnsEncodingError(
            `aws.route53.Record ${name}: InvalidChangeBatch: CharacterStringTooLong (Value is too long) ` +
              `encountered with '${preview(tooLong)}': split TXT values into strings of at most 255 bytes`,
          );
        }
        return strings;
      }
      case "MX": {
        const match = /^(\d+)\s+(\S+)$/.exec(value.trim());
        if (!match) {
          throw new DnsEncodingError(
            `aws.route53.Record ${name}: MX value "${value}" must be "<priority> <host>", e.g. "10 feedback-smtp.us-east-1.amazonses.com"`,
          );
        }
        return { priority: Number(match[1]), exchange: stripDot(match[2]!) };
      }
      case "CNAME":
        return stripDot(value);
      default:
        return value;
    }
  });
  return { name, type, ttl, values };
}
