import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkRequirements, readStackConfig, requirementsFor } from "../../scripts/ci/require-secrets";

const ROOT = join(__dirname, "..", "..");
const FULL_ENV = {
  PULUMI_CONFIG_PASSPHRASE: "p",
  PULUMI_BACKEND_URL: "s3://state",
  AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/deploy",
  RESEND_API_KEY: "re_x",
  CLERK_SECRET_KEY: "sk_x",
  CLOUDFLARE_API_TOKEN: "t",
  CLERK_WEBHOOK_SIGNING_SECRET: "whsec_x",
};

/** The script as the workflow runs it: `npx tsx scripts/ci/require-secrets.ts <stack> preview-<stack>`. */
function requireSecrets(stack: string, env: Record<string, string>) {
  const tsx = join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");
  return spawnSync(process.execPath, [tsx, "scripts/ci/require-secrets.ts", stack, `preview-${stack}`], {
    cwd: ROOT,
    encoding: "utf8",
    env: { PATH: process.env.PATH, ...env },
  });
}

const names = (stack: string) => requirementsFor(readStackConfig(ROOT, stack)).map((r) => r.name);

describe("scripts/ci/require-secrets", () => {
  it("asks a Cloudflare stack for the Cloudflare token and a Route53 stack not", () => {
    expect(names("dev")).toContain("CLOUDFLARE_API_TOKEN");
    expect(names("prod")).not.toContain("CLOUDFLARE_API_TOKEN");
  });

  it("does not ask for a key the stack file already holds encrypted", () => {
    const needs = requirementsFor({
      "auth-email-pipeline:dnsProvider": "route53",
      "auth-email-pipeline:resendApiKey": { secure: "v1:abc" },
      "auth-email-pipeline:clerkWebhookMode": "portal",
    }).map((r) => r.name);
    expect(needs).toEqual([
      "PULUMI_CONFIG_PASSPHRASE",
      "PULUMI_BACKEND_URL",
      "AWS_ROLE_ARN",
      "CLERK_SECRET_KEY",
    ]);
  });

  it("names each missing secret and the environment to add it to; the Clerk signing secret only warns", () => {
    const { RESEND_API_KEY: _r, CLERK_WEBHOOK_SIGNING_SECRET: _c, ...env } = FULL_ENV;
    const verdict = checkRequirements(
      requirementsFor(readStackConfig(ROOT, "prod")),
      env,
      "prod",
      "preview-prod",
    );
    expect(verdict.errors).toEqual([
      "RESEND_API_KEY is not set for stack prod: add it under Settings → Environments → preview-prod → " +
        "Environment secrets (a full-access Resend API key (resend.com → API Keys))",
    ]);
    expect(verdict.warnings).toHaveLength(1);
    expect(verdict.warnings[0]).toMatch(
      /^CLERK_WEBHOOK_SIGNING_SECRET is not set for stack prod: .*Clerk keeps/,
    );
  });

  it("fails the job with annotations and exit 1, never printing a value", () => {
    const run = requireSecrets("dev", { ...FULL_ENV, CLOUDFLARE_API_TOKEN: "" });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(
      "::error title=Missing secret::CLOUDFLARE_API_TOKEN is not set for stack dev",
    );
    expect(run.stdout).not.toMatch(/re_x|sk_x|whsec_x/);
    expect(requireSecrets("dev", FULL_ENV).status).toBe(0);
  }, 30_000);
});
