import { beforeAll, describe, expect, it } from "vitest";
import type { StackConfigError } from "../../infra/config";
import {
  ACCOUNT,
  classicResendRecords,
  cnameReturnPathRecords,
  DKIM,
  DKIM_SELECTORS,
  dkimCnameRecords,
  expectDeleteFirst,
  expectWrittenAfter,
  FUNCTION_URL,
  isSecretEnvelope,
  type ProgramRun,
  runProgram,
} from "../support/pulumi-program";
import { loadSerializedProvider } from "../support/serialized-provider";

const PROD = {
  sendingDomain: "mail.example.com",
  dnsZone: "example.com",
  dnsProvider: "route53",
  returnPath: "bounce",
  fromName: "Example",
  fromAddress: "no-reply@mail.example.com",
  dmarcPolicy: "reject",
  dmarcRua: "dmarc@example.com",
  dnsTtl: "3600",
  templates: '["verification_code","reset_password_code","magic_link_sign_in"]',
  clerkWebhookMode: "portal",
  sendConcurrency: "20",
  bridgeMemoryMb: "512",
  alarmTarget: "oncall@example.com",
  resendApiKey: "re_prod",
  clerkSecretKey: "sk_live_prod",
};
const SECRETS = ["resendApiKey", "clerkSecretKey"];

/** Creation times long enough that an ordering bug shows. */
const SLOW = {
  "pulumi-nodejs:dynamic/resend:DomainVerification": 60,
  "pulumi-nodejs:dynamic/resend:Webhook": 30,
  "pulumi-nodejs:dynamic/clerk:WebhookEndpoint": 30,
  "aws:ssm/parameter:Parameter": 20,
  "aws:lambda/eventSourceMapping:EventSourceMapping": 40,
  "aws:cloudwatch/metricAlarm:MetricAlarm": 20,
};

