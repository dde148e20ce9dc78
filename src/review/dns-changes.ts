/**
 * Turns one stack's `pulumi preview --json` into what a reviewer of a mail change needs first: a table of every
 * DNS record change (name, type, operation, old → new value, TTL, priority), a banner above it when the change
 * can stop sign-up mail, and a one-line summary of everything else. It knows both DNS adapters' resource types
 * (infra/dns/cloudflare.ts, infra/dns/route53.ts) and tells the Resend records (DKIM, return path) and DMARC
 * apart by name, since their values may still be unknown in a preview.
 */
import {
  type ChangeOp,
  type PlainValue,
  type PreviewDigest,
  plainValue,
  type ResourceState,
  resourceChanges,
  urnName,
} from "./preview-json";

const DNS_TYPES = {
  cloudflare: "cloudflare:index/dnsRecord:DnsRecord",
  route53: "aws:route53/record:Record",
} as const;

export type MailRole = "DKIM" | "return path" | "DMARC" | "other";

export interface DnsSide {
  value: PlainValue;
  ttl: PlainValue;
  priority: PlainValue;
}

export interface DnsChange {
  resource: string;
  name: string;
  type: string;
  /** Set when a replacement moves the record to another name or type (a record profile switch). */
  oldName?: string;
  oldType?: string;
  op: ChangeOp;
  role: MailRole;
  old?: DnsSide;
  new?: DnsSide;
}

export interface StackReview {
  stack: string;
  dns: DnsChange[];
  /** Non-DNS changes by area, e.g. `{ "bridge code": { update: 2 } }`. */
  others: Record<string, Partial<Record<ChangeOp, number>>>;
}

/** Everything a change to one stack's preview means for review. */
export function reviewPreview(stack: string, digest: PreviewDigest): StackReview {
  const review: StackReview = { stack, dns: [], others: {} };
  for (const { op, step } of resourceChanges(digest)) {
    const type = step.newState?.type ?? step.oldState?.type ?? "";
    if (type === DNS_TYPES.cloudflare || type === DNS_TYPES.route53) {
      review.dns.push(dnsChange(op, step.urn, type, step.oldState, step.newState));
      continue;
    }
    const area = areaOf(type, step.urn);
    if (!area) continue;
    const counts = review.others[area] ?? {};
    counts[op] = (counts[op] ?? 0) + 1;
    review.others[area] = counts;
  }
  review.dns.sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type));
  return review;
}

function dnsChange(
  op: ChangeOp,
  urn: string,
  type: string,
  oldState: ResourceState | undefined,
  newState: ResourceState | undefined,
): DnsChange {
  const inputs = newState?.inputs ?? oldState?.inputs ?? {};
  const name = String(plainName(inputs.name));
  const recordType = String(inputs.type ?? "");
  const before = oldState?.inputs;
  const oldName = before ? plainName(before.name) : name;
  const oldType = before ? String(before.type ?? "") : recordType;
  return {
    resource: urnName(urn),
    name,
    type: recordType,
    ...(oldName !== name ? { oldName } : {}),
    ...(oldType !== recordType ? { oldType } : {}),
    op,
    role: mailRole(name, recordType),
    old: op === "create" ? undefined : side(type, oldState),
    new: op === "delete" ? undefined : side(type, newState),
  };
}

function plainName(raw: unknown): string {
  const value = plainValue(raw);
  return value.kind === "known" ? String(value.value).replace(/\.$/, "") : "(known after apply)";
}

/** The record's value as the provider holds it: Cloudflare `content` + `priority`; Route53 `records` ("10 host"). */
function side(type: string, state: ResourceState | undefined): DnsSide | undefined {
  if (!state) return undefined;
  const inputs = state.inputs ?? {};
  const ttl = plainValue(inputs.ttl);
  if (type === DNS_TYPES.cloudflare) {
    return { value: plainValue(inputs.content), ttl, priority: plainValue(inputs.priority) };
  }
  const records = plainValue(inputs.records);
  if (records.kind !== "known" || !Array.isArray(records.value)) {
    return { value: records, ttl, priority: { kind: "absent" } };
  }
  const values = records.value.map(String);
  if (inputs.type === "MX" && values.length === 1) {
    const match = /^(\d+)\s+(.+)$/.exec(values[0] as string);
    if (match) {
      return {
        value: { kind: "known", value: match[2] },
        ttl,
        priority: { kind: "known", value: Number(match[1]) },
      };
    }
  }
  return { value: { kind: "known", value: values.join(" ") }, ttl, priority: { kind: "absent" } };
}

function mailRole(name: string, type: string): MailRole {
  if (name.startsWith("_dmarc.")) return "DMARC";
  if (name.includes("._domainkey.")) return "DKIM";
  if (type === "MX" || type === "TXT" || type === "CNAME") return "return path";
  return "other";
}

/** Which part of the pipeline a non-DNS resource is, for the summary line; undefined for stacks/components. */
function areaOf(type: string, urn: string): string | undefined {
  if (type === "pulumi:pulumi:Stack" || type.startsWith("pulumi:providers:")) return undefined;
  if (type === "aws:lambda/function:Function") return "bridge code";
  if (type.startsWith("aws:iam/")) return "IAM";
  if (type.startsWith("aws:cloudwatch/") || type.startsWith("aws:sns/")) return "alarms";
  if (type.startsWith("aws:")) return "bridge infrastructure";
  if (type.startsWith("pulumi-nodejs:dynamic")) return dynamicArea(urnName(urn));
  if (!type.includes(":index/") && !type.includes("/")) return undefined;
  return "other";
}

function dynamicArea(name: string): string {
  // The canary sits under the cutover component (clerk-delivery-canary): name it first.
  if (/canary/.test(name)) return "delivery canary";
  if (/clerk-delivery|templates/.test(name)) return "Clerk delivery cutover";
  if (/webhook/.test(name)) return "webhooks";
  if (/sending-key|api-key/.test(name)) return "bridge sending key";
  return "Resend domain and verification";
}

/** Whether the change can stop sign-up mail until DNS and Resend re-verify. */
export function breaksMail(change: DnsChange): boolean {
  if (change.role === "other") return false;
  return change.op !== "create";
}
