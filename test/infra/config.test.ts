import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type ConfigSource, parseStackConfig, StackConfigError } from "../../infra/config";
import * as resendDomainProvider from "../../infra/providers/resend-domain";
import { RESEND_REGIONS, TLS_MODES } from "../../src/settings/stack-config";

/** A signing secret of the shape Svix issues: whsec_ + base64 of 24 bytes. */
const SIGNING = `whsec_${Buffer.alloc(24, 7).toString("base64")}`;

const VALID = {
  sendingDomain: "auth.example.com",
  dnsZone: "example.com",
  dnsProvider: "cloudflare",
  fromName: "Example",
  fromAddress: "auth@auth.example.com",
  resendApiKey: "re_live_abc",
  clerkSecretKey: "sk_live_abc",
};

function source(
  values: Record<string, string | undefined>,
  options: Partial<ConfigSource> = {},
): ConfigSource {
  const secretKeys = new Set(["auth-email-pipeline:resendApiKey", "auth-email-pipeline:clerkSecretKey"]);
  return { values, isSecret: (key) => secretKeys.has(key), env: {}, ...options };
}

function problemsOf(values: Record<string, string | undefined>, options: Partial<ConfigSource> = {}) {
  try {
    parseStackConfig(source(values, options));
  } catch (err) {
    expect(err).toBeInstanceOf(StackConfigError);
    return err as StackConfigError;
  }
  throw new Error("expected the config to be rejected");
}