describe("prod stack on Route53, Clerk endpoint through the portal", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram({
      stack: "prod",
      config: PROD,
      secretKeys: SECRETS,
      domainRecords: classicResendRecords("mail", "bounce"),
      delays: SLOW,
    });
  });

  it("writes Route53 records with TXT split at 255 characters and MX preference in the value", () => {
    const record = (name: string) => run.named(name).inputs;
    const common = { zoneId: "Z0123456789", ttl: 3600 };
    expect(record("sending-domain-dkim")).toEqual({
      ...common,
      name: "resend._domainkey.mail.example.com",
      type: "TXT",
      records: [`${DKIM.slice(0, 255)}""${DKIM.slice(255)}`],
    });
    expect(record("sending-domain-spf-mx")).toEqual({
      ...common,
      name: "bounce.mail.example.com",
      type: "MX",
      records: ["10 feedback-smtp.us-east-1.amazonses.com"],
    });
    expect(record("sending-domain-spf-txt")).toEqual({
      ...common,
      name: "bounce.mail.example.com",
      type: "TXT",
      records: ["v=spf1 include:amazonses.com ~all"],
    });
    expect(record("sending-domain-dmarc")).toEqual({
      ...common,
      name: "_dmarc.mail.example.com",
      type: "TXT",
      records: ["v=DMARC1; p=reject; rua=mailto:dmarc@example.com;"],
    });
    expect(run.ofType("aws:route53/record:Record")).toHaveLength(4);
    expect(run.ofType("cloudflare:index/dnsRecord:DnsRecord")).toEqual([]);
  });

  it("registers the Clerk endpoint at the bridge and stores its secret as a secret", () => {
    expect(run.named("webhooks-clerk").inputs).toEqual({
      url: `${FUNCTION_URL}webhooks/clerk`,
      eventTypes: ["email.created", "user.created", "user.updated", "user.deleted"],
      description: "auth-email-pipeline prod: auth email bridge",
    });
    const param = run.ofType("aws:ssm/parameter:Parameter").find((p) => p.name === "webhooks-clerk-secret");
    expect(param?.inputs).toMatchObject({
      name: "/auth-email-pipeline/prod/clerk-webhook-secret",
      value: "whsec_clerk",
    });
    expect(isSecretEnvelope(param?.raw.value)).toBe(true);
    expect(run.outputs).toMatchObject({ clerkWebhookId: "ep_123", clerkWebhookRegistration: undefined });
  });

  it("cuts Clerk delivery over only after the gate, both webhooks and the whole bridge exist", () => {
    const cutover = run.named("clerk-delivery-templates");
    expect(cutover.inputs).toEqual({
      templates: ["verification_code", "reset_password_code", "magic_link_sign_in"],
    });
    const prerequisites = run.resources.filter(
      (r) =>
        r.name === "sending-domain-verification" ||
        r.name.startsWith("webhooks-") ||
        r.name.startsWith("bounce-bridge-"),
    );
    expect(prerequisites.length).toBeGreaterThan(25);
    for (const prerequisite of prerequisites) {
      expect(cutover.started, `${prerequisite.name} must finish first`).toBeGreaterThan(
        prerequisite.finished,
      );
    }
    expect(run.outputs.clerkDelivery).toEqual({
      routedToBridge: ["verification_code", "reset_password_code", "magic_link_sign_in"],
    });
  });

  it("gives every dynamic provider inputs its own check accepts", async () => {
    const dynamic = run.resources.filter((r) => r.providerText !== undefined);
    expect(dynamic.map((r) => r.type).sort()).toEqual([
      "pulumi-nodejs:dynamic/clerk:EmailDelivery",
      "pulumi-nodejs:dynamic/clerk:WebhookEndpoint",
      "pulumi-nodejs:dynamic/resend:ApiKey",
      "pulumi-nodejs:dynamic/resend:Domain",
      "pulumi-nodejs:dynamic/resend:DomainVerification",
      "pulumi-nodejs:dynamic/resend:Webhook",
    ]);
    for (const resource of dynamic) {
      const provider = loadSerializedProvider(resource.providerText as string);
      const checked = await provider.check?.({}, resource.inputs);
      expect(checked?.failures ?? [], resource.name).toEqual([]);
    }
  });

  it("sizes the bridge from config and sends alarms to an email topic", () => {
    expect(run.named("bounce-bridge-worker").inputs).toMatchObject({ memorySize: 512 });
    expect(run.named("bounce-bridge-worker-events").inputs).toMatchObject({
      scalingConfig: { maximumConcurrency: 20 },
    });
    expect(run.named("bounce-bridge-alarms-email").inputs).toEqual({
      topic: `arn:aws:sns:us-east-1:${ACCOUNT}:bounce-bridge-alarms-1a2b3c`,
      protocol: "email",
      endpoint: "oncall@example.com",
    });
    for (const alarm of run.ofType("aws:cloudwatch/metricAlarm:MetricAlarm")) {
      expect(alarm.inputs.alarmActions).toEqual([
        `arn:aws:sns:us-east-1:${ACCOUNT}:bounce-bridge-alarms-1a2b3c`,
      ]);
    }
  });
});

describe("manual Clerk mode once the endpoint is registered", () => {
  /** A real Signing Secret's shape (whsec_ + base64 of 24+ bytes): the config check refuses anything less. */
  const DASHBOARD_SECRET = "whsec_Y2xlcmstZGFzaGJvYXJkLXNpZ25pbmctc2VjcmV0";
  it("stores the configured signing secret and performs the cutover", async () => {
    const run = await runProgram({
      stack: "staging",
      config: {
        ...PROD,
        clerkWebhookMode: "manual",
        clerkWebhookSigningSecret: DASHBOARD_SECRET,
        alarmTarget: `arn:aws:sns:us-east-1:${ACCOUNT}:pager`,
      },
      secretKeys: [...SECRETS, "clerkWebhookSigningSecret"],
      domainRecords: classicResendRecords("mail", "bounce"),
      delays: SLOW,
    });
    expect(run.ofType("pulumi-nodejs:dynamic/clerk:WebhookEndpoint")).toEqual([]);
    const param = run.named("webhooks-clerk-secret");
    expect(param.inputs.value).toBe(DASHBOARD_SECRET);
    expect(isSecretEnvelope(param.raw.value)).toBe(true);
    const cutover = run.named("clerk-delivery-templates");
    expect(cutover.started).toBeGreaterThan(param.finished);
    expect(cutover.started).toBeGreaterThan(run.named("sending-domain-verification").finished);
    expect(run.ofType("aws:sns/topic:Topic")).toEqual([]);
    expect(run.named("bounce-bridge-dlq-depth").inputs.alarmActions).toEqual([
      `arn:aws:sns:us-east-1:${ACCOUNT}:pager`,
    ]);
  });
});

