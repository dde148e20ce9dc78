import { type GetDomainResponseSuccess, Resend } from "resend";
import { resendRecordFqdn } from "../../infra/dns/records";
import { BRIDGE_PATHS, bridgeEndpoint } from "../bridge/routes";
import { defaultSleep, parseRetryAfter } from "../lib/backoff";
import { type ExpectedRecord, recordLabel } from "./records";
import {
  type CallFailure,
  type CheckResult,
  credentialCheck,
  type Fetched,
  plural,
  resultsFor,
  unreachable,
} from "./types";

/** Events the bridge needs from Resend to flag undeliverable addresses and count soft failures. */
export const REQUIRED_RESEND_EVENTS = [
  "email.bounced",
  "email.complained",
  "email.suppressed",
  "email.delivery_delayed",
] as const;

export type ResendDomain = GetDomainResponseSuccess;

export interface ResendWebhookSummary {
  id: string;
  endpoint: string;
  status: string;
  events: string[] | null;
}

export interface ResendFacts {
  /** The domain list: proves the key works. */
  domains: Fetched<{ id: string; name: string }[]>;
  /** `missing` when no domain of the team has the stack's name. */
  domain?: Fetched<ResendDomain> | "missing";
  webhooks: Fetched<ResendWebhookSummary[]>;
}

type SdkResult<T> = {
  data: T | null;
  error: { message: string; statusCode: number | null; name: string } | null;
  headers: Record<string, string> | null;
};

const MAX_WAIT_MS = 2_000;
const CALL_TIMEOUT_MS = 10_000;

/**
 * One SDK call. The SDK never retries, and a team's budget is a few requests per second shared with
 * everything else using the key, so a 429 is retried (twice, honouring `retry-after`) before it is reported.
 */
