import type { DmarcPolicy } from "../config";
import type { ResendDnsRecord } from "../providers/resend-domain";

/**
 * The records a sending domain needs, one fixed slot each. Names and types are known from the config alone,
 * so `pulumi preview` lists every record before Resend has created the domain; only the values wait for it.
 */

export type RecordType = "TXT" | "MX" | "CNAME";

export type SlotId = "dkim" | "spfMx" | "spfTxt";

export interface RecordSlot {
  id: SlotId;
  /** Resend's `record` field for this slot. */
  resendRecord: string;
  type: RecordType;
  /** Fully qualified name, no trailing dot. */
  fqdn: string;
  description: string;
}

/** The classic Resend profile: DKIM TXT, return-path MX and return-path SPF TXT. */
export function resendSlots(sendingDomain: string, returnPath: string): RecordSlot[] {
  return [
    {
      id: "dkim",
      resendRecord: "DKIM",
      type: "TXT",
      fqdn: `resend._domainkey.${sendingDomain}`,
      description: "Resend DKIM key",
    },
    {
      id: "spfMx",
      resendRecord: "SPF",
      type: "MX",
      fqdn: `${returnPath}.${sendingDomain}`,
      description: "Resend return-path MX",
    },
    {
      id: "spfTxt",
      resendRecord: "SPF",
      type: "TXT",
      fqdn: `${returnPath}.${sendingDomain}`,
      description: "Resend return-path SPF",
    },
  ];
}

/** Resend names records relative to the zone apex, sometimes as FQDNs; this gives the FQDN either way. */
export function resendRecordFqdn(name: string, zone: string): string {
  const bare = name.replace(/\.$/, "").toLowerCase();
  if (bare === zone || bare.endsWith(`.${zone}`)) return bare;
  if (bare === "@" || bare === "") return zone;
  return `${bare}.${zone}`;
}

/** Resend quotes TXT values in some answers and not in others; DNS writers add their own quoting. */
export function unquoteTxt(value: string): string {
  const trimmed = value.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) {
    return trimmed.slice(1, -1).replace(/"\s*"/g, "");
  }
  return trimmed;
}

export interface SlotValue {
  content: string;
  priority?: number;
}

function describe(r: ResendDnsRecord): string {
  return `${r.record} ${r.type} ${r.name}`;
}

/**
 * Maps Resend's records onto the slots. Anything the profile does not expect (CNAME-form SPF or DKIM,
 * receiving MX, tracking records, a name outside the slot) fails with the records listed: writing a
 * guessed record would leave the domain unverifiable with no clue why.
 */
export function assignRecords(
  records: ResendDnsRecord[],
  slots: RecordSlot[],
  zone: string,
): Record<SlotId, SlotValue> {
  const assigned: Partial<Record<SlotId, SlotValue>> = {};
  const unexpected: string[] = [];
  for (const record of records) {
    const fqdn = resendRecordFqdn(record.name, zone);
    const slot = slots.find(
      (s) => s.resendRecord === record.record && s.type === record.type && s.fqdn === fqdn,
    );
    if (!slot || assigned[slot.id]) {
      unexpected.push(describe(record));
      continue;
    }
    const content = record.type === "TXT" ? unquoteTxt(record.value) : record.value.replace(/\.$/, "");
    if (record.type === "MX" && typeof record.priority !== "number") {
      unexpected.push(`${describe(record)} (MX without a priority)`);
      continue;
    }
    assigned[slot.id] = record.type === "MX" ? { content, priority: record.priority } : { content };
  }
  const missing = slots.filter((s) => !assigned[s.id]).map((s) => `${s.resendRecord} ${s.type} ${s.fqdn}`);
  if (unexpected.length > 0 || missing.length > 0) {
    const lines = [
      "Resend returned DNS records this program's profile does not expect, so none were written.",
      ...(unexpected.length ? [`  unexpected: ${unexpected.join("; ")}`] : []),
      ...(missing.length ? [`  missing:    ${missing.join("; ")}`] : []),
      "  fix: compare the domain's records in the Resend dashboard with resendSlots() in infra/dns/records.ts",
      "       and add a slot for the new shape (CNAME-form SPF/DKIM needs its own slots).",
    ];
    throw new Error(lines.join("\n"));
  }
  return assigned as Record<SlotId, SlotValue>;
}

export interface DmarcSettings {
  policy: DmarcPolicy;
  rua?: string[];
  pct: number;
}

/** The `_dmarc` TXT value. `pct` only means something once the policy acts on mail. */
export function dmarcValue(settings: DmarcSettings): string {
  const tags = ["v=DMARC1", `p=${settings.policy}`];
  if (settings.policy !== "none" && settings.pct !== 100) tags.push(`pct=${settings.pct}`);
  if (settings.rua && settings.rua.length > 0) {
    tags.push(`rua=${settings.rua.map((address) => `mailto:${address}`).join(",")}`);
  }
  return `${tags.join("; ")};`;
}

/**
 * Splits a TXT value into RFC 1035 character-strings of at most 255 bytes. The limit is in UTF-8 bytes, not
 * characters (Route53 refuses a longer string), and a split never falls inside a character.
 */
export function splitTxt(value: string, size = 255): string[] {
  const parts: string[] = [];
  let current = "";
  let bytes = 0;
  for (const char of value) {
    const length = Buffer.byteLength(char);
    if (bytes + length > size) {
      parts.push(current);
      current = "";
      bytes = 0;
    }
    current += char;
    bytes += length;
  }
  parts.push(current);
  return parts;
}
