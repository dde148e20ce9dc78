import { generateKeyPairSync, randomBytes } from "node:crypto";
import {
  RECORD_PROFILES,
  type RecordProfile,
  usesDkimCnames,
  usesReturnPathCnames,
} from "../../../infra/dns/profiles";
import { uuid } from "../core/ids";
import { pgTimestamp } from "./clock";

export const REGIONS = ["us-east-1", "eu-west-1", "sa-east-1", "ap-northeast-1"] as const;
export type Region = (typeof REGIONS)[number];
export type RecordStatus = "not_started" | "pending" | "verified" | "failed" | "temporary_failure";
export type DomainStatus =
  | "not_started"
  | "pending"
  | "verified"
  | "partially_verified"
  | "partially_failed"
  | "failed";
export type Capability = "sending" | "receiving" | "tracking";
/**
 * The shape of sending records the stand-in issues for new domains, named as the program's
 * `resendRecordProfile` names them: classic or CNAME-form return path, DKIM as one TXT or three CNAMEs.
 */
export const RECORD_SHAPES = RECORD_PROFILES;
export type RecordShape = RecordProfile;
export type Toggle = "enabled" | "disabled";

export interface DomainRecordState {
  record: "SPF" | "DKIM" | "Receiving" | "Tracking";
  /** As Resend shows it: relative to the zone apex (`send.mail`), an FQDN for the tracking CNAME. */
  name: string;
  /** What the verifier asks DNS for. */
  fqdn: string;
  type: "MX" | "TXT" | "CNAME";
  value: string;
  priority?: number;
  status: RecordStatus;
  capability: Capability;
  /** Real-time ms when a verified record was first seen missing; starts the temporary_failure window. */
  missingSince?: number;
}

export interface DomainState {
  id: string;
  name: string;
  zoneApex: string;
  region: Region;
  createdAt: Date;
  status: DomainStatus;
  customReturnPath: string;
  tls: "opportunistic" | "enforced";
  openTracking: boolean;
  clickTracking: boolean;
  trackingSubdomain?: string;
  capabilities: { sending: Toggle; receiving: Toggle };
  /** The shape of its sending records, fixed when the domain was created, as on the real API. */
  recordShape: RecordShape;
  /** Base64 DER (SubjectPublicKeyInfo) of the domain's DKIM key, as published in `p=`. */
  dkimPublicKey: string;
  /** SES Easy DKIM selectors of a CNAME-form DKIM domain: `<selector>._domainkey` → `<selector>.dkim.amazonses.com`. */
  dkimSelectors: string[];
  records: DomainRecordState[];
  /** Made verified by the sandbox without DNS: the periodic re-check leaves it alone until a real verify. */
  verifiedWithoutDns?: boolean;
}

const TRACKING_TARGET = "links1.resend-dns.com";
/** Resend's real CNAME-form return-path targets are unpublished (copy them from the API); these are the stand-in's. */
const returnPathTargets = (region: Region) => [`rp.${region}.resend-dns.com`, `rrp.${region}.resend-dns.com`];
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** An SES Easy DKIM selector: 32 lower-case base32 characters. */
function newDkimSelector(): string {
  return [...randomBytes(32)].map((b) => BASE32[b % 32]).join("");
}

/** Resend publishes 1024-bit RSA DKIM keys: the `p=` value is 216 base64 characters. */
function newDkimPublicKey(): string {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
  return publicKey.export({ type: "spki", format: "der" }).toString("base64");
}

export function newDomain(
  fields: Omit<DomainState, "id" | "createdAt" | "status" | "records" | "dkimPublicKey" | "dkimSelectors">,
): DomainState {
  const domain: DomainState = {
    ...fields,
    id: uuid(),
    createdAt: new Date(),
    status: "not_started",
    dkimPublicKey: newDkimPublicKey(),
    dkimSelectors: Array.from({ length: 3 }, newDkimSelector),
    records: [],
  };
  domain.records = buildRecords(domain, []);
  return domain;
}