async function call<T>(
  request: (options: { signal: AbortSignal }) => Promise<SdkResult<T>>,
): Promise<Fetched<T>> {
  for (let attempt = 1; ; attempt++) {
    let result: SdkResult<T>;
    try {
      // The SDK sets no timeout of its own; on abort it throws the signal's reason.
      result = await request({ signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
    } catch (err) {
      return { ok: false, failure: { transient: true, message: (err as Error).message } };
    }
    if (result.data !== null && !result.error) return { ok: true, value: result.data };
    const error = result.error ?? { message: "empty answer", statusCode: null, name: "application_error" };
    if (error.statusCode === 429 && attempt < 3) {
      await defaultSleep(Math.min(MAX_WAIT_MS, parseRetryAfter(result.headers?.["retry-after"]) ?? 1_000));
      continue;
    }
    return { ok: false, failure: resendFailure(error) };
  }
}

function resendFailure(error: { message: string; statusCode: number | null; name: string }): CallFailure {
  const status = error.statusCode ?? undefined;
  const transient = status === undefined || status === 429 || status >= 500;
  return { transient, status, code: error.name, message: error.message };
}

type Page<T> = { data: T[]; has_more: boolean };

async function listAll<T extends { id: string }>(
  list: (
    options: { limit: number; after?: string },
    request: { signal: AbortSignal },
  ) => Promise<SdkResult<Page<T>>>,
): Promise<Fetched<T[]>> {
  const items: T[] = [];
  for (let after: string | undefined; ; ) {
    const page = await call((request) => list(after ? { limit: 100, after } : { limit: 100 }, request));
    if (!page.ok) return page;
    items.push(...page.value.data);
    const last = page.value.data.at(-1);
    if (!page.value.has_more || !last) return { ok: true, value: items };
    after = last.id;
  }
}

export async function fetchResendFacts(options: {
  apiKey: string;
  baseUrl?: string;
  domainName: string;
}): Promise<ResendFacts> {
  const resend = new Resend(options.apiKey, options.baseUrl ? { baseUrl: options.baseUrl } : {});
  const domains = await listAll((o, request) => resend.domains.list(o, request));
  // A key that cannot list domains cannot list webhooks either: one failure is reported, by the key check.
  if (!domains.ok) return { domains, webhooks: domains };
  const webhooks = await listAll((o, request) => resend.webhooks.list(o, request));
  const match = domains.value.find((d) => d.name.toLowerCase() === options.domainName);
  const domain = match ? await call((request) => resend.domains.get(match.id, request)) : "missing";
  return { domains, domain, webhooks };
}

/** Resend's records for the domain, with names made fully qualified (Resend's are relative to the zone). */
export function expectedRecords(domain: ResendDomain, zone: string): ExpectedRecord[] {
  return domain.records.map((r) => ({
    record: r.record,
    type: r.type,
    fqdn: resendRecordFqdn(r.name, zone),
    value: r.value,
    priority: "priority" in r ? r.priority : undefined,
  }));
}

const resend = resultsFor("resend");

const KEY_FIX =
  "create a full-access key in Resend → API Keys and export RESEND_API_KEY=re_… (a sending-only key cannot read domains)";

export function checkResendKey(facts: ResendFacts): CheckResult {
  return credentialCheck(
    "resend",
    "resend.api-key",
    "RESEND_API_KEY",
    facts.domains,
    KEY_FIX,
    (domains) => `${plural(domains.length, "domain")} on the team`,
  );
}

function listRecords(domain: ResendDomain, zone: string, statuses: string[]): string {
  const expected = expectedRecords(domain, zone);
  return domain.records
    .flatMap((r, i) =>
      statuses.includes(r.status) ? [`${recordLabel(expected[i] as ExpectedRecord)} (${r.status})`] : [],
    )
    .join("; ");
}

export function checkDomainStatus(facts: ResendFacts, domainName: string, zone: string): CheckResult[] {
  const id = "resend.domain";
  if (!facts.domain) return [];
  if (facts.domain === "missing") {
    return [
      resend.fail(
        id,
        `${domainName} is not a domain of this Resend team`,
        "pulumi up creates it (if it exists under another team, use that team's key or claim it in Resend)",
      ),
    ];
  }
  if (!facts.domain.ok) {
    return [unreachable("resend", id, `could not read ${domainName}`, facts.domain.failure, KEY_FIX)];
  }
  const domain = facts.domain.value;
  const vanished = listRecords(domain, zone, ["temporary_failure"]);
  const republish = "publish them exactly as Resend lists them (pulumi up rewrites the stack's records)";
  switch (domain.status) {
    case "verified":
      if (vanished) {
        return [
          resend.fail(
            id,
            `${domainName} is verified but records vanished from DNS: ${vanished}; Resend fails the domain after 72 h`,
            republish,
          ),
        ];
      }
      return [resend.pass(id, `${domainName} is verified`)];
    case "not_started":
    case "pending":
    case "partially_verified":
      return [
        resend.warn(
          id,
          `${domainName} is ${domain.status}; waiting for: ${listRecords(domain, zone, ["pending", "not_started", "temporary_failure"]) || "verification to start"}`,
          "publish the listed records, then start verification with pulumi up (Resend checks for up to 72 h)",
        ),
      ];
    default: {
      const failed = listRecords(domain, zone, ["failed", "temporary_failure"]);
      return [
        resend.fail(
          id,
          `${domainName} is ${domain.status}${failed ? `: ${failed}` : ""}`,
          `${republish}, then verify again with pulumi up`,
        ),
      ];
    }
  }
}

/** Tracking rewrites links and adds pixels: it hurts auth mail and breaks single-use links. */
export function checkTracking(facts: ResendFacts, domainName: string): CheckResult[] {
  if (!facts.domain || facts.domain === "missing" || !facts.domain.ok) return [];
  const domain = facts.domain.value;
  const on = [
    domain.open_tracking === true ? "open" : undefined,
    domain.click_tracking === true ? "click" : undefined,
  ].filter((x): x is string => x !== undefined);
  if (on.length === 0)
    return [resend.pass("resend.tracking", `open and click tracking are off on ${domainName}`)];
  return [
    resend.warn(
      "resend.tracking",
      `${on.join(" and ")} tracking is on for ${domainName}: link scanners can spend single-use links and filters treat tracked mail as marketing`,
      `${on.map((kind) => `pulumi config set ${kind}Tracking false`).join(" && ")} && pulumi up`,
    ),
  ];
}

const bridgeWebhookUrl = (bridgeUrl: string) => bridgeEndpoint(bridgeUrl, BRIDGE_PATHS.resend);

export function checkResendWebhook(facts: ResendFacts, bridgeUrl: string | undefined): CheckResult[] {
  const id = "resend.webhook";
  if (!facts.domains.ok) return [];
  if (!facts.webhooks.ok) {
    return [unreachable("resend", id, "could not list webhooks", facts.webhooks.failure, KEY_FIX)];
  }
  if (!bridgeUrl) {
    return [
      resend.warn(
        id,
        "the bridge URL is unknown, so the webhook pointing at it cannot be found",
        "pass --bridge-url <Function URL> or --outputs <file from pulumi stack output --json>",
      ),
    ];
  }
  const endpoint = bridgeWebhookUrl(bridgeUrl);
  const events = REQUIRED_RESEND_EVENTS.join(", ");
  const matching = facts.webhooks.value.filter((w) => w.endpoint.replace(/\/+$/, "") === endpoint);
  const webhook = matching.find((w) => w.status === "enabled") ?? matching[0];
  if (!webhook) {
    return [
      resend.fail(
        id,
        `no Resend webhook sends to ${endpoint}: bounces and complaints never reach Clerk`,
        `pulumi up creates it, or add one in Resend → Webhooks for ${endpoint} with ${events}`,
      ),
    ];
  }
  const results: CheckResult[] = [resend.pass(id, `webhook ${webhook.id} sends to ${endpoint}`)];
  if (matching.length > 1) {
    results.push(
      resend.warn(
        `${id}.duplicate`,
        `${matching.length} webhooks send to ${endpoint} (${matching.map((w) => w.id).join(", ")})`,
        "delete all but the one in the stack's resendWebhookId output",
      ),
    );
  }
  if (webhook.status !== "enabled") {
    results.push(
      resend.fail(
        `${id}.enabled`,
        `webhook ${webhook.id} is ${webhook.status} (Resend disables endpoints that keep failing)`,
        `fix the bridge, then enable it: Resend → Webhooks → ${webhook.id} → Enable (or PATCH /webhooks/${webhook.id} {"status":"enabled"})`,
      ),
    );
  }
  const missing = REQUIRED_RESEND_EVENTS.filter((e) => !(webhook.events ?? []).includes(e));
  if (missing.length > 0) {
    results.push(
      resend.fail(
        `${id}.events`,
        `webhook ${webhook.id} does not subscribe to ${missing.join(", ")}`,
        `pulumi up resubscribes it, or add ${missing.join(", ")} in Resend → Webhooks → ${webhook.id}`,
      ),
    );
  } else {
    results.push(resend.pass(`${id}.events`, `webhook ${webhook.id} subscribes to ${events}`));
  }
  return results;
}
