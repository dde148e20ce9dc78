import type { ResendDnsRecord } from "../providers/resend-domain";

/**
 * The shapes of record set Resend issues for a sending domain, each with fixed slots: a slot's resource
 * name and record type follow from the stack settings alone, so `pulumi preview` declares every record
 * before the domain exists. Resend picks the shape when it creates a domain (domains created after August
 * 2026 may get CNAME-form return-path records) and the domain keeps it; the stack setting
 * `resendRecordProfile` must name the shape Resend issued.
 *
 * - return path: `classic` is an MX plus an SPF TXT at `<returnPath>`; `cname` is a CNAME at `<returnPath>`
 *   and one at the `r`-prefixed sibling `r<returnPath>`, both required.
 * - DKIM: one TXT at `resend._domainkey`, or (`…-dkim-cname`) three CNAMEs at `<token>._domainkey` whose
 *   names only Resend's answer tells.
 *
 * Slots keep their resource names across profiles (the return path's first and second record are
 * `spf-mx` and `spf-txt` whatever their type), so a profile switch replaces a record in place of the
 * old one, deleting first, instead of creating a second record at a name the old one still holds.
 */

export const RECORD_PROFILES = ["classic", "cname", "classic-dkim-cname", "cname-dkim-cname"] as const;
export type RecordProfile = (typeof RECORD_PROFILES)[number];

/** The setting that names the profile, as `pulumi config` spells it. */
export const PROFILE_SETTING = "resendRecordProfile";

export type RecordType = "TXT" | "MX" | "CNAME";

/** Resource name suffixes, stable per position across profiles. */
export type SlotId = "dkim" | "dkim-2" | "dkim-3" | "spf-mx" | "spf-txt";

export interface RecordSlot {
  id: SlotId;
  /** Resend's `record` field for this slot. */
  resendRecord: "DKIM" | "SPF";
  type: RecordType;
  /** Fully qualified name, no trailing dot; absent when Resend picks the name (DKIM CNAME tokens). */
  fqdn?: string;
  description: string;
  /**
   * Slots written before this one. A CNAME owns its name alone, and the record a profile switch moves away
   * from that name sits in another slot: that slot's delete-first replacement must come first.
   */
  after: SlotId[];
}

type ReturnPathForm = "classic" | "cname";
type DkimForm = "txt" | "cname";

const FORMS: Record<RecordProfile, { returnPath: ReturnPathForm; dkim: DkimForm }> = {
  classic: { returnPath: "classic", dkim: "txt" },
  cname: { returnPath: "cname", dkim: "txt" },
  "classic-dkim-cname": { returnPath: "classic", dkim: "cname" },
  "cname-dkim-cname": { returnPath: "cname", dkim: "cname" },
};

/** SES Easy DKIM, which Resend's CNAME-form DKIM is: three selectors per domain. */
export const DKIM_CNAME_COUNT = 3;
const DKIM_CNAME_SLOTS: SlotId[] = ["dkim", "dkim-2", "dkim-3"];

/** Whether the profile's return path is a CNAME pair (the `r`-prefixed label must then fit in 63). */
export function usesReturnPathCnames(profile: RecordProfile): boolean {
  return FORMS[profile].returnPath === "cname";
}

/** Whether the profile's DKIM is three CNAMEs at selectors Resend picks. */
export function usesDkimCnames(profile: RecordProfile): boolean {
  return FORMS[profile].dkim === "cname";
}

function dkimSlots(form: DkimForm, domain: string): RecordSlot[] {
  if (form === "txt") {
    return [
      {
        id: "dkim",
        resendRecord: "DKIM",
        type: "TXT",
        fqdn: `resend._domainkey.${domain}`,
        description: "Resend DKIM key",
        after: [],
      },
    ];
  }
  return DKIM_CNAME_SLOTS.map((id, i) => ({
    id,
    resendRecord: "DKIM",
    type: "CNAME",
    description: `Resend DKIM CNAME ${i + 1} of ${DKIM_CNAME_COUNT}`,
    after: [],
  }));
}

function returnPathSlots(form: ReturnPathForm, domain: string, returnPath: string): RecordSlot[] {
  const at = `${returnPath}.${domain}`;
  if (form === "classic") {
    return [
      {
        id: "spf-mx",
        resendRecord: "SPF",
        type: "MX",
        fqdn: at,
        description: "Resend return-path MX",
        after: [],
      },
      {
        id: "spf-txt",
        resendRecord: "SPF",
        type: "TXT",
        fqdn: at,
        description: "Resend return-path SPF",
        // Coming from `cname`, the CNAME at the return path is replaced by `spf-mx` and must be gone first.
        after: ["spf-mx"],
      },
    ];
  }
  return [
    {
      id: "spf-mx",
      resendRecord: "SPF",
      type: "CNAME",
      fqdn: at,
      description: "Resend return-path CNAME",
      // Coming from `classic`, the SPF TXT at the return path sits in `spf-txt` and must be gone first.
      after: ["spf-txt"],
    },
    {
      id: "spf-txt",
      resendRecord: "SPF",
      type: "CNAME",
      fqdn: `r${returnPath}.${domain}`,
      description: "Resend return-path CNAME (r-prefixed)",
      after: [],
    },
  ];
}

