import { StandInServer } from "../core/server";
import { SvixDispatcher } from "../core/svix-dispatcher";
import { VendorClock } from "../core/vendor-clock";
import { ApiKeyRegistry, type ApiKeyView, newApiKeyToken } from "./api-keys";
import { BackgroundWork } from "./clock";
import type { ResendContext } from "./context";
import { registerControlRoutes } from "./control";
import { DnsChecker } from "./dns-check";
import {
  type DomainState,
  defaultZoneApex,
  domainEventData,
  newDomain,
  RECORD_SHAPES,
  type RecordShape,
  type Region,
} from "./domain-model";
import { registerDomainRoutes } from "./domains";
import { EmailService, type SentEmail } from "./emails";
import { errorShapes, faultBody } from "./errors";
import { RequestGate } from "./gate";
import type { ForcedOutcome } from "./outcomes";
import { type SuppressionEntry, SuppressionList, type SuppressionOrigin } from "./suppressions";
import { registerSuppressionRoutes } from "./suppressions-api";
import { DEFAULT_VERIFICATION_TIMING, DomainVerifier, type VerificationTiming } from "./verifier";
import { WebhookRegistry } from "./webhooks";

export type { ApiKeyPermission, ApiKeyView } from "./api-keys";
export type { RecordShape } from "./domain-model";
export type { SentEmail } from "./emails";
export type { ForcedOutcome, Outcome } from "./outcomes";
export type { SuppressionEntry, SuppressionOrigin } from "./suppressions";
export type { VerificationTiming } from "./verifier";

export interface ResendStandInOptions {
  /** `127.0.0.1:PORT` of the DNS stand-in; domain verification asks it, like Resend asks the internet. */
  dnsServer: string;
  /** Full-access API keys the team starts with; default one generated `re_…` key. */
  apiKeys?: string[];
  /** Team-wide requests per second, shared by all keys; default 2. */
  rateLimitPerSecond?: number;
  /** Multiplies webhook retry delays, verification delays and windows, event gaps; default 1 (real time). */
  timeScale?: number;
  /** The registrable zone of a domain, which record names are relative to; default: the last two labels. */
  zoneApex?: (domain: string) => string;
  /** Vendor-time verification durations (before `timeScale`); defaults: 10 s, 1 h, 72 h, 1 h. */
  verification?: Partial<VerificationTiming>;
  /** The record shape new domains get (`classic`, `cname`, …); default `classic`. */
  recordShape?: RecordShape;
}

/** An event as the stand-in emitted it (whether or not any webhook was subscribed). */
export interface EmittedEvent {
  type: string;
  created_at: string;
  data: unknown;
}

