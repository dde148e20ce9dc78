import type { DnsProviderName } from "../config";
import { cloudflareDns } from "./cloudflare";
import { route53Dns } from "./route53";
import { type DnsAdapter, type DnsAdapterSettings, recordOptions } from "./types";

export type { DnsAdapter, DnsAdapterSettings, DnsRecordSpec, PublishedRecord } from "./types";

/** Every DNS provider the program can write to; a new provider is one file plus one line here. */
const ADAPTERS: Record<DnsProviderName, (settings: DnsAdapterSettings) => DnsAdapter> = {
  cloudflare: cloudflareDns,
  route53: route53Dns,
};

/** The adapter for `provider`; every record it publishes is replaced delete-first (see `recordOptions`). */
export function dnsAdapter(provider: DnsProviderName, settings: DnsAdapterSettings): DnsAdapter {
  const adapter = ADAPTERS[provider](settings);
  return {
    provider: adapter.provider,
    publish: (name, spec, opts) => adapter.publish(name, spec, recordOptions(opts)),
  };
}
