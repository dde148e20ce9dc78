import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { splitTxt } from "./records";
import type { DnsAdapter, DnsAdapterSettings, DnsRecordSpec, PublishedRecord } from "./types";

/**
 * Route53 stores a TXT value as quoted character-strings of at most 255 bytes. The provider adds the outer
 * quotes itself, so a long value is written as `part1""part2`, which Route53 reads as two strings of one
 * record. MX values carry their preference: `10 feedback-smtp.us-east-1.amazonses.com`; CNAME values are the
 * bare target.
 */
export function route53Value(type: string, content: string, priority?: number): string {
  if (type === "TXT") return splitTxt(content).join('""');
  if (type === "MX") return `${priority} ${content}`;
  return content;
}

/** Route53 (`aws.route53.Record`): one record set per slot in the hosted zone of `zone`. */
export function route53Dns(settings: DnsAdapterSettings): DnsAdapter {
  let zoneId: pulumi.Output<string> | undefined;
  const lookupZone = () => {
    zoneId ??= settings.zoneId
      ? pulumi.output(settings.zoneId)
      : aws.route53.getZoneOutput({ name: settings.zone, privateZone: false }).zoneId;
    return zoneId;
  };
  return {
    provider: "route53",
    publish(name: string, spec: DnsRecordSpec, opts: pulumi.CustomResourceOptions): PublishedRecord {
      const value = pulumi
        .all([spec.content, spec.priority])
        .apply(([content, priority]) => route53Value(spec.type, content, priority));
      const record = new aws.route53.Record(
        name,
        { zoneId: lookupZone(), name: spec.fqdn, type: spec.type, ttl: settings.ttl, records: [value] },
        opts,
      );
      return {
        resource: record,
        name: pulumi.output(spec.fqdn),
        type: spec.type,
        value,
        ttl: settings.ttl,
        priority: spec.priority === undefined ? undefined : pulumi.output(spec.priority),
      };
    },
  };
}