/** The slots of one profile for one sending domain, in the order their records are listed. */
export function profileSlots(
  profile: RecordProfile,
  sendingDomain: string,
  returnPath: string,
): RecordSlot[] {
  const forms = FORMS[profile];
  return [
    ...dkimSlots(forms.dkim, sendingDomain),
    ...returnPathSlots(forms.returnPath, sendingDomain, returnPath),
  ];
}

/** The slots in an order where every slot comes after the ones it must follow. */
export function writeOrder(slots: RecordSlot[]): RecordSlot[] {
  const ordered: RecordSlot[] = [];
  const placed = new Set<SlotId>();
  let pending = [...slots];
  while (pending.length > 0) {
    const ready = pending.filter((s) =>
      s.after.every((id) => placed.has(id) || !slots.some((o) => o.id === id)),
    );
    if (ready.length === 0)
      throw new Error(`slots ${pending.map((s) => s.id).join(", ")} wait on each other`);
    for (const slot of ready) {
      ordered.push(slot);
      placed.add(slot.id);
    }
    pending = pending.filter((s) => !placed.has(s.id));
  }
  return ordered;
}

/** Resend names records relative to the zone apex, sometimes as FQDNs; this gives the FQDN either way. */
export function resendRecordFqdn(name: string, zone: string): string {
  const bare = name.replace(/\.$/, "").toLowerCase();
  if (bare === zone || bare.endsWith(`.${zone}`)) return bare;
  if (bare === "@" || bare === "") return zone;
  return `${bare}.${zone}`;
}

/**
 * The profile a set of Resend records has, judged by its sending records alone: SPF as MX/TXT or as
 * CNAMEs, DKIM as TXT or CNAMEs. `undefined` when the set mixes forms or lacks SPF or DKIM records.
 */
export function issuedProfile(
  records: Pick<ResendDnsRecord, "record" | "type">[],
): RecordProfile | undefined {
  const formOf = (kind: string, cname: string, other: string[]) => {
    const types = new Set(records.filter((r) => r.record === kind).map((r) => r.type));
    if (types.size === 0) return undefined;
    if (types.has("CNAME")) return types.size === 1 ? cname : undefined;
    return [...types].every((t) => other.includes(t)) ? "plain" : undefined;
  };
  const returnPath = formOf("SPF", "cname", ["MX", "TXT"]);
  const dkim = formOf("DKIM", "cname", ["TXT"]);
  if (!returnPath || !dkim) return undefined;
  return (Object.keys(FORMS) as RecordProfile[]).find(
    (p) =>
      FORMS[p].returnPath === (returnPath === "cname" ? "cname" : "classic") &&
      FORMS[p].dkim === (dkim === "cname" ? "cname" : "txt"),
  );
}

/** The command that sets the profile, with the stack when known. */
export function profileFix(profile: RecordProfile, stack?: string): string {
  return `pulumi config set ${PROFILE_SETTING} ${profile}${stack ? ` --stack ${stack}` : ""}`;
}

const label = (r: ResendDnsRecord, zone: string) => `${r.record} ${r.type} ${resendRecordFqdn(r.name, zone)}`;

/**
 * Resend answered with another record shape than the stack's profile declares. Nothing is written: records
 * of the wrong shape would leave the domain unverifiable, and the fix is one setting.
 */
export class RecordProfileMismatchError extends Error {
  override name = "RecordProfileMismatchError";

  constructor(
    readonly configured: RecordProfile,
    readonly issued: RecordProfile,
    records: ResendDnsRecord[],
    zone: string,
    domain: string,
    stack?: string,
  ) {
    super(
      [
        `Resend's DNS records for ${domain} have the "${issued}" shape, but ${PROFILE_SETTING} is "${configured}", ` +
          "so no DNS record was written.",
        `  Resend asks for: ${records.map((r) => label(r, zone)).join("; ")}`,
        `  fix: ${profileFix(issued, stack)}, then pulumi up again. Resend picks the shape when it creates a`,
        "       domain and the domain keeps it, so the setting follows the domain.",
      ].join("\n"),
    );
  }
}

/** Resend's records fit no profile (receiving or tracking records, a name outside the slots, …). */
export class UnexpectedRecordsError extends Error {
  override name = "UnexpectedRecordsError";
}

export { label as recordLabel };
