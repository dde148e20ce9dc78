import type { DmarcPolicy } from "../config";
import type { ResendDnsRecord } from "../providers/resend-domain";
import {
  issuedProfile,
  type RecordProfile,
  RecordProfileMismatchError,
  type RecordSlot,
  recordLabel,
  resendRecordFqdn,
  type SlotId,
  UnexpectedRecordsError,
} from "./profiles";

export type { RecordType, SlotId } from "./profiles";
export { resendRecordFqdn } from "./profiles";

/** Resend quotes TXT values in some answers and not in others; DNS writers add their own quoting. */
export function unquoteTxt(value: string): string {
  const trimmed = value.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) {
    return trimmed.slice(1, -1).replace(/"\s*"/g, "");
  }
  return trimmed;
}

export interface SlotValue {
  /** The record's name: the slot's own, or the one Resend picked (DKIM CNAME tokens). */
  fqdn: string;
  content: string;
  priority?: number;
}

/** What the program declared: a profile's slots for one sending domain. */
export interface RecordPlan {
  profile: RecordProfile;
  sendingDomain: string;
  slots: RecordSlot[];
}

/** Names Resend picks for DKIM CNAMEs: one label under `_domainkey` of the sending domain. */
function isSelectorName(fqdn: string, sendingDomain: string): boolean {
  const suffix = `._domainkey.${sendingDomain}`;
  return fqdn.endsWith(suffix) && !fqdn.slice(0, -suffix.length).includes(".");
}

/**
 * Maps Resend's records onto the plan's slots. Records of another profile fail with the setting that
 * fixes it; anything no profile expects (receiving MX, tracking records, a name outside the slots) fails
 * with the records listed: writing a guessed record would leave the domain unverifiable with no clue why.
 */
export function assignRecords(
  records: ResendDnsRecord[],
  plan: RecordPlan,
  zone: string,
  stack?: string,
): Record<SlotId, SlotValue> {
  const issued = issuedProfile(records);
  if (issued && issued !== plan.profile) {
    throw new RecordProfileMismatchError(plan.profile, issued, records, zone, plan.sendingDomain, stack);
  }
  const assigned = new Map<SlotId, SlotValue>();
  const unexpected: string[] = [];
  const picked: { record: ResendDnsRecord; fqdn: string }[] = [];
  const slotValue = (record: ResendDnsRecord, fqdn: string): SlotValue | undefined => {
    const content = record.type === "TXT" ? unquoteTxt(record.value) : record.value.trim().replace(/\.$/, "");
    if (record.type !== "MX") return { fqdn, content };
    if (typeof record.priority !== "number") {
      unexpected.push(`${recordLabel(record, zone)} (MX without a priority)`);
      return undefined;
    }
    return { fqdn, content, priority: record.priority };
  };
  for (const record of records) {
    const fqdn = resendRecordFqdn(record.name, zone);
    const fits = (s: RecordSlot) => s.resendRecord === record.record && s.type === record.type;
    const named = plan.slots.find((s) => fits(s) && s.fqdn === fqdn);
    if (named && !assigned.has(named.id)) {
      const value = slotValue(record, fqdn);
      if (value) assigned.set(named.id, value);
    } else if (
      !named &&
      plan.slots.some((s) => fits(s) && !s.fqdn) &&
      isSelectorName(fqdn, plan.sendingDomain)
    ) {
      picked.push({ record, fqdn });
    } else {
      unexpected.push(recordLabel(record, zone));
    }
  }
  // Names Resend picked go to their slots in name order, so a refresh never swaps two records' slots.
  const open = plan.slots.filter((s) => !s.fqdn);
  picked.sort((a, b) => (a.fqdn < b.fqdn ? -1 : a.fqdn > b.fqdn ? 1 : 0));
  for (const { record, fqdn } of picked) {
    const slot = open.find(
      (s) => s.resendRecord === record.record && s.type === record.type && !assigned.has(s.id),
    );
    const value = slot ? slotValue(record, fqdn) : undefined;
    if (slot && value) assigned.set(slot.id, value);
    else if (!slot) unexpected.push(recordLabel(record, zone));
  }
  const missing = plan.slots
    .filter((s) => !assigned.has(s.id))
    .map((s) => `${s.resendRecord} ${s.type} ${s.fqdn ?? `<selector>._domainkey.${plan.sendingDomain}`}`);
  if (unexpected.length > 0 || missing.length > 0) {
    throw new UnexpectedRecordsError(
      [
        `Resend returned DNS records the "${plan.profile}" profile does not expect, so none were written.`,
        ...(unexpected.length ? [`  unexpected: ${unexpected.join("; ")}`] : []),
        ...(missing.length ? [`  missing:    ${missing.join("; ")}`] : []),
        "  fix: compare the domain's records in the Resend dashboard with the profiles in infra/dns/profiles.ts;",
        "       this program writes a sending-only domain without tracking (no receiving MX, no tracking CNAME).",
      ].join("\n"),
    );
  }
  return Object.fromEntries(assigned) as Record<SlotId, SlotValue>;
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
