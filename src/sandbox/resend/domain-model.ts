import { generateKeyPairSync } from "node:crypto";
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
  /** Base64 DER (SubjectPublicKeyInfo) of the domain's DKIM key, as published in `p=`. */
  dkimPublicKey: string;
  records: DomainRecordState[];
  /** Made verified by the sandbox without DNS: the periodic re-check leaves it alone until a real verify. */
  verifiedWithoutDns?: boolean;
}

const TRACKING_TARGET = "links1.resend-dns.com";

/** Resend publishes 1024-bit RSA DKIM keys: the `p=` value is 216 base64 characters. */
function newDkimPublicKey(): string {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
  return publicKey.export({ type: "spki", format: "der" }).toString("base64");
}

export function newDomain(
  fields: Omit<DomainState, "id" | "createdAt" | "status" | "records" | "dkimPublicKey">,
): DomainState {
  const domain: DomainState = {
    ...fields,
    id: uuid(),
    createdAt: new Date(),
    status: "not_started",
    dkimPublicKey: newDkimPublicKey(),
    records: [],
  };
  domain.records = buildRecords(domain, []);
  return domain;
}

/**
 * The record set Resend asks for. Names are relative to the registrable zone, not to the Resend
 * domain: `mail.example.com` in `example.com` gets `send.mail` and `resend._domainkey.mail`.
 * Records that did not change keep their status, so a PATCH does not undo a verification.
 */
export function buildRecords(
  domain: DomainState,
  previous: readonly DomainRecordState[],
): DomainRecordState[] {
  const sub = relativeToApex(domain.name, domain.zoneApex);
  const suffix = sub ? `.${sub}` : "";
  const returnPath = domain.customReturnPath;
  const records: Omit<DomainRecordState, "status">[] = [];
  if (domain.capabilities.sending === "enabled") {
    records.push(
      {
        record: "DKIM",
        name: `resend._domainkey${suffix}`,
        fqdn: `resend._domainkey.${domain.name}`,
        type: "TXT",
        value: `p=${domain.dkimPublicKey}`,
        capability: "sending",
      },
      {
        record: "SPF",
        name: `${returnPath}${suffix}`,
        fqdn: `${returnPath}.${domain.name}`,
        type: "MX",
        value: `feedback-smtp.${domain.region}.amazonses.com`,
        priority: 10,
        capability: "sending",
      },
      {
        record: "SPF",
        name: `${returnPath}${suffix}`,
        fqdn: `${returnPath}.${domain.name}`,
        type: "TXT",
        value: "v=spf1 include:amazonses.com ~all",
        capability: "sending",
      },
    );
  }
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
 * A `temporary_failure` record still counts as verified until its recheck window runs out.
 */
export function domainStatus(records: readonly DomainRecordState[]): DomainStatus {
  const byCapability = new Map<Capability, RecordStatus[]>();
  for (const r of records)
    byCapability.set(r.capability, [...(byCapability.get(r.capability) ?? []), r.status]);
  const states = [...byCapability.values()].map(capabilityStatus);
  if (states.length === 0 || states.every((s) => s === "not_started")) return "not_started";
  if (states.every((s) => s === "verified")) return "verified";
  const someVerified = states.includes("verified");
  const someFailed = states.includes("failed");
  if (someVerified) return someFailed ? "partially_failed" : "partially_verified";
  if (states.includes("pending")) return "pending";
  return "failed";
}

function capabilityStatus(statuses: RecordStatus[]): "verified" | "failed" | "pending" | "not_started" {
  if (statuses.every((s) => s === "verified" || s === "temporary_failure")) return "verified";
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
