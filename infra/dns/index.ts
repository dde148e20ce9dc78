import type { DnsProviderName } from "../config";
import { cloudflareDns } from "./cloudflare";
import { route53Dns } from "./route53";
import type { DnsAdapter, DnsAdapterSettings } from "./types";

export type { DnsAdapter, DnsAdapterSettings, DnsRecordSpec, PublishedRecord } from "./types";

/** Every DNS provider the program can write to; a new provider is one file plus one line here. */
const ADAPTERS: Record<DnsProviderName, (settings: DnsAdapterSettings) => DnsAdapter> = {
  cloudflare: cloudflareDns,
  route53: route53Dns,
};

export function dnsAdapter(provider: DnsProviderName, settings: DnsAdapterSettings): DnsAdapter {
  return ADAPTERS[provider](settings);
}
