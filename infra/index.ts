// The Pulumi program: one stack declares the sending domain, its DNS records, both webhook endpoints,
// the bounce bridge and the Clerk delivery cutover.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { bundleBridge } from "../src/bridge/bundle";
import { BounceBridge } from "./components/bounce-bridge";
import { ClerkDelivery } from "./components/clerk-delivery";
import { SendingDomain } from "./components/sending-domain";
import { Webhooks } from "./components/webhooks";
import { loadStackConfig } from "./config";
import { dnsAdapter } from "./dns";

// Validated before any resource is declared: a bad stack fails whole, with every bad key listed.
const config = loadStackConfig();
const project = pulumi.getProject();
const stack = pulumi.getStack();

if (config.sendingDomain === config.dnsZone) {
  pulumi.log.warn(
    `sendingDomain "${config.sendingDomain}" is the zone apex; a subdomain such as auth.${config.dnsZone} keeps ` +
      "auth mail's reputation apart from the rest of the domain's mail.",
  );
}

const dns = dnsAdapter(config.dnsProvider, {
  zone: config.dnsZone,
  zoneId: config.dnsZoneId,
  ttl: config.dnsTtl,
  stack,
  project,
});

const sendingDomain = new SendingDomain("sending-domain", {
  domain: config.sendingDomain,
  zone: config.dnsZone,
  region: config.resendRegion,
  returnPath: config.returnPath,
  recordProfile: config.resendRecordProfile,
  tls: config.resendTls,
  openTracking: config.openTracking,
  clickTracking: config.clickTracking,
  adoptExisting: config.adoptExistingDomain,
  dmarc: { policy: config.dmarcPolicy, rua: config.dmarcRua, pct: config.dmarcPct },
  dns,
  verification: {
    timeoutSeconds: config.verificationTimeoutSeconds,
    pollIntervalSeconds: config.verificationPollSeconds,
  },
});

// Built on every run; the bundle is byte-identical for unchanged sources, so the Lambdas show no diff.
const bundleDir = process.env.BRIDGE_BUNDLE_DIR ?? path.resolve(__dirname, "..", "dist", "bridge");

const bridge = new BounceBridge("bounce-bridge", {
  project,
  stack,
  bundle: bundleBridge(bundleDir),
  sendingDomainId: sendingDomain.domainId,
  clerkSecretKey: pulumi.secret(config.secrets.clerkSecretKey),
  clerkWebhookMode: config.clerkWebhookMode,
  clerkWebhookSigningSecret: config.secrets.clerkWebhookSigningSecret,
  fromAddress: config.fromAddress,
  fromName: config.fromName,
  replyTo: config.replyTo,
  extraHeaders: config.extraHeaders,
  codeLifetimeSeconds: config.codeLifetimeSeconds,
  codeLifetimes: config.codeLifetimes,
  memoryMb: config.bridgeMemoryMb,
  sendConcurrency: config.sendConcurrency,
  ingestReservedConcurrency: config.ingestReservedConcurrency,
  logRetentionDays: config.logRetentionDays,
  alarms: {
    target: alarmTarget(config.alarmTarget),
    bounceRatePercent: config.bounceRateAlarmPercent,
    complaintRatePercent: config.complaintRateAlarmPercent,
  },
});

const clerkSigningSecret = config.secrets.clerkWebhookSigningSecret;
const webhooks = new Webhooks("webhooks", {
  project,
  stack,
  bridgeUrl: bridge.url,
  parameterNames: bridge.parameterNames,
  clerkMode: config.clerkWebhookMode,
  clerkSigningSecret: clerkSigningSecret === undefined ? undefined : pulumi.secret(clerkSigningSecret),
});

// Clerk stops delivering only when the pipeline can: domain verified, webhooks registered, bridge deployed.
// In manual mode that includes the Clerk endpoint registered by hand (its secret in config).
const delivery = webhooks.clerkReady
  ? new ClerkDelivery("clerk-delivery", {
      templates: config.templates,
      after: [sendingDomain.gate, webhooks, bridge],
    })
  : undefined;

function alarmTarget(target: string | undefined) {
  if (!target) return undefined;
  return target.startsWith("arn:")
    ? { kind: "topic" as const, arn: target }
    : { kind: "email" as const, address: target };
}

export const domainId = sendingDomain.domainId;
export const domainStatus = sendingDomain.status;
export const domainVerifiedAt = sendingDomain.verifiedAt;
export const dnsProvider = config.dnsProvider;
export const dnsRecords = sendingDomain.records;
export const dmarcRecord = sendingDomain.dmarcRecord;
export const bridgeUrl = bridge.url;
export const resendWebhookId = webhooks.resendWebhookId;
export const resendWebhookEndpoint = webhooks.resendEndpoint;
export const clerkWebhookEndpoint = webhooks.clerkEndpoint;
export const clerkWebhookId = webhooks.clerkEndpointId;
export const clerkWebhookRegistration = webhooks.clerkRegistrationSteps;
export const clerkDelivery = delivery
  ? delivery.templates.apply((templates) => ({ routedToBridge: templates }))
  : pulumi.output({
      routedToBridge: [] as string[],
      waitingFor: "the Clerk webhook registration: follow clerkWebhookRegistration, then pulumi up again",
    });
export const tableName = bridge.tableName;
export const queueName = bridge.queueName;
export const deadLetterQueueName = bridge.dlqName;
