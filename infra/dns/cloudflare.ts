import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import type { DnsAdapter, DnsAdapterSettings, DnsRecordSpec, PublishedRecord } from "./types";

/** Cloudflare wants TXT content as one quoted string and splits long values into 255-byte strings itself. */
export function cloudflareContent(type: string, content: string): string {
  return type === "TXT" ? `"${content.replace(/"/g, '\\"')}"` : content;
}

/**
 * Cloudflare (`cloudflare.DnsRecord`, provider v6): full names, an explicit ttl, never proxied (Resend's
 * records must answer from DNS, not from Cloudflare's edge), and a comment naming the stack that owns them.
 */
export function cloudflareDns(settings: DnsAdapterSettings): DnsAdapter {
  let zoneId: pulumi.Output<string> | undefined;
  const lookupZone = () => {
    zoneId ??= settings.zoneId
      ? pulumi.output(settings.zoneId)
      : cloudflare.getZoneOutput({ filter: { name: settings.zone } }).id;
    return zoneId;
  };
  return {
    provider: "cloudflare",
    publish(name: string, spec: DnsRecordSpec, opts: pulumi.CustomResourceOptions): PublishedRecord {
      const content = pulumi.output(spec.content).apply((value) => cloudflareContent(spec.type, value));
      const record = new cloudflare.DnsRecord(
        name,
        {
          zoneId: lookupZone(),
          name: spec.fqdn,
          type: spec.type,
          ttl: settings.ttl,
          content,
          priority: spec.priority,
          proxied: false,
          comment: `${settings.project} ${settings.stack}: ${spec.description}`,
        },
        opts,
      );
      return {
        resource: record,
        name: spec.fqdn,
        type: spec.type,
        value: content,
        ttl: settings.ttl,
        priority: spec.priority === undefined ? undefined : pulumi.output(spec.priority),
      };
    },
  };
}
