import type { StackSettings } from "../../infra/config";
import { bridgeIsUp, checkBridgeHealth, checkSignatureEnforced, fetchBridgeFacts } from "./bridge";
import { checkClerkKey, checkSvixApp, checkTemplates, fetchClerkFacts } from "./clerk";
import { checkDmarc, fetchDmarcFacts } from "./dmarc";
import type { DnsLookup } from "./dns-lookup";
import {
  checkDkimKey,
  checkExpectedRecord,
  checkRecordProfile,
  type ExpectedRecord,
  fetchNameFacts,
  type NameFacts,
} from "./records";
import { buildReport, type DoctorReport, redact } from "./report";
import {
  checkDomainStatus,
  checkResendKey,
  checkResendWebhook,
  checkTracking,
  expectedRecords,
  fetchResendFacts,
  type ResendFacts,
} from "./resend";
import { analyzeSpf, checkSpfLimits, collectSpfRecords, isSpfRecord } from "./spf";
import { type CheckResult, resultsFor } from "./types";

export interface DoctorInputs {
  /** The stack's name; `prod` gets stricter DMARC advice. */
  stack: string;
  /** The stack's settings as the program parses them (`parseStackConfig`), credentials included. */
  settings: StackSettings;
  resendBaseUrl?: string;
  clerkApiUrl?: string;
  /** The bridge's Function URL (the `bridgeUrl` stack output). */
  bridgeUrl?: string;
  dns: DnsLookup;
  /** Per HTTP probe of the bridge; default 10 s. */
  bridgeTimeoutMs?: number;
}

/**
 * The record shape against the stack's profile, then checks for every record Resend expects, each name
 * looked up once; names are looked up in parallel.
 */
async function recordChecks(inputs: DoctorInputs, records: ExpectedRecord[]): Promise<CheckResult[]> {
  const { settings } = inputs;
  const shape = checkRecordProfile(
    settings.resendRecordProfile,
    records,
    settings.sendingDomain,
    inputs.stack,
  );
  const facts = new Map<string, Promise<NameFacts>>();
  for (const { fqdn } of records) if (!facts.has(fqdn)) facts.set(fqdn, fetchNameFacts(fqdn, inputs.dns));
  const perRecord = await Promise.all(
    records.map(async (record) => {
      const at = await (facts.get(record.fqdn) as Promise<NameFacts>);
      return [
        ...checkExpectedRecord(record, at),
        ...(record.record === "DKIM" && record.type === "TXT" ? checkDkimKey(record, at) : []),
        ...(record.type === "TXT" && isSpfRecord(record.value)
          ? await spfLimits(record, at, inputs.dns)
          : []),
      ];
    }),
  );
  return [shape, ...perRecord.flat()];
}

async function dnsChecks(inputs: DoctorInputs, resend: ResendFacts): Promise<CheckResult[]> {
  const { settings } = inputs;
  const domain = resend.domain;
  const [records, dmarc] = await Promise.all([
    domain && domain !== "missing" && domain.ok
      ? recordChecks(inputs, expectedRecords(domain.value, settings.dnsZone))
      : [
          resultsFor("dns").warn(
            "dns.records",
            `the records Resend expects for ${settings.sendingDomain} are unknown (see Resend below), so they were not compared`,
            "fix the Resend problems below and run the doctor again",
          ),
        ],
    fetchDmarcFacts(settings.sendingDomain, settings.dnsZone, inputs.dns),
  ]);
  const expectation = {
    policy: settings.dmarcPolicy,
    pct: settings.dmarcPct,
    rua: settings.dmarcRua,
    stack: inputs.stack,
  };
  return [...records, ...checkDmarc(dmarc, expectation)];
}

async function spfLimits(record: ExpectedRecord, at: NameFacts, lookup: DnsLookup): Promise<CheckResult[]> {
  const published = at.txt.kind === "found" ? at.txt.values.filter(isSpfRecord) : [];
  if (published.length !== 1) return []; // missing or duplicate: reported by the record check
  const records = await collectSpfRecords(record.fqdn, published[0] as string, lookup);
  return checkSpfLimits(record.fqdn, analyzeSpf(record.fqdn, records));
}

/**
 * Every check for one stack, read-only: Resend, Clerk and the bridge are asked in parallel, DNS is compared
 * with what Resend expects, and the report never holds a credential.
 */
export async function runDoctor(inputs: DoctorInputs): Promise<DoctorReport> {
  const { settings } = inputs;
  const [resend, clerk, bridge] = await Promise.all([
    fetchResendFacts({
      apiKey: settings.secrets.resendApiKey,
      baseUrl: inputs.resendBaseUrl,
      domainName: settings.sendingDomain,
    }),
    fetchClerkFacts({
      secretKey: settings.secrets.clerkSecretKey,
      apiUrl: inputs.clerkApiUrl,
      templates: settings.templates,
    }),
    inputs.bridgeUrl
      ? fetchBridgeFacts(inputs.bridgeUrl, inputs.bridgeTimeoutMs)
      : Promise.resolve(undefined),
  ]);
  const results: CheckResult[] = [
    ...(await dnsChecks(inputs, resend)),
    checkResendKey(resend),
    ...checkDomainStatus(resend, settings.sendingDomain, settings.dnsZone),
    ...checkTracking(resend, settings.sendingDomain),
    ...checkResendWebhook(resend, inputs.bridgeUrl),
    checkClerkKey(clerk),
    ...(clerk.key.ok ? checkTemplates(clerk, bridgeIsUp(bridge)) : []),
    ...(clerk.key.ok ? [checkSvixApp(clerk, settings.clerkWebhookMode, inputs.bridgeUrl)] : []),
    checkBridgeHealth(bridge),
    ...checkSignatureEnforced(bridge),
  ];
  const secrets = Object.values(settings.secrets);
  return buildReport(inputs.stack, settings.sendingDomain, redact(results, secrets));
}
