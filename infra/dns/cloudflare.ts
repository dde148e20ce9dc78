import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { splitTxt } from "./records";
import type { DnsAdapter, DnsAdapterSettings, DnsRecordSpec, PublishedRecord } from "./types";

/**
 * Cloudflare's TXT `content` is RFC 1035 text. A value over 255 bytes goes as several quoted strings of at
 * most 255 bytes, separated by a space: Cloudflare stores a long single string split that way, and the
 * provider would then show a diff on every run (cloudflare/terraform-provider-cloudflare#6238).
 */
export function cloudflareContent(type: string, content: string): string {
  if (type !== "TXT") return content;
  return splitTxt(content)
    .map((part) => `"${part.replace(/[\\"]/g, (c) => `\\${c}`)}"`)
    .join(" ");
}

/**
 * Cloudflare (`cloudflare.DnsRecord`, provider v6): full names, an explicit ttl, never proxied (Resend's
 * records must answer from DNS, not from Cloudflare's edge), CNAMEs not flattened (a flattened CNAME
 * answers with the target's addresses, so Resend never sees it), and a comment naming the stack.
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
          ...(spec.type === "CNAME" ? { settings: { flattenCname: false } } : {}),
          comment: `${settings.project} ${settings.stack}: ${spec.description}`,
        },
        opts,
      );
      return {
        resource: record,
        name: pulumi.output(spec.fqdn),
        type: spec.type,
        value: content,
        ttl: settings.ttl,
        priority: spec.priority === undefined ? undefined : pulumi.output(spec.priority),
      };
    },
  };
}