/**
 * The record set Resend asks for, in the domain's record shape. Names are relative to the registrable zone,
 * not to the Resend domain: `mail.example.com` in `example.com` gets `send.mail` and `resend._domainkey.mail`.
 * Records that did not change keep their status, so a PATCH does not undo a verification.
 */
export function buildRecords(
  domain: DomainState,
  previous: readonly DomainRecordState[],
): DomainRecordState[] {
  const sub = relativeToApex(domain.name, domain.zoneApex);
  const records: Omit<DomainRecordState, "status">[] = [];
  if (domain.capabilities.sending === "enabled") records.push(...sendingRecords(domain, sub));
  if (domain.capabilities.receiving === "enabled") {
    records.push({
      record: "Receiving",
      name: sub || domain.name,
      fqdn: domain.name,
      type: "MX",
      value: `inbound-smtp.${domain.region}.amazonaws.com`,
      priority: 10,
      capability: "receiving",
    });
  }
  if (domain.trackingSubdomain) {
    // Resend's docs show the tracking CNAME as a full name (`links.example.com`), unlike the rest.
    const fqdn = `${domain.trackingSubdomain}.${domain.name}`;
    records.push({
      record: "Tracking",
      name: fqdn,
      fqdn,
      type: "CNAME",
      value: TRACKING_TARGET,
      capability: "tracking",
    });
  }
  return records.map((record) => {
    const same = previous.find(
      (p) => p.fqdn === record.fqdn && p.type === record.type && p.value === record.value,
    );
    return { ...record, status: same?.status ?? "not_started", missingSince: same?.missingSince };
  });
}

/**
 * DKIM and SPF in the domain's shape. Classic: DKIM TXT `resend._domainkey`, MX and SPF TXT at the return
 * path. CNAME form: a CNAME at the return path and one at its `r`-prefixed sibling (both required).
 * CNAME-form DKIM: three `<selector>._domainkey` CNAMEs, their targets with a trailing dot as the SDK shows.
 */
function sendingRecords(domain: DomainState, sub: string): Omit<DomainRecordState, "status">[] {
  const suffix = sub ? `.${sub}` : "";
  const record = (kind: "SPF" | "DKIM", label: string, type: "MX" | "TXT" | "CNAME", value: string) => ({
    record: kind,
    name: `${label}${suffix}`,
    fqdn: `${label}.${domain.name}`,
    type,
    value,
    capability: "sending" as const,
  });
  const dkim = usesDkimCnames(domain.recordShape)
    ? domain.dkimSelectors.map((s) => record("DKIM", `${s}._domainkey`, "CNAME", `${s}.dkim.amazonses.com.`))
    : [record("DKIM", "resend._domainkey", "TXT", `p=${domain.dkimPublicKey}`)];
  const returnPath = domain.customReturnPath;
  const [target, rTarget] = returnPathTargets(domain.region);
  const spf = usesReturnPathCnames(domain.recordShape)
    ? [
        record("SPF", returnPath, "CNAME", target as string),
        record("SPF", `r${returnPath}`, "CNAME", rTarget as string),
      ]
    : [
        { ...record("SPF", returnPath, "MX", `feedback-smtp.${domain.region}.amazonses.com`), priority: 10 },
        record("SPF", returnPath, "TXT", "v=spf1 include:amazonses.com ~all"),
      ];
  return [...dkim, ...spf];
}

function relativeToApex(name: string, apex: string): string {
  if (name === apex) return "";
  if (name.endsWith(`.${apex}`)) return name.slice(0, -(apex.length + 1));
  return name;
}

/** Last two labels: right for `example.com`, wrong for `example.co.uk` (pass `zoneApex` for those). */
export const defaultZoneApex = (domain: string): string => domain.split(".").slice(-2).join(".");

/**
 * Domain status from record statuses, per capability (sending, receiving, tracking):
 * all verified → `verified`; some verified and the rest pending → `partially_verified`; some verified
 * and some failed → `partially_failed`; nothing verified → `pending` while checks go on, else `failed`.
 * One of the two return-path CNAMEs verified while the other is pending also reads `partially_verified`
 * (docs `manage-domains`). A `temporary_failure` record still counts as verified until its recheck window
 * runs out.
 */
