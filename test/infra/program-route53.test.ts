import { beforeAll, describe, expect, it } from "vitest";
import type { StackConfigError } from "../../infra/config";
import {
  ACCOUNT,
  CANARY_EMAIL_ID,
  CLERK_WEBHOOK_SECRET,
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
  type RunOptions,
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
  protectMailResources: "true",
  resendApiKey: "re_prod",
  clerkSecretKey: "sk_live_prod",
};
const SECRETS = ["resendApiKey", "clerkSecretKey"];
/**
 * A signing secret copied from the Clerk Dashboard (manual mode), in a real one's shape (whsec_ + base64 of
 * 24+ bytes): the config check refuses anything less.
 */
const DASHBOARD_SECRET = `whsec_${Buffer.alloc(24, 9).toString("base64")}`;

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

  it("protects the Resend domain, every mail record and the bridge table, and nothing else", () => {
    const protectedNames = run.resources.filter((r) => r.options.protect).map((r) => r.name);
    expect(protectedNames.sort()).toEqual(
      [
        "sending-domain-resend",
        "sending-domain-dkim",
        "sending-domain-spf-mx",
        "sending-domain-spf-txt",
        "sending-domain-dmarc",
        "bounce-bridge-table",
      ].sort(),
    );
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
      value: CLERK_WEBHOOK_SECRET,
    });
    expect(isSecretEnvelope(param?.raw.value)).toBe(true);
    expect(run.outputs).toMatchObject({ clerkWebhookId: "ep_123", clerkWebhookRegistration: undefined });
  });

  /** Everything the canary and the cutover wait for: the gate, both webhooks and the whole bridge. */
  const prerequisites = () =>
    run.resources.filter(
      (r) =>
        r.name === "sending-domain-verification" ||
        r.name.startsWith("webhooks-") ||
        r.name.startsWith("bounce-bridge-"),
    );

  it("runs the delivery canary only after the gate, both webhooks and the whole bridge exist", () => {
    const canary = run.named("clerk-delivery-canary");
    expect(canary.type).toBe("pulumi-nodejs:dynamic/pipeline:DeliveryCanary");
    expect(canary.inputs).toEqual({
      bridgeUrl: FUNCTION_URL,
      signingSecret: CLERK_WEBHOOK_SECRET,
      templates: ["verification_code", "reset_password_code", "magic_link_sign_in"],
      fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // The secret travels as a secret; the fingerprint (digests only) stays readable in a preview.
    expect(isSecretEnvelope(canary.raw.signingSecret)).toBe(true);
    expect(isSecretEnvelope(canary.raw.fingerprint)).toBe(false);
    expect(canary.options.dependencies).toEqual(
      [...prerequisites().map((r) => r.name), "sending-domain-resend"].sort(),
    );
    expect(prerequisites().length).toBeGreaterThan(25);
    for (const prerequisite of prerequisites()) {
      expect(canary.started, `${prerequisite.name} must finish first`).toBeGreaterThan(prerequisite.finished);
    }
    expect(canary.options.propertyDependencies.bridgeUrl).toEqual(["bounce-bridge-url"]);
    expect(canary.options.propertyDependencies.signingSecret).toEqual(["webhooks-clerk"]);
    // The fingerprint follows the domain (its records come from it), the gate, the bridge's sending key and
    // the version of every secret parameter (see "the delivery canary's fingerprint").
    expect(canary.options.propertyDependencies.fingerprint).toEqual([
      "bounce-bridge-clerk-secret-key",
      "bounce-bridge-resend-api-key",
      "bounce-bridge-sending-key",
      "sending-domain-resend",
      "sending-domain-verification",
      "webhooks-clerk-secret",
      "webhooks-resend-secret",
    ]);
  });

  it("cuts Clerk delivery over only after the canary passed, tied to the canary's id and the domain's", () => {
    const cutover = run.named("clerk-delivery-templates");
    const canary = run.named("clerk-delivery-canary");
    expect(cutover.inputs).toEqual({
      templates: ["verification_code", "reset_password_code", "magic_link_sign_in"],
      domainId: "dom_123",
      canaryEmailId: CANARY_EMAIL_ID,
    });
    expect(cutover.options.dependencies).toEqual(
      [...prerequisites().map((r) => r.name), "clerk-delivery-canary", "sending-domain-resend"].sort(),
    );
    expect(cutover.started).toBeGreaterThan(canary.finished);
    // domainId comes from the ResendDomain itself: replacing the domain delete-first deletes the cutover
    // (Clerk delivers again) before the old domain is deleted.
    expect(cutover.options.propertyDependencies).toEqual({
      domainId: ["sending-domain-resend"],
      canaryEmailId: ["clerk-delivery-canary"],
    });
    expect(run.named("sending-domain-resend").options.deleteBeforeReplace).toBe(true);
    expect(run.outputs.clerkDelivery).toEqual({
      routedToBridge: ["verification_code", "reset_password_code", "magic_link_sign_in"],
    });
    expect(run.outputs.deliveryCanary).toEqual({
      clerkEmailId: CANARY_EMAIL_ID,
      resendEmailId: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c",
      passedAt: "2026-11-25T10:05:00Z",
    });
  });

  it("gives every dynamic provider inputs its own check accepts", async () => {
    const dynamic = run.resources.filter((r) => r.providerText !== undefined);
    expect(dynamic.map((r) => r.type).sort()).toEqual([
      "pulumi-nodejs:dynamic/clerk:EmailDelivery",
      "pulumi-nodejs:dynamic/clerk:WebhookEndpoint",
      "pulumi-nodejs:dynamic/pipeline:DeliveryCanary",
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
    // The canary signs with the secret copied from the Dashboard, once the bridge can read it.
    const canary = run.named("clerk-delivery-canary");
    expect(canary.inputs.signingSecret).toBe(DASHBOARD_SECRET);
    expect(isSecretEnvelope(canary.raw.signingSecret)).toBe(true);
    expect(canary.options.propertyDependencies.signingSecret).toBeUndefined();
    expect(canary.started).toBeGreaterThan(param.finished);
    const cutover = run.named("clerk-delivery-templates");
    expect(cutover.started).toBeGreaterThan(canary.finished);
    expect(cutover.started).toBeGreaterThan(run.named("sending-domain-verification").finished);
    expect(run.ofType("aws:sns/topic:Topic")).toEqual([]);
    expect(run.named("bounce-bridge-dlq-depth").inputs.alarmActions).toEqual([
      `arn:aws:sns:us-east-1:${ACCOUNT}:pager`,
    ]);
  });
});

describe("the delivery canary's fingerprint", () => {
  const fingerprintOf = async (
    config: Record<string, string>,
    options: Pick<RunOptions, "domainRecords" | "parameterVersions" | "sendingKeyId"> = {},
  ) => {
    const run = await runProgram({
      stack: "prod",
      config,
      secretKeys: SECRETS,
      domainRecords: classicResendRecords("mail", "bounce"),
      ...options,
    });
    return run.named("clerk-delivery-canary").inputs.fingerprint;
  };
  const versionOf = (parameter: string) => ({
    parameterVersions: { [`/auth-email-pipeline/prod/${parameter}`]: 2 },
  });

  it("is the same for the same deployment and changes with a bridge setting, its sending key, a secret's version or the domain's records", async () => {
    const base = await fingerprintOf(PROD);
    expect(await fingerprintOf(PROD)).toBe(base);
    const changed = [
      await fingerprintOf({ ...PROD, fromName: "Example Auth" }),
      // A replaced sending key: a new key id, and its token written as a new parameter version.
      await fingerprintOf(PROD, { sendingKeyId: "key_456" }),
      await fingerprintOf(PROD, versionOf("resend-api-key")),
      await fingerprintOf(PROD, versionOf("clerk-secret-key")),
      await fingerprintOf(PROD, versionOf("clerk-webhook-secret")),
      await fingerprintOf(PROD, versionOf("resend-webhook-secret")),
      await fingerprintOf(PROD, {
        domainRecords: classicResendRecords("mail", "bounce").map((r) =>
          r.record === "DKIM" ? { ...r, value: r.value.replace("IDAQAB", "IDAQAC") } : r,
        ),
      }),
    ];
    for (const fingerprint of changed) expect(fingerprint).not.toBe(base);
    expect(new Set(changed).size).toBe(changed.length);
  });

  it("ignores the full-access key the bridge never sends with, and holds no secret", async () => {
    const base = await fingerprintOf(PROD);
    expect(await fingerprintOf({ ...PROD, resendApiKey: "re_rotated" })).toBe(base);
    for (const secret of ["re_prod", "re_bridge_sending", "sk_live_prod", "whsec_resend"]) {
      expect(String(base)).not.toContain(secret);
    }
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
