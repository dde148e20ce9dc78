/**
 * First step of the preview and deploy jobs: fails at once, naming each missing secret and the GitHub
 * environment to add it to, instead of letting `pulumi` stop later on a config error that names a config key
 * the CI user never sets. What a stack needs follows from its stack file: the DNS provider decides whether a
 * Cloudflare token is needed, the Clerk webhook mode whether the signing secret is.
 *
 *   npx tsx scripts/ci/require-secrets.ts <stack> <github-environment>
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const PROJECT = "auth-email-pipeline";

export interface Requirement {
  name: string;
  kind: "secret" | "variable";
  /** Where the value comes from, so the message is enough to act on. */
  source: string;
  /** Missing means the job cannot work (error) or works with a stated consequence (warning). */
  level: "error" | "warning";
  consequence?: string;
}

export interface Verdict {
  errors: string[];
  warnings: string[];
}

/** The secrets and variables one stack's job needs, given its stack file's config. */
export function requirementsFor(config: Record<string, unknown>): Requirement[] {
  const inFile = (key: string) => {
    const value = config[key];
    return typeof value === "object" && value !== null && "secure" in value;
  };
  const dnsProvider = config[`${PROJECT}:dnsProvider`];
  const webhookMode = config[`${PROJECT}:clerkWebhookMode`] ?? "manual";
  const needs: Requirement[] = [
    {
      name: "PULUMI_CONFIG_PASSPHRASE",
      kind: "secret",
      source: "the passphrase this stack's secrets are encrypted with (one per stack)",
      level: "error",
    },
    {
      name: "PULUMI_BACKEND_URL",
      kind: "variable",
      source: "the state backend, e.g. s3://my-state-bucket/auth-email-pipeline",
      level: "error",
    },
    {
      name: "AWS_ROLE_ARN",
      kind: "variable",
      source: "AWS_PREVIEW_ROLE_ARN (preview) or AWS_DEPLOY_ROLE_ARN (deploy): the OIDC role to assume",
      level: "error",
    },
  ];
  if (!inFile(`${PROJECT}:resendApiKey`)) {
    needs.push({
      name: "RESEND_API_KEY",
      kind: "secret",
      source: "a full-access Resend API key (resend.com → API Keys)",
      level: "error",
    });
  }
  if (!inFile(`${PROJECT}:clerkSecretKey`)) {
    needs.push({
      name: "CLERK_SECRET_KEY",
      kind: "secret",
      source: "the Clerk instance's secret key sk_… (Clerk Dashboard → API keys)",
      level: "error",
    });
  }
  if (dnsProvider === "cloudflare" && !inFile("cloudflare:apiToken")) {
    needs.push({
      name: "CLOUDFLARE_API_TOKEN",
      kind: "secret",
      source: "a Cloudflare API token with Zone.DNS edit on the stack's zone",
      level: "error",
    });
  }
  if (webhookMode === "manual" && !inFile(`${PROJECT}:clerkWebhookSigningSecret`)) {
    needs.push({
      name: "CLERK_WEBHOOK_SIGNING_SECRET",
      kind: "secret",
      source:
        "the signing secret whsec_… of the Clerk endpoint registered by hand (docs/pulumi.md, manual mode)",
      level: "warning",
      consequence:
        "the program treats the Clerk endpoint as unregistered: Clerk keeps (or goes back to) delivering its own mail",
    });
  }
  return needs;
}

/** Which requirements the environment leaves unmet, as messages naming the value and where to set it. */
export function checkRequirements(
  needs: Requirement[],
  env: Record<string, string | undefined>,
  stack: string,
  environment: string,
): Verdict {
  const verdict: Verdict = { errors: [], warnings: [] };
  for (const need of needs) {
    if (env[need.name]?.trim()) continue;
    const where = `Settings → Environments → ${environment} → Environment ${need.kind === "secret" ? "secrets" : "variables"}`;
    const message =
      `${need.name} is not set for stack ${stack}: add it under ${where} (${need.source})` +
      (need.consequence ? `; until then ${need.consequence}` : "");
    (need.level === "error" ? verdict.errors : verdict.warnings).push(message);
  }
  return verdict;
}

export function readStackConfig(root: string, stack: string): Record<string, unknown> {
  const path = join(root, `Pulumi.${stack}.yaml`);
  const parsed = parse(readFileSync(path, "utf8")) as { config?: Record<string, unknown> } | null;
  return parsed?.config ?? {};
}

function main(argv: string[]): number {
  const [stack, environment] = argv;
  if (!stack || !environment) {
    console.error("usage: require-secrets.ts <stack> <github-environment>");
    return 2;
  }
  let config: Record<string, unknown>;
  try {
    config = readStackConfig(join(__dirname, "..", ".."), stack);
  } catch (err) {
    console.error(`::error::cannot read Pulumi.${stack}.yaml: ${(err as Error).message}`);
    return 1;
  }
  const verdict = checkRequirements(requirementsFor(config), process.env, stack, environment);
  for (const warning of verdict.warnings) console.log(`::warning title=Missing secret::${warning}`);
  for (const error of verdict.errors) console.log(`::error title=Missing secret::${error}`);
  if (verdict.errors.length === 0) console.log(`every secret stack ${stack} needs is set`);
  return verdict.errors.length > 0 ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
