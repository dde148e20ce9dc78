import type { StackSettings } from "../settings/stack-config";
import { bridgeIsUp, checkBridgeHealth, checkSignatureEnforced, fetchBridgeFacts } from "./bridge";
import { checkClerkKey, checkSvixApp, checkTemplates, cutOverTemplates, fetchClerkFacts } from "./clerk";
import { checkDeadLetters, fetchDeadLetters } from "./dead-letters";
import { checkDelegation, type DelegationFacts, fetchDelegation } from "./delegation";
import { checkDmarc, type DmarcFacts, fetchDmarcFacts } from "./dmarc";
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
  checkReputation,
  checkResendKey,
  checkResendWebhook,
  checkTracking,
  expectedRecords,
  fetchResendFacts,
  type ResendFacts,
} from "./resend";
import { analyzeSpf, checkSpfAll, checkSpfLimits, collectSpfRecords, isSpfRecord } from "./spf";
import { checkClerkEndpoint, fetchSvixEndpoints } from "./svix-endpoint";
import { type CheckResult, DEFAULT_TIMEOUT_MS, resultsFor } from "./types";

export interface DoctorInputs {
  /** The stack's name; `prod` gets stricter DMARC advice. */
  stack: string;
  /** The stack's settings as the program parses them (`parseStackConfig`), credentials included. */
  settings: StackSettings;
  resendBaseUrl?: string;
  clerkApiUrl?: string;
  /** Svix's API for the Clerk app portal (`SVIX_API_URL`); by default the portal key's region decides. */
  svixApiUrl?: string;
  /** The bridge's Function URL (the `bridgeUrl` stack output). */
  bridgeUrl?: string;
  /** The bridge's dead-letter queue (the `deadLetterQueueName` stack output). */
  deadLetterQueueName?: string;
  /** Where AWS credentials, region and endpoints are read for the queue check; default `process.env`. */
  awsEnv?: Record<string, string | undefined>;
  dns: DnsLookup;
  /** Per call to a vendor, the bridge or AWS: a hung dependency costs at most this. Default 10 s. */
  timeoutMs?: number;
}

/**
 * The record shape against the stack's profile, then checks for every record Resend expects, each name
 * looked up once; names are looked up in parallel.
 */
async function recordChecks(inputs: DoctorInputs, records: ExpectedRecord[]): Promise<CheckResult[]> {
  const { settings } = inputs;
  const zone = settings.dnsZone;
  const shape = checkRecordProfile(
    settings.resendRecordProfile,
    records,
    settings.sendingDomain,
    inputs.stack,
  );
  const facts = new Map<string, Promise<NameFacts>>();
  for (const { fqdn } of records) {
    if (!facts.has(fqdn)) facts.set(fqdn, fetchNameFacts(fqdn, zone, inputs.dns));
  }
  const perRecord = await Promise.all(
    records.map(async (record) => {
      const at = await (facts.get(record.fqdn) as Promise<NameFacts>);
      return [
        ...checkExpectedRecord(record, at),
        ...(record.record === "DKIM" && record.type === "TXT" ? checkDkimKey(record, at) : []),
        ...(record.type === "TXT" && isSpfRecord(record.value)
          ? await spfChecks(record, at, inputs.dns)
          : []),
      ];
    }),
  );
  return [shape, ...perRecord.flat()];
}

async function spfChecks(record: ExpectedRecord, at: NameFacts, lookup: DnsLookup): Promise<CheckResult[]> {
  const published = at.txt.kind === "found" ? at.txt.values.filter(isSpfRecord) : [];
  if (published.length !== 1) return []; // missing or duplicate: reported by the record check
  const spf = published[0] as string;
  const records = await collectSpfRecords(record.fqdn, spf, lookup);
  return [...checkSpfLimits(record.fqdn, analyzeSpf(record.fqdn, records)), checkSpfAll(record.fqdn, spf)];
}

const DKIM_OK = (results: CheckResult[]) =>
  results.some((r) => r.check === "dns.dkim-txt" && r.status === "pass") &&
  !results.some((r) => r.check.startsWith("dns.dkim") && r.status === "fail");

