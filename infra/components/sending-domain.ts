import * as pulumi from "@pulumi/pulumi";
import type { DnsAdapter, PublishedRecord } from "../dns";
import type { RecordProfile } from "../dns/profiles";
import { type DmarcSettings, dmarcValue } from "../dns/records";
import { publishResendRecords } from "../dns/resend-records";
import { DomainVerification } from "../providers/domain-verification";
import { ResendDomain } from "../providers/resend-domain";

export interface SendingDomainArgs {
  /** The domain mail is sent from, e.g. `auth.example.com`. */
  domain: string;
  /** The DNS zone that holds it, e.g. `example.com`. */
  zone: string;
  region: string;
  returnPath: string;
  /** The record shape Resend issued for the domain (`resendRecordProfile`). */
  recordProfile: RecordProfile;
  tls: string;
  openTracking: boolean;
  clickTracking: boolean;
  adoptExisting: boolean;
  dmarc: DmarcSettings;
  dns: DnsAdapter;
  verification: { timeoutSeconds: number; pollIntervalSeconds: number };
}

/** A record as published, in stack outputs. */
export interface RecordOutput {
  name: string;
  type: string;
  value: string;
  ttl: number;
  priority?: number;
}

/**
 * The Resend domain, its DNS records (one resource per fixed slot), DMARC, and the gate that waits until
 * Resend has verified the records. Anything that sends mail should depend on `gate`.
 */
export class SendingDomain extends pulumi.ComponentResource {
  readonly domainId: pulumi.Output<string>;
  /** The verified status the gate reported. */
  readonly status: pulumi.Output<string>;
  readonly verifiedAt: pulumi.Output<string>;
  readonly records: pulumi.Output<RecordOutput[]>;
  readonly dmarcRecord: pulumi.Output<RecordOutput>;
  readonly gate: DomainVerification;

  constructor(name: string, args: SendingDomainArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auth-email-pipeline:email:SendingDomain", name, {}, opts);
    const parent = { parent: this };

    const domain = new ResendDomain(
      `${name}-resend`,
      {
        name: args.domain,
        region: args.region,
        customReturnPath: args.returnPath,
        tls: args.tls,
        openTracking: args.openTracking,
        clickTracking: args.clickTracking,
        adoptExisting: args.adoptExisting,
      },
      parent,
    );

    const published = publishResendRecords(
      name,
      {
        profile: args.recordProfile,
        sendingDomain: args.domain,
        zone: args.zone,
        returnPath: args.returnPath,
        records: domain.records,
        dns: args.dns,
      },
      parent,
    );
    const dmarc = args.dns.publish(
      `${name}-dmarc`,
      {
        slot: "dmarc",
        fqdn: `_dmarc.${args.domain}`,
        type: "TXT",
        content: dmarcValue(args.dmarc),
        description: `DMARC p=${args.dmarc.policy}`,
      },
      // After Resend's records, so an answer of another shape stops the run before any record is written.
      { ...parent, dependsOn: published.map((record) => record.resource) },
    );

    const records = pulumi.all(published.map(recordOutput));
    // DMARC is left out: Resend does not check it, so changing the policy must not re-run verification.
    const fingerprint = records.apply((written) =>
      written
        .map((r) => [r.type, r.name, r.priority, r.value].filter((p) => p !== undefined).join(" "))
        .join("\n"),
    );
    this.gate = new DomainVerification(
      `${name}-verification`,
      {
        domainId: domain.domainId,
        timeoutSeconds: args.verification.timeoutSeconds,
        pollIntervalSeconds: args.verification.pollIntervalSeconds,
        recordsFingerprint: fingerprint,
      },
      // Verifying before the records exist would start Resend's 72-hour failure clock for nothing.
      { ...parent, dependsOn: published.map((record) => record.resource) },
    );

    this.domainId = domain.domainId;
    this.status = this.gate.status;
    this.verifiedAt = this.gate.verifiedAt;
    this.records = records;
    this.dmarcRecord = recordOutput(dmarc);
    this.registerOutputs({
      domainId: this.domainId,
      status: this.status,
      verifiedAt: this.verifiedAt,
      records: this.records,
      dmarcRecord: this.dmarcRecord,
    });
  }
}

function recordOutput(record: PublishedRecord): pulumi.Output<RecordOutput> {
  return pulumi.all([record.name, record.value, record.priority]).apply(([name, value, priority]) => ({
    name,
    type: record.type,
    value,
    ttl: record.ttl,
    ...(priority === undefined ? {} : { priority }),
  }));
}
