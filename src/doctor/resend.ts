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
  thrownFailure,
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
  /** The domain's sending counts over the last 7 days (`GET /emails/metrics`). */
  metrics?: Fetched<MetricTotals>;
}

/** Counts, not Resend's `*_rate` fields: the API does not say whether those are fractions or percents. */
export type MetricTotals = Partial<Record<"sent" | "delivered" | "bounced" | "complained", number>>;

type SdkResult<T> = {
  data: T | null;
  error: { message: string; statusCode: number | null; name: string } | null;
  headers: Record<string, string> | null;
};

const MAX_WAIT_MS = 2_000;

/**
 * One SDK call. The SDK never retries, and a team's budget is a few requests per second shared with
 * everything else using the key, so a 429 is retried (twice, honouring `retry-after`) before it is reported.
 */
async function call<T>(
  request: (options: { signal: AbortSignal }) => Promise<SdkResult<T>>,
  timeoutMs: number,
): Promise<Fetched<T>> {
  for (let attempt = 1; ; attempt++) {
    let result: SdkResult<T>;
    try {
      // The SDK sets no timeout of its own; on abort it throws the signal's reason.
      result = await request({ signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      return { ok: false, failure: thrownFailure(err, timeoutMs) };
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
  timeoutMs: number,
): Promise<Fetched<T[]>> {
  const items: T[] = [];
  for (let after: string | undefined; ; ) {
    const page = await call(
      (request) => list(after ? { limit: 100, after } : { limit: 100 }, request),
      timeoutMs,
    );
    if (!page.ok) return page;
    items.push(...page.value.data);
    const last = page.value.data.at(-1);
    if (!page.value.has_more || !last) return { ok: true, value: items };
    after = last.id;
  }
}

/** Resend's rolling window for reputation: the default of `GET /emails/metrics` (the last 7 days). */
const METRICS = ["sent", "delivered", "bounced", "complained"] as const;

export async function fetchResendFacts(options: {
  apiKey: string;
  baseUrl?: string;
  domainName: string;
  timeoutMs: number;
}): Promise<ResendFacts> {
  const { timeoutMs } = options;
  const resend = new Resend(options.apiKey, options.baseUrl ? { baseUrl: options.baseUrl } : {});
  const domains = await listAll((o, request) => resend.domains.list(o, request), timeoutMs);
  // A key that cannot list domains cannot list webhooks either: one failure is reported, by the key check.
  if (!domains.ok) return { domains, webhooks: domains };
  const match = domains.value.find((d) => d.name.toLowerCase() === options.domainName);
  const [webhooks, domain, metrics] = await Promise.all([
    listAll((o, request) => resend.webhooks.list(o, request), timeoutMs),
    match ? call((request) => resend.domains.get(match.id, request), timeoutMs) : ("missing" as const),
    match
      ? call(
          (request) =>
            resend.emails.metrics({ domainId: [match.id], metrics: [...METRICS] }, request) as Promise<
              SdkResult<{ totals: MetricTotals }>
            >,
          timeoutMs,
        )
      : undefined,
  ]);
  return {
    domains,
    domain,
    webhooks,
    metrics: metrics && (metrics.ok ? { ok: true, value: metrics.value.totals ?? {} } : metrics),
  };
}

/** Resend's records for the domain, with names made fully qualified (Resend's are relative to the zone). */
export function expectedRecords(domain: ResendDomain, zone: string): ExpectedRecord[] {
  return domain.records.map((r) => {
    const fqdn = resendRecordFqdn(r.name, zone);
    return {
      record: r.record,
      type: r.type,
      fqdn,
      relative: fqdn === zone ? "@" : fqdn.slice(0, -(zone.length + 1)),
      zone,
      value: r.value,
      priority: "priority" in r ? r.priority : undefined,
    };
  });
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

/**
 * Resend refuses to send from a domain that is not verified. Before the cutover that only delays it; once
 * Clerk's templates go through the bridge (`cutOver` non-empty), every code sent meanwhile is lost.
 */
export function checkDomainStatus(
  facts: ResendFacts,
  domainName: string,
  zone: string,
  cutOver: string[],
): CheckResult[] {
  const id = "resend.domain";
  if (!facts.domain) return [];
  if (facts.domain === "missing") {
    return [
      resend.fail(
        id,
        `${domainName} is not a domain of this Resend team`,
        "pulumi up --refresh creates it (if it exists under another team, use that team's key or claim it in Resend)",
        { code: "missing" },
      ),
    ];
  }
  if (!facts.domain.ok) {
    return [unreachable("resend", id, `could not read ${domainName}`, facts.domain.failure, KEY_FIX)];
  }
  const domain = facts.domain.value;
  const status = domain.status as string;
  const details = {
    status,
    records: domain.records.map((r) => ({ record: r.record, type: r.type, name: r.name, status: r.status })),
  };
  const vanished = listRecords(domain, zone, ["temporary_failure"]);
  const republish =
    "publish them exactly as Resend lists them (pulumi up --refresh rewrites the stack's records)";
  const lost =
    cutOver.length > 0 ? `; Resend refuses to send from it, so ${cutOver.join(", ")} mail is lost` : "";
  if (status === "verified") {
    if (vanished) {
      return [
        resend.fail(
          id,
          `${domainName} is verified but records vanished from DNS: ${vanished}; Resend fails the domain after 72 h`,
          republish,
          { code: "temporary_failure", details },
        ),
      ];
    }
    return [resend.pass(id, `${domainName} is verified`, details)];
  }
  if (["not_started", "pending", "partially_verified"].includes(status)) {
    const waiting =
      listRecords(domain, zone, ["pending", "not_started", "temporary_failure"]) || "verification to start";
    const message = `${domainName} is ${status}; waiting for: ${waiting}`;
    const fix =
      "publish the listed records, then start verification with pulumi up --refresh (Resend checks for up to 72 h)";
    // partially_verified: one capability or one of two sending CNAMEs verified; sending may still work.
    return [
      cutOver.length > 0 && status !== "partially_verified"
        ? resend.fail(id, `${message}${lost}`, fix, { code: status, details })
        : resend.warn(id, message, fix, { code: status, details }),
    ];
  }
  const failed = listRecords(domain, zone, ["failed", "temporary_failure"]);
  return [
    resend.fail(
      id,
      `${domainName} is ${status}${failed ? `: ${failed}` : ""}${lost}`,
      `${republish}, then verify again with pulumi up --refresh`,
      { code: status, details },
    ),
  ];
}

/** Gmail's spam-rate rules (keep under 0.1 %, never reach 0.3 %) and Clerk's warm-up bounce ceiling (2 %). */
const COMPLAINT_WARN = 0.001;
const COMPLAINT_FAIL = 0.003;
const BOUNCE_CEILING = 0.02;

const percent = (rate: number) => `${(rate * 100).toFixed(2)} %`;

/**
 * Reputation over Resend's last 7 days for the domain. Rates are computed from counts: complaints per
 * delivered message, bounces per sent one. Gmail reports complaints to nobody but Postmaster Tools, so the
 * complaint rate is a lower bound.
 */
export function checkReputation(facts: ResendFacts, domainName: string): CheckResult[] {
  const id = "resend.reputation";
  if (!facts.metrics) return [];
  if (!facts.metrics.ok) {
    if (facts.metrics.failure.status === 404 || facts.metrics.failure.status === 405) {
      return [
        resend.warn(
          id,
          "Resend did not serve GET /emails/metrics (HTTP 404), so bounce and complaint rates were not read",
          "check them in Resend → Metrics for the domain",
          { code: "not-checked" },
        ),
      ];
    }
    return [unreachable("resend", id, "could not read the domain's metrics", facts.metrics.failure, KEY_FIX)];
  }
  const { sent = 0, delivered = 0, bounced = 0, complained = 0 } = facts.metrics.value;
  const details = { windowDays: 7, sent, delivered, bounced, complained };
  if (sent === 0) return [resend.pass(id, `${domainName} sent no mail in the last 7 days`, details)];
  const complaintRate = delivered > 0 ? complained / delivered : 0;
  const bounceRate = bounced / sent;
  const measured = `${percent(bounceRate)} bounced (${bounced} of ${sent} sent), ${percent(complaintRate)} complaints (${complained} of ${delivered} delivered) over 7 days`;
  const all = { ...details, bounceRate, complaintRate };
  if (complaintRate >= COMPLAINT_FAIL) {
    return [
      resend.fail(
        id,
        `${domainName}: ${measured}; Gmail rejects senders at 0.3 % complaints`,
        "find what users mark as spam (unexpected sign-up mail, bots signing up with other people's addresses: add bot protection to sign-up) and stop it; Resend suppresses complainers itself",
        { code: "complaints", details: all },
      ),
    ];
  }
  if (bounceRate > BOUNCE_CEILING) {
    return [
      resend.fail(
        id,
        `${domainName}: ${measured}; above 2 % bounces mailbox providers and Resend start distrusting the domain`,
        "check the addresses users sign up with (typos, fake sign-ups): validate them before sending and keep the bridge's undeliverable flag in the sign-up UI",
        { code: "bounces", details: all },
      ),
    ];
  }
  if (complaintRate >= COMPLAINT_WARN) {
    return [
      resend.warn(
        id,
        `${domainName}: ${measured}; Gmail wants complaints under 0.1 %`,
        "find what users mark as spam and stop it before it reaches 0.3 %",
        { code: "complaints", details: all },
      ),
    ];
  }
  return [resend.pass(id, `${domainName}: ${measured}`, all)];
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
      { code: "tracking-on" },
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
        { code: "not-checked" },
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
        `pulumi up --refresh creates it, or add one in Resend → Webhooks for ${endpoint} with ${events}`,
        { code: "missing" },
      ),
    ];
  }
  const results: CheckResult[] = [
    matching.length > 1
      ? resend.warn(
          id,
          `${matching.length} webhooks send to ${endpoint} (${matching.map((w) => w.id).join(", ")})`,
          "delete all but the one in the stack's resendWebhookId output",
          { code: "duplicate" },
        )
      : resend.pass(id, `webhook ${webhook.id} sends to ${endpoint}`),
  ];
  results.push(
    webhook.status === "enabled"
      ? resend.pass(`${id}.enabled`, `webhook ${webhook.id} is enabled`)
      : resend.fail(
          `${id}.enabled`,
          `webhook ${webhook.id} is ${webhook.status} (Resend disables endpoints that keep failing)`,
          `fix the bridge, then enable it: Resend → Webhooks → ${webhook.id} → Enable (or PATCH /webhooks/${webhook.id} {"status":"enabled"})`,
          { code: "disabled" },
        ),
  );
  const missing = REQUIRED_RESEND_EVENTS.filter((e) => !(webhook.events ?? []).includes(e));
  results.push(
    missing.length > 0
      ? resend.fail(
          `${id}.events`,
          `webhook ${webhook.id} does not subscribe to ${missing.join(", ")}`,
          `pulumi up --refresh resubscribes it, or add ${missing.join(", ")} in Resend → Webhooks → ${webhook.id}`,
          {
            code: "missing-events",
            details: { subscribed: webhook.events, required: [...REQUIRED_RESEND_EVENTS] },
          },
        )
      : resend.pass(`${id}.events`, `webhook ${webhook.id} subscribes to ${events}`),
  );
  return results;
}
