import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Resend } from "resend";
import { parse } from "yaml";
import { DynamoDb } from "../bridge/aws/dynamodb";
import { clerkUsersClient } from "../bridge/clerk-users";
import { BridgeStore } from "../bridge/store";
import { createTelemetry } from "../bridge/telemetry";
import { clerkUserDirectory } from "../bridge/users";
import type { CliContext } from "../doctor/cli";
import {
  applyUnsuppress,
  planUnsuppress,
  type UnsuppressDeps,
  UnsuppressError,
  type UnsuppressPlan,
  type UnsuppressResult,
} from "./lift";

const USAGE = `npm run unsuppress -- <address> [options]

  Lifts the block on one address everywhere at once: Resend's suppression list, the bridge's ledger
  (DynamoDB) and public_metadata.email_status of the Clerk users who own the address. Without --yes it
  only reads and prints what it would do.

  --stack <name>     stack whose Pulumi.<name>.yaml gives aws:region when AWS_REGION is unset (default: dev)
  --outputs <file>   read tableName from \`pulumi stack output --json\` saved to a file
  --table <name>     the bridge's DynamoDB table (the tableName stack output), instead of --outputs
  --yes              apply the plan
  --help             this text

  Credentials: RESEND_API_KEY (full access), CLERK_SECRET_KEY, and AWS credentials in the environment
  (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). Endpoints: RESEND_BASE_URL, CLERK_API_URL,
  AWS_ENDPOINT_URL_DYNAMODB (optional).`;

const OPTIONS = {
  stack: { type: "string", default: "dev" },
  outputs: { type: "string" },
  table: { type: "string" },
  yes: { type: "boolean", default: false },
  help: { type: "boolean", default: false },
} as const;

const ADDRESS = /^[^\s@<>]+@[^\s@<>]+$/;

/** Runs `unsuppress` and returns the exit code: 0 planned or done, 1 a step failed, 2 bad arguments or setup. */
export async function runUnsuppressCli(argv: string[], ctx: CliContext): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (err) {
    ctx.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    ctx.write(`${USAGE}\n`);
    return 0;
  }
  const setup = readSetup(positionals, values, ctx);
  if (!setup.ok) {
    ctx.write(`unsuppress cannot run:\n${setup.problems.map((p) => `- ${p}`).join("\n")}\n`);
    return 2;
  }
  const deps = buildDeps(setup.value, ctx.env);
  try {
    const plan = await planUnsuppress(setup.value.address, deps);
    ctx.write(formatPlan(plan, setup.value.table));
    if (!values.yes) {
      ctx.write("Dry run: nothing was changed. Run again with --yes to apply.\n");
      return 0;
    }
    ctx.write(formatResult(await applyUnsuppress(plan, deps)));
    return 0;
  } catch (err) {
    if (!(err instanceof UnsuppressError)) throw err;
    ctx.write(`✘ ${err.step}: ${err.message}\n  fix: ${err.fix}\n`);
    return 1;
  }
}

interface Setup {
  address: string;
  table: string;
  region: string;
  resendApiKey: string;
  clerkSecretKey: string;
}

/** Every problem with the arguments and the environment at once, each naming the fix; never a value. */
function readSetup(
  positionals: string[],
  values: { stack?: string; outputs?: string; table?: string },
  ctx: CliContext,
): { ok: true; value: Setup } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const { env } = ctx;
  const address = positionals[0]?.trim() ?? "";
  if (positionals.length !== 1)
    problems.push("give exactly one address: npm run unsuppress -- someone@example.org");
  else if (!ADDRESS.test(address))
    problems.push(`"${address}" is not a bare email address such as someone@example.org`);

  let table = values.table;
  if (!table && values.outputs) {
    const read = readTableName(values.outputs);
    if (read.ok) table = read.table;
    else problems.push(read.problem);
  }
  if (!table) {
    problems.push(
      "the table is unknown: pass --outputs outputs.json (from pulumi stack output --json) or --table",
    );
  }

  let region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!region) {
    const read = readStackRegion(join(ctx.cwd, `Pulumi.${values.stack}.yaml`));
    if (read.ok) region = read.region;
    else problems.push(read.problem);
  }
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
    problems.push(
      'AWS credentials are not in the environment: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, e.g. eval "$(aws configure export-credentials --format env)"',
    );
  }
  const key = (name: string, prefix: string, where: string) => {
    const value = env[name]?.trim() ?? "";
    if (!value.startsWith(prefix))
      problems.push(`${name} is ${value ? `not a ${prefix}… key` : "not set"}: ${where}`);
    return value;
  };
  const resendApiKey = key("RESEND_API_KEY", "re_", "export a full-access key from Resend → API Keys");
  const clerkSecretKey = key(
    "CLERK_SECRET_KEY",
    "sk_",
    "export the secret key from Clerk Dashboard → API keys",
  );

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: { address, table: table as string, region: region as string, resendApiKey, clerkSecretKey },
  };
}