async function dnsChecks(
  inputs: DoctorInputs,
  resendFacts: Promise<ResendFacts>,
  dmarcFacts: Promise<DmarcFacts>,
  delegationFacts: Promise<DelegationFacts | undefined>,
): Promise<CheckResult[]> {
  const { settings } = inputs;
  const domain = (await resendFacts).domain;
  const [records, dmarc, delegation] = await Promise.all([
    domain && domain !== "missing" && domain.ok
      ? recordChecks(inputs, expectedRecords(domain.value, settings.dnsZone))
      : Promise.resolve([
          resultsFor("dns").warn(
            "dns.records",
            `the records Resend expects for ${settings.sendingDomain} are unknown (see Resend below), so they were not compared`,
            "fix the Resend problems below and run the doctor again",
            { code: "not-checked" },
          ),
        ]),
    dmarcFacts,
    delegationFacts,
  ]);
  const expectation = {
    policy: settings.dmarcPolicy,
    pct: settings.dmarcPct,
    rua: settings.dmarcRua,
    stack: inputs.stack,
    fromDomain: settings.fromAddress.split("@").pop()?.toLowerCase() ?? settings.sendingDomain,
    dkimOk: DKIM_OK(records),
  };
  return [...checkDelegation(delegation), ...records, ...checkDmarc(dmarc, expectation)];
}

/**
 * Every check for one stack, read-only. Resend, Clerk (and its Svix portal), the bridge and its queue are
 * asked at once, and DNS as soon as Resend names the records, so a hung dependency costs its own timeout
 * and no more. The report never holds a credential.
 */
export async function runDoctor(inputs: DoctorInputs): Promise<DoctorReport> {
  const { settings } = inputs;
  const timeoutMs = inputs.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const resendFacts = fetchResendFacts({
    apiKey: settings.secrets.resendApiKey,
    baseUrl: inputs.resendBaseUrl,
    domainName: settings.sendingDomain,
    timeoutMs,
  });
  const clerkFacts = fetchClerkFacts({
    secretKey: settings.secrets.clerkSecretKey,
    apiUrl: inputs.clerkApiUrl,
    templates: settings.templates,
    timeoutMs,
  });
  const svixEndpoints = clerkFacts.then((clerk) =>
    settings.clerkWebhookMode === "portal" && clerk.svixPortal.ok
      ? fetchSvixEndpoints(clerk.svixPortal.value, { svixApiUrl: inputs.svixApiUrl, timeoutMs })
      : undefined,
  );
  const [resend, clerk, endpoints, bridge, deadLetters, dns] = await Promise.all([
    resendFacts,
    clerkFacts,
    svixEndpoints,
    inputs.bridgeUrl ? fetchBridgeFacts(inputs.bridgeUrl, timeoutMs) : Promise.resolve(undefined),
    inputs.deadLetterQueueName
      ? fetchDeadLetters({
          queueName: inputs.deadLetterQueueName,
          env: inputs.awsEnv ?? process.env,
          timeoutMs,
        })
      : Promise.resolve(undefined),
    // DMARC and the delegation need nothing from Resend: asked at once with everything else.
    dnsChecks(
      inputs,
      resendFacts,
      fetchDmarcFacts(settings.sendingDomain, inputs.dns),
      fetchDelegation(settings.dnsZone, inputs.dns),
    ),
  ]);
  const cutOver = cutOverTemplates(clerk);
  const results: CheckResult[] = [
    ...dns,
    checkResendKey(resend),
    ...checkDomainStatus(resend, settings.sendingDomain, settings.dnsZone, cutOver),
    ...checkTracking(resend, settings.sendingDomain),
    ...checkReputation(resend, settings.sendingDomain),
    ...checkResendWebhook(resend, inputs.bridgeUrl),
    checkClerkKey(clerk),
    ...(clerk.key.ok ? checkTemplates(clerk, bridgeIsUp(bridge)) : []),
    ...(clerk.key.ok ? [checkSvixApp(clerk, settings.clerkWebhookMode, inputs.bridgeUrl)] : []),
    ...(clerk.key.ok
      ? checkClerkEndpoint({
          mode: settings.clerkWebhookMode,
          bridgeUrl: inputs.bridgeUrl,
          endpoints,
          cutOver,
        })
      : []),
    checkBridgeHealth(bridge),
    ...checkSignatureEnforced(bridge),
    checkDeadLetters(deadLetters),
  ];
  const secrets = Object.values(settings.secrets);
  return buildReport(inputs.stack, settings.sendingDomain, redact(results, secrets));
}
