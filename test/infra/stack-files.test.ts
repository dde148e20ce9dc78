import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseStackConfig, stackConfigValues } from "../../infra/config";
import { readStackFile } from "../../src/sandbox/local-cloud/up";

const ROOT = join(__dirname, "..", "..");

/** What the CLI hands the program (non-string values as JSON text), as the program's schema reads it. */
const stackValues = (file: string) => stackConfigValues(readStackFile(join(ROOT, file)));

const env = { RESEND_API_KEY: "re_env", CLERK_SECRET_KEY: "sk_env" };

describe("example stacks", () => {
  it("dev (Cloudflare, portal) is a valid config", () => {
    const config = parseStackConfig({ values: stackValues("Pulumi.dev.yaml"), isSecret: () => false, env });
    expect(config).toMatchObject({
      dnsProvider: "cloudflare",
      clerkWebhookMode: "portal",
      dmarcPolicy: "none",
    });
    expect(config.templates).toEqual(["verification_code", "reset_password_code"]);
  });

  it("prod (Route53, manual, DMARC quarantine at 50%) is a valid config", () => {
    const config = parseStackConfig({ values: stackValues("Pulumi.prod.yaml"), isSecret: () => false, env });
    expect(config).toMatchObject({
      dnsProvider: "route53",
      clerkWebhookMode: "manual",
      dmarcPolicy: "quarantine",
      dmarcPct: 50,
      sendConcurrency: 10,
      alarmTarget: "oncall@example.com",
    });
  });

  it("keep secrets out of the files", () => {
    for (const file of ["Pulumi.dev.yaml", "Pulumi.prod.yaml"]) {
      const secretKeys = Object.keys(stackValues(file)).filter((key) =>
        /ApiKey|SecretKey|SigningSecret/.test(key),
      );
      expect(secretKeys).toEqual([]);
    }
  });
});