/** The `tableName` output from a `pulumi stack output --json` file. */
function readTableName(path: string): { ok: true; table: string } | { ok: false; problem: string } {
  const fix = "save it with pulumi stack output --json > outputs.json after pulumi up, or pass --table";
  let outputs: unknown;
  try {
    outputs = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    return { ok: false, problem: `${path} is not readable JSON (${(err as Error).message}): ${fix}` };
  }
  const table = (outputs as { tableName?: unknown } | null)?.tableName;
  if (typeof table !== "string" || table.length === 0) {
    return { ok: false, problem: `${path} has no tableName output: ${fix}` };
  }
  return { ok: true, table };
}

/** `aws:region` from the stack file, when the environment does not name a region. */
function readStackRegion(file: string): { ok: true; region: string } | { ok: false; problem: string } {
  const fix = "export AWS_REGION, or pass --stack <name> of a Pulumi.<name>.yaml that sets aws:region";
  if (!existsSync(file))
    return { ok: false, problem: `AWS_REGION is not set and ${file} does not exist: ${fix}` };
  try {
    const config = (parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null)?.config;
    const region = config?.["aws:region"];
    if (typeof region === "string" && region) return { ok: true, region };
  } catch (err) {
    return { ok: false, problem: `${file} is not valid YAML (${(err as Error).message}): ${fix}` };
  }
  return { ok: false, problem: `AWS_REGION is not set and ${file} has no aws:region: ${fix}` };
}

function buildDeps(setup: Setup, env: Record<string, string | undefined>): UnsuppressDeps {
  const resendUrl = env.RESEND_BASE_URL?.replace(/\/+$/, "") || "https://api.resend.com";
  const clerkApiUrl = env.CLERK_API_URL || undefined;
  const telemetry = createTelemetry({ logLevel: "SILENT", emitMetrics: false, env });
  return {
    resend: new Resend(setup.resendApiKey, { baseUrl: resendUrl }),
    store: new BridgeStore(new DynamoDb({ env, region: setup.region }), setup.table),
    users: clerkUserDirectory(
      clerkUsersClient({ secretKey: setup.clerkSecretKey, ...(clerkApiUrl ? { apiUrl: clerkApiUrl } : {}) }),
      { backoff: { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 5_000 } },
    ),
    telemetry,
    describe: { table: setup.table, region: setup.region, resendUrl },
  };
}

const STATUS_ACTION = {
  clear: "would clear public_metadata.email_status",
  flag: "would be flagged for its primary address, which is blocked too",
  none: "no email_status change",
} as const;

function formatPlan(plan: UnsuppressPlan, table: string): string {
  const lines = [`Plan to lift the block on ${plan.address}:`];
  lines.push(
    plan.resend.listed
      ? `  Resend: on the suppression list (origin ${plan.resend.origin}) → would remove it`
      : "  Resend: not on the suppression list → nothing to remove",
  );
  const { ledger } = plan;
  lines.push(
    ledger.state === "blocked"
      ? `  Ledger (${table}): blocked (${ledger.suppression.reason}, since ${ledger.suppression.firstAt}) → would lift it`
      : ledger.state === "lifted"
        ? `  Ledger (${table}): already lifted (${ledger.liftedBy}, ${ledger.liftedAt}) → would record the lift again`
        : `  Ledger (${table}): not blocked → would record the lift`,
  );
  if (plan.owners.length === 0) lines.push("  Clerk: no user owns the address");
  for (const { user, action } of plan.owners) {
    const status =
      typeof user.publicMetadata.email_status === "string" ? user.publicMetadata.email_status : "unset";
    lines.push(`  Clerk user ${user.id} (email_status ${status}): ${STATUS_ACTION[action]}`);
  }
  return `${lines.join("\n")}\n`;
}

function formatResult(result: UnsuppressResult): string {
  const lines = [
    result.resend === "removed" ? "✔ Resend: suppression removed" : "✔ Resend: nothing to remove",
    result.ledger === "lifted" ? "✔ Ledger: block lifted" : "✔ Ledger: lift recorded (nothing was blocked)",
    ...result.owners.map(({ userId, outcome }) => `✔ Clerk user ${userId}: email_status ${outcome}`),
  ];
  return `${lines.join("\n")}\n`;
}

if (require.main === module) {
  runUnsuppressCli(process.argv.slice(2), {
    env: process.env,
    cwd: process.cwd(),
    write: (t) => process.stdout.write(t),
  }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`unsuppress failed: ${err instanceof Error ? err.name : "unknown error"}`);
      process.exit(2);
    },
  );
}