describe("invalid stack config", () => {
  it("fails before any resource is declared, listing every bad key", async () => {
    const attempt = runProgram({
      stack: "broken",
      config: { ...PROD, dnsProvider: "gandi", dmarcPct: "0", fromAddress: "auth@elsewhere.org" },
      secretKeys: ["clerkSecretKey"],
    });
    await expect(attempt).rejects.toMatchObject({ name: "StackConfigError" });
    const error = (await attempt.catch((e: unknown) => e)) as StackConfigError;
    expect(error.problems.map((p) => p.key).sort()).toEqual([
      "dmarcPct",
      "dnsProvider",
      "fromAddress",
      "resendApiKey",
    ]);
    expect(error.message).not.toContain("re_prod");
  });
});

describe("the cname-dkim-cname record profile on Route53", () => {
  const config = { ...PROD, resendRecordProfile: "cname-dkim-cname" };
  const selectors = [...DKIM_SELECTORS].sort();

  it("writes the DKIM CNAMEs at the names Resend picked, in name order, and the return-path CNAME pair", async () => {
    const run = await runProgram({
      stack: "prod",
      config,
      secretKeys: SECRETS,
      domainRecords: [...dkimCnameRecords("mail"), ...cnameReturnPathRecords("mail", "bounce")],
    });
    const common = { zoneId: "Z0123456789", ttl: 3600, type: "CNAME" };
    expect(
      ["sending-domain-dkim", "sending-domain-dkim-2", "sending-domain-dkim-3"].map(
        (n) => run.named(n).inputs,
      ),
    ).toEqual(
      selectors.map((s) => ({
        ...common,
        name: `${s}._domainkey.mail.example.com`,
        records: [`${s}.dkim.amazonses.com`],
      })),
    );
    expect(run.named("sending-domain-spf-mx").inputs).toEqual({
      ...common,
      name: "bounce.mail.example.com",
      records: ["rp.us-east-1.resend-dns.com"],
    });
    expect(run.named("sending-domain-spf-txt").inputs).toEqual({
      ...common,
      name: "rbounce.mail.example.com",
      records: ["rrp.us-east-1.resend-dns.com"],
    });
    expectDeleteFirst(run.ofType("aws:route53/record:Record"));
    expect(run.ofType("aws:route53/record:Record")).toHaveLength(6);
    expect((run.outputs.dnsRecords as { name: string }[]).map((r) => r.name)).toEqual([
      ...selectors.map((s) => `${s}._domainkey.mail.example.com`),
      "bounce.mail.example.com",
      "rbounce.mail.example.com",
    ]);
  });

  it("declares all five records by slot in a preview; only the DKIM names wait for Resend", async () => {
    const run = await runProgram({ stack: "prod", config, secretKeys: SECRETS, preview: true });
    const unknown = { __pulumiUnknown: true };
    const declared = run
      .ofType("aws:route53/record:Record")
      .map((r) => [r.name, r.inputs.type, r.inputs.name]);
    expect(declared.sort()).toEqual([
      ["sending-domain-dkim", "CNAME", unknown],
      ["sending-domain-dkim-2", "CNAME", unknown],
      ["sending-domain-dkim-3", "CNAME", unknown],
      ["sending-domain-dmarc", "TXT", "_dmarc.mail.example.com"],
      ["sending-domain-spf-mx", "CNAME", "bounce.mail.example.com"],
      ["sending-domain-spf-txt", "CNAME", "rbounce.mail.example.com"],
    ]);
  });
});

describe("the classic profile's replacement order on Route53", () => {
  it("replaces delete-first and writes the return-path MX before the SPF TXT that joins it", async () => {
    const run = await runProgram({
      stack: "prod",
      config: PROD,
      secretKeys: SECRETS,
      domainRecords: classicResendRecords("mail", "bounce"),
    });
    expectDeleteFirst(run.ofType("aws:route53/record:Record"));
    // From cname, spf-mx turns the CNAME at bounce.mail into the MX before spf-txt adds a TXT beside it.
    expectWrittenAfter(run, "sending-domain-spf-txt", "sending-domain-spf-mx");
  });
});