describe("stack config", () => {
  it("fills documented defaults for a minimal stack", () => {
    const config = parseStackConfig(source(VALID));
    expect(config).toMatchObject({
      dnsTtl: 300,
      resendRegion: "us-east-1",
      returnPath: "send",
      dmarcPolicy: "none",
      dmarcPct: 100,
      templates: ["verification_code", "reset_password_code"],
      clerkWebhookMode: "manual",
      sendConcurrency: 5,
      codeLifetimeSeconds: 600,
      logRetentionDays: 30,
      openTracking: false,
      clickTracking: false,
      resendRecordProfile: "classic",
    });
    expect(config.secrets).toEqual({ resendApiKey: "re_live_abc", clerkSecretKey: "sk_live_abc" });
  });

  it("parses structured and numeric values the way `pulumi config set` stores them", () => {
    const config = parseStackConfig(
      source({
        ...VALID,
        templates: '["verification_code","magic_link_sign_in"]',
        dmarcPolicy: "quarantine",
        dmarcRua: "mailto:dmarc@example.com, ops@example.com",
        dmarcPct: "25",
        dnsTtl: "1",
        extraHeaders: '{"X-Entity-Ref-ID":"auth"}',
        codeLifetimes: '{"invitation":"604800","magic_link_sign_in":300}',
        adoptExistingDomain: "true",
      }),
    );
    expect(config.templates).toEqual(["verification_code", "magic_link_sign_in"]);
    expect(config.dmarcRua).toEqual(["dmarc@example.com", "ops@example.com"]);
    expect(config.dmarcPct).toBe(25);
    expect(config.dnsTtl).toBe(1);
    expect(config.extraHeaders).toEqual({ "X-Entity-Ref-ID": "auth" });
    expect(config.adoptExistingDomain).toBe(true);
    expect(config.codeLifetimes).toEqual({ invitation: 604_800, magic_link_sign_in: 300 });
  });

  it("lists every bad key at once, each with its fix", () => {
    const error = problemsOf({
      ...VALID,
      sendingDomain: undefined,
      dnsProvider: "gcp",
      dmarcPolicy: "strict",
      sendConcurrency: "1",
      logRetentionDays: "10",
      templates: "verification_code",
      dnsTtl: "30",
    });
    expect(error.problems.map((p) => p.key).sort()).toEqual(
      [
        "dmarcPolicy",
        "dnsProvider",
        "dnsTtl",
        "logRetentionDays",
        "sendConcurrency",
        "sendingDomain",
        "templates",
      ].sort(),
    );
    expect(error.message).toContain('auth-email-pipeline:dnsProvider must be one of "cloudflare", "route53"');
    expect(error.message).toContain("fix: pulumi config set dnsProvider cloudflare (or route53)");
    expect(error.message).toContain("auth-email-pipeline:sendConcurrency must be at least 2");
    expect(error.message).toContain("auth-email-pipeline:sendingDomain is required");
    expect(error.message).toContain("auth-email-pipeline:logRetentionDays must be one of 1, 3, 5, 7, 14, 30");
    expect(error.message).toMatch(/^Invalid stack configuration \(7 problems\)/);
  });

  it("checks keys against each other", () => {
    const error = problemsOf({
      ...VALID,
      sendingDomain: "auth.other.org",
      fromAddress: "auth@example.com",
      dmarcPolicy: "reject",
    });
    expect(error.problems).toEqual([
      expect.objectContaining({ key: "sendingDomain", message: 'must be inside the DNS zone "example.com"' }),
      expect.objectContaining({
        key: "fromAddress",
        message: 'must be an address at the sending domain "auth.other.org"',
      }),
      expect.objectContaining({
        key: "dmarcRua",
        fix: "pulumi config set dmarcRua dmarc-reports@example.com",
      }),
    ]);
  });

  it("takes the record profile Resend issued, and a return path whose r-prefixed sibling fits a label", () => {
    expect(
      parseStackConfig(source({ ...VALID, resendRecordProfile: "cname-dkim-cname" })).resendRecordProfile,
    ).toBe("cname-dkim-cname");
    const bad = problemsOf({ ...VALID, resendRecordProfile: "cnames" });
    expect(bad.problems).toEqual([
      {
        key: "resendRecordProfile",
        message: 'must be one of "classic", "cname", "classic-dkim-cname", "cname-dkim-cname"',
        fix: expect.stringMatching(/^pulumi config set resendRecordProfile classic \(or cname, /),
      },
    ]);
    const longest = `a${"b".repeat(62)}`;
    expect(parseStackConfig(source({ ...VALID, returnPath: longest })).returnPath).toBe(longest);
    const tooLong = problemsOf({ ...VALID, returnPath: longest, resendRecordProfile: "cname" });
    expect(tooLong.problems.map((p) => [p.key, p.message])).toEqual([
      [
        "returnPath",
        `must be at most 62 characters with resendRecordProfile "cname": Resend also asks for a CNAME at r${longest}, and a DNS label holds 63`,
      ],
    ]);
  });

  it("rejects a secret stored in plain text without echoing it", () => {
    const error = problemsOf(VALID, { isSecret: () => false });
    expect(error.problems.map((p) => p.key)).toEqual(["resendApiKey", "clerkSecretKey"]);
    expect(error.problems[0]?.fix).toBe(
      "pulumi config rm resendApiKey && pulumi config set --secret resendApiKey re_...",
    );
    expect(error.message).not.toContain("re_live_abc");
    expect(error.message).not.toContain("sk_live_abc");
  });

  it("takes API keys from the environment when the stack has none, and checks their shape", () => {
    const { resendApiKey: _r, clerkSecretKey: _c, ...withoutSecrets } = VALID;
    const config = parseStackConfig(
      source(withoutSecrets, { env: { RESEND_API_KEY: "re_env", CLERK_SECRET_KEY: "sk_env" } }),
    );
    expect(config.secrets).toEqual({ resendApiKey: "re_env", clerkSecretKey: "sk_env" });
    const withSigning = parseStackConfig(
      source(withoutSecrets, {
        env: {
          RESEND_API_KEY: "re_env",
          CLERK_SECRET_KEY: "sk_env",
          CLERK_WEBHOOK_SIGNING_SECRET: SIGNING,
        },
      }),
    );
    expect(withSigning.secrets.clerkWebhookSigningSecret).toBe(SIGNING);
    const env = { RESEND_API_KEY: "re_env", CLERK_SECRET_KEY: "sk_env" };
    // A rotation's overlap holds the old and the new secret, as the bridge's parameter does.
    const next = `whsec_${randomBytes(24).toString("base64")}`;
    const rotating = parseStackConfig(
      source(withoutSecrets, { env: { ...env, CLERK_WEBHOOK_SIGNING_SECRET: `${SIGNING} ${next}` } }),
    );
    expect(rotating.secrets.clerkWebhookSigningSecret).toBe(`${SIGNING} ${next}`);
    expect(
      problemsOf(withoutSecrets, { env: { ...env, CLERK_WEBHOOK_SIGNING_SECRET: `${SIGNING} whsec_AAAA` } })
        .problems[0]?.message,
    ).toBe("secret 2 must hold a key of at least 24 bytes (it holds 3)");

    const error = problemsOf(withoutSecrets, { env: { RESEND_API_KEY: "pk_wrong" } });
    expect(error.problems).toEqual([
      {
        key: "resendApiKey",
        message: 'must start with "re_"',
        fix: "pulumi config set --secret resendApiKey re_...",
      },
      {
        key: "clerkSecretKey",
        message: "is required",
        fix: "pulumi config set --secret clerkSecretKey sk_... (or export CLERK_SECRET_KEY)",
      },
    ]);
  });

  it("flags unknown keys and a plain-text Cloudflare token", () => {
    const error = problemsOf({ ...VALID, dmarcPolicyy: "none", "cloudflare:apiToken": "cf-token" });
    expect(error.problems.map((p) => `${p.key}: ${p.message}`)).toEqual([
      "dmarcPolicyy: is not a setting of this project",
      "cloudflare:apiToken: is stored in plain text in the stack file",
    ]);
    expect(error.message).not.toContain("cf-token");

    // Reported in the same run as a bad key elsewhere, not only once the rest is fixed.
    const withBadKey = problemsOf({ ...VALID, dmarcPct: "0", "cloudflare:apiToken": "cf-token" });
    expect(withBadKey.problems.map((p) => p.key)).toEqual(["dmarcPct", "cloudflare:apiToken"]);
  });

  it("checks the Clerk signing secret as the bridge does, naming the key and the fix, never the value", () => {
    const secretKeys = new Set([
      "auth-email-pipeline:resendApiKey",
      "auth-email-pipeline:clerkSecretKey",
      "auth-email-pipeline:clerkWebhookSigningSecret",
    ]);
    const withSigningSecret = (secret: string) =>
      source({ ...VALID, clerkWebhookSigningSecret: secret }, { isSecret: (key) => secretKeys.has(key) });
    const real = `whsec_${randomBytes(24).toString("base64")}`;
    expect(parseStackConfig(withSigningSecret(real)).secrets.clerkWebhookSigningSecret).toBe(real);

    const fix =
      "pulumi config set --secret clerkWebhookSigningSecret <the endpoint's Signing Secret from the Clerk Dashboard, whsec_...>";
    for (const [secret, message] of [
      ["whsec_AAAA", "must hold a key of at least 24 bytes (it holds 3)"],
      ["whsec_from_dashboard", 'must be "whsec_" followed by base64 (A-Z, a-z, 0-9, +, /, = padding)'],
      ["unregistered", 'must start with "whsec_"'],
    ] as const) {
      let error: unknown;
      try {
        parseStackConfig(withSigningSecret(secret));
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(StackConfigError);
      expect((error as StackConfigError).problems).toEqual([
        { key: "clerkWebhookSigningSecret", message, fix },
      ]);
      expect((error as StackConfigError).message).toContain(
        `auth-email-pipeline:clerkWebhookSigningSecret ${message}`,
      );
      expect((error as StackConfigError).message).not.toContain(secret);
    }
  });

  it("checks the stack name by Pulumi's rule, which the bridge applies to BRIDGE_STACK", () => {
    expect(parseStackConfig(source(VALID, { stack: "prod.eu" })).fromName).toBe("Example");
    const error = problemsOf(VALID, { stack: "prod eu" });
    expect(error.problems).toEqual([
      {
        key: "stack-name",
        message: `"prod eu" must be 1-100 letters, digits, '-', '_' or '.' (Pulumi's stack-name rule)`,
        fix: "pulumi stack rename <name> (letters, digits, '-', '_' or '.')",
      },
    ]);
    expect(error.message).toContain(`the stack name "prod eu" must be 1-100 letters`);
  });

  it("names the bad header inside extraHeaders", () => {
    const error = problemsOf({ ...VALID, extraHeaders: '{"X Team":"auth","X-Ok":"a\\nb"}' });
    expect(error.message).toContain(
      'auth-email-pipeline:extraHeaders["X Team"] is not a header name (letters, digits, -); ["X-Ok"] must be a single line without control characters.',
    );
  });

  it("offers the Resend regions and TLS modes the Resend domain provider accepts", () => {
    expect(RESEND_REGIONS).toEqual(resendDomainProvider.RESEND_REGIONS);
    expect(TLS_MODES).toEqual(resendDomainProvider.TLS_MODES);
  });
});