export function domainStatus(records: readonly DomainRecordState[]): DomainStatus {
  const byCapability = new Map<Capability, DomainRecordState[]>();
  for (const r of records) byCapability.set(r.capability, [...(byCapability.get(r.capability) ?? []), r]);
  const states = [...byCapability.values()].map((rs) =>
    halfVerifiedCnamePair(rs) ? "partial" : capabilityStatus(rs.map((r) => r.status)),
  );
  if (states.length === 0 || states.every((s) => s === "not_started")) return "not_started";
  if (states.every((s) => s === "verified")) return "verified";
  const someVerified = states.includes("verified") || states.includes("partial");
  const someFailed = states.includes("failed");
  if (someVerified) return someFailed ? "partially_failed" : "partially_verified";
  if (states.includes("pending")) return "pending";
  return "failed";
}

const counted = (status: RecordStatus) => status === "verified" || status === "temporary_failure";

/** The CNAME-form return path with one CNAME verified and the other still being checked. */
function halfVerifiedCnamePair(records: readonly DomainRecordState[]): boolean {
  const pair = records.filter((r) => r.record === "SPF" && r.type === "CNAME");
  return (
    pair.length === 2 &&
    pair.some((r) => counted(r.status)) &&
    pair.some((r) => r.status === "pending") &&
    !records.some((r) => r.status === "failed")
  );
}

function capabilityStatus(statuses: RecordStatus[]): "verified" | "failed" | "pending" | "not_started" {
  if (statuses.every(counted)) return "verified";
  if (statuses.includes("failed")) return "failed";
  if (statuses.includes("pending")) return "pending";
  return "not_started";
}

/** Whether mail may go out from this domain: its sending records are (still) verified. */
export function canSend(domain: DomainState): boolean {
  const sending = domain.records.filter((r) => r.capability === "sending");
  return sending.length > 0 && capabilityStatus(sending.map((r) => r.status)) === "verified";
}

function apiRecord(r: DomainRecordState, recordName: string) {
  return {
    record: recordName,
    name: r.name,
    type: r.type,
    ttl: "Auto",
    status: r.status,
    value: r.value,
    ...(r.priority === undefined ? {} : { priority: r.priority }),
  };
}

/** `POST /domains` answer (OAS `CreateDomainResponse`; no `object`, like the docs example). */
export function createdBody(d: DomainState) {
  return {
    id: d.id,
    name: d.name,
    created_at: pgTimestamp(d.createdAt),
    status: d.status,
    capabilities: { ...d.capabilities },
    records: d.records.map((r) => apiRecord(r, r.record)),
    region: d.region,
    open_tracking: d.openTracking,
    click_tracking: d.clickTracking,
    ...(d.trackingSubdomain ? { tracking_subdomain: d.trackingSubdomain } : {}),
  };
}

/** `GET /domains/{id}` answer (OAS `Domain`). `custom_return_path` is not returned, as on the real API. */
export function domainBody(d: DomainState) {
  return { object: "domain", ...createdBody(d) };
}

/** `GET /domains` item (OAS `ListDomainsItem`): no records. */
export function listItemBody(d: DomainState) {
  return {
    id: d.id,
    name: d.name,
    status: d.status,
    created_at: pgTimestamp(d.createdAt),
    region: d.region,
    open_tracking: d.openTracking,
    click_tracking: d.clickTracking,
    capabilities: { ...d.capabilities },
  };
}

/** `data` of `domain.*` webhooks (OAS `DomainEventData`): ISO timestamps, `Receiving MX` spelling. */
export function domainEventData(d: DomainState) {
  return {
    id: d.id,
    name: d.name,
    status: d.status,
    created_at: d.createdAt.toISOString(),
    region: d.region,
    records: d.records.map((r) => apiRecord(r, r.record === "Receiving" ? "Receiving MX" : r.record)),
  };
}