export interface ResendStandIn {
  /** Base URL without a trailing slash: `new Resend(apiKey, { baseUrl: url })`. */
  readonly url: string;
  readonly apiKey: string;
  readonly server: StandInServer;
  readonly dispatcher: SvixDispatcher;
  emails(): SentEmail[];
  /** The team's API keys (those it started with and those created through `POST /api-keys`), without tokens. */
  apiKeys(): ApiKeyView[];
  suppressions(): SuppressionEntry[];
  events(): EmittedEvent[];
  /** Preloads a suppression silently (no `suppression.added`); returns the existing entry if any. */
  suppress(email: string, origin?: SuppressionOrigin): SuppressionEntry;
  clearSuppressions(): void;
  /** Makes every later send to `address` end as `outcome` (e.g. a `Transient` bounce, `delivery_delayed`). */
  forceOutcome(address: string, outcome: ForcedOutcome): void;
  clearForcedOutcomes(): void;
  /**
   * Creates a domain that is already verified, for tests about sending rather than DNS: its records are
   * not in any DNS, so the periodic re-check skips it (an explicit verify does check DNS).
   */
  addVerifiedDomain(name: string, opts?: { region?: Region }): { id: string; name: string };
  /** Runs the periodic re-check of verified domains now. */
  recheckVerifiedDomains(): Promise<void>;
  rateLimitPerSecond: number;
  sendLatencyMs: number;
  timeScale: number;
  /** The record shape domains created from now on get; existing domains keep theirs. */
  recordShape: RecordShape;
  /** Resolves once pending verifications, email event sequences and webhook deliveries are done. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function startResendStandIn(opts: ResendStandInOptions): Promise<ResendStandIn> {
  const apiKeys = opts.apiKeys?.length ? opts.apiKeys : [newApiKeyToken()];
  const keyRegistry = new ApiKeyRegistry(apiKeys);
  const clock = new VendorClock(opts.timeScale ?? 1);
  const work = new BackgroundWork();
  const server = new StandInServer("resend", errorShapes);
  const gate = new RequestGate(keyRegistry, opts.rateLimitPerSecond ?? 2);
  server.faults.shapeBody = (status) => faultBody(status, gate.perSecond);
  const webhooks = new WebhookRegistry();
  const dispatcher = new SvixDispatcher(() => webhooks.dispatchEndpoints(), { timeScale: clock.timeScale });
  const emitted: EmittedEvent[] = [];
  const domains = new Map<string, DomainState>();
  const ctx: ResendContext = {
    server,
    gate,
    clock,
    work,
    domains,
    zoneApex: opts.zoneApex ?? defaultZoneApex,
    recordShape: checkedShape(opts.recordShape ?? "classic"),
    emit(type, data) {
      const event = { type, created_at: new Date().toISOString(), data };
      emitted.push(event);
      dispatcher.dispatch(type, event);
    },
  };
  const checker = new DnsChecker(opts.dnsServer);
  const verifier = new DomainVerifier(
    checker,
    clock,
    work,
    { ...DEFAULT_VERIFICATION_TIMING, ...opts.verification },
    () => domains.values(),
    (domain) => ctx.emit("domain.updated", domainEventData(domain)),
  );
  const suppressionList = new SuppressionList();
  const emailService = new EmailService(ctx, suppressionList);

  registerDomainRoutes(ctx, verifier);
  emailService.register();
  webhooks.register(ctx);
  registerSuppressionRoutes(ctx, suppressionList);
  keyRegistry.register(ctx);

  await server.listen();

  const standIn: ResendStandIn = {
    url: server.url,
    apiKey: apiKeys[0]!,
    server,
    dispatcher,
    emails: () => emailService.sent,
    apiKeys: () => keyRegistry.list(),
    suppressions: () => suppressionList.list(),
    events: () => emitted,
    suppress(email, origin = "manual") {
      return suppressionList.add(email, origin, null) ?? suppressionList.find(email)!;
    },
    clearSuppressions: () => suppressionList.clear(),
    forceOutcome(address, outcome) {
      emailService.forced.set(address.toLowerCase(), outcome);
    },
    clearForcedOutcomes: () => emailService.forced.clear(),
    addVerifiedDomain(name, { region = "us-east-1" } = {}) {
      const lower = name.toLowerCase();
      if ([...domains.values()].some((d) => d.name === lower)) {
        throw new Error(`domain ${lower} already exists in the Resend stand-in; use a unique name per test`);
      }
      const domain = newDomain({
        name: lower,
        zoneApex: ctx.zoneApex(lower),
        region,
        customReturnPath: "send",
        tls: "opportunistic",
        openTracking: false,
        clickTracking: false,
        capabilities: { sending: "enabled", receiving: "disabled" },
        recordShape: ctx.recordShape,
      });
      for (const record of domain.records) record.status = "verified";
      domain.verifiedWithoutDns = true;
      domains.set(domain.id, domain);
      verifier.markPublished(domain);
      ctx.emit("domain.created", domainEventData(domain));
      return { id: domain.id, name: domain.name };
    },
    recheckVerifiedDomains: () => verifier.recheckVerified(),
    get rateLimitPerSecond() {
      return gate.perSecond;
    },
    set rateLimitPerSecond(value: number) {
      gate.perSecond = value;
    },
    get sendLatencyMs() {
      return emailService.sendLatencyMs;
    },
    set sendLatencyMs(value: number) {
      emailService.sendLatencyMs = value;
    },
    get timeScale() {
      return clock.timeScale;
    },
    get recordShape() {
      return ctx.recordShape;
    },
    set recordShape(value: RecordShape) {
      ctx.recordShape = checkedShape(value);
    },
    set timeScale(value: number) {
      clock.timeScale = value;
      dispatcher.timeScale = value;
    },
    async settle() {
      do {
        await work.settle();
        await dispatcher.settle();
      } while (work.size > 0);
    },
    async close() {
      clock.close();
      dispatcher.close();
      checker.cancel();
      await server.close();
    },
  };
  registerControlRoutes(server, standIn);
  return standIn;
}

function checkedShape(shape: RecordShape): RecordShape {
  if (!RECORD_SHAPES.includes(shape)) {
    throw new Error(`record shape must be one of ${RECORD_SHAPES.join(", ")} (got ${JSON.stringify(shape)})`);
  }
  return shape;
}
