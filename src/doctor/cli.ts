import { parseArgs } from "node:util";
import { resolverLookup } from "./dns-lookup";
import { loadStack } from "./inputs";
import { readStackOutputs, type StackOutputs } from "./outputs";
import { buildReport, exitCode, formatJson, formatJsonError, formatText, scrubSecrets } from "./report";
import { runDoctor } from "./run";
import { fetchTrace, formatTraceJson, formatTraceText } from "./trace";
import { DEFAULT_TIMEOUT_MS } from "./types";

const USAGE = `npm run doctor [-- options]
npm run doctor -- trace <address> [options]

  Checks one stack's auth-email pipeline, read-only: DNS records against what Resend expects (DKIM, SPF
  and its lookup limit, return-path MX, DMARC), the Resend domain, webhook and reputation, Clerk's template
  delivery, Svix app and webhook endpoint, the bridge and its dead-letter queue. Exit code 1 when any check
  fails, 2 when the doctor could not run.

  --stack <name>          stack whose Pulumi.<name>.yaml to read (default: dev)
  --bridge-url <url>      the bridge's Function URL (the bridgeUrl stack output)
  --outputs <file>        read bridgeUrl and deadLetterQueueName from \`pulumi stack output --json\` saved to a file
  --dns-server host:port  resolve through this server instead of the system's resolvers
  --timeout <ms>          per call to a vendor, the bridge or AWS (default ${DEFAULT_TIMEOUT_MS})
  --json                  machine-readable report (schema: docs/doctor.schema.json)
  --help                  this text

  trace <address>: why did this user get nothing? The Clerk users with the address and their email_status,
  the bridge's suppression ledger (tableName from --outputs) and Resend's, and the recent emails Resend sent
  to it with the bridge's record of each. Never prints codes or bodies.
  --clerk-email <ema_…>   also look up this Clerk email id in the ledger (sends that never reached Resend)

  Credentials: RESEND_API_KEY, CLERK_SECRET_KEY, AWS credentials for the queue. Endpoints: RESEND_BASE_URL,
  CLERK_API_URL, SVIX_API_URL, AWS_ENDPOINT_URL_SQS (optional).`;

export interface CliContext {
  env: Record<string, string | undefined>;
  cwd: string;
  write: (text: string) => void;
}

const OPTIONS = {
  stack: { type: "string", default: "dev" },
  "bridge-url": { type: "string" },
  outputs: { type: "string" },
  "dns-server": { type: "string" },
  timeout: { type: "string" },
  "clerk-email": { type: "string", multiple: true },
  json: { type: "boolean", default: false },
  help: { type: "boolean", default: false },
} as const;

/** A usage error, as text with the usage or, under `--json`, as the JSON error shape. */
function usageError(ctx: CliContext, json: boolean, message: string): number {
  ctx.write(json ? formatJsonError("usage", message, USAGE) : `${message}\n\n${USAGE}\n`);
  return 2;
}

/** Runs the doctor for `argv` and returns the exit code: 0 no failure, 1 a check failed, 2 could not run. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const json = argv.includes("--json");
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>["values"];
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true }));
  } catch (err) {
    return usageError(ctx, json, (err as Error).message);
  }
  const [command, address, ...extra] = positionals;
  if (command !== undefined && (command !== "trace" || !address?.includes("@") || extra.length > 0)) {
    return usageError(
      ctx,
      json,
      command === "trace" ? "trace needs one email address: trace <address>" : `unknown command "${command}"`,
    );
  }
  if (values.help) {
    ctx.write(`${USAGE}\n`);
    return 0;
  }
  const timeoutMs = values.timeout === undefined ? DEFAULT_TIMEOUT_MS : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    return usageError(
      ctx,
      json,
      `--timeout must be a whole number of milliseconds (got "${values.timeout}")`,
    );
  }
  const stack = values.stack as string;
  const format = values.json ? formatJson : formatText;
  try {
    const loaded = loadStack(stack, ctx.cwd, ctx.env);
    const problems = loaded.ok ? [] : loaded.problems;
    let outputs: Partial<StackOutputs> = {};
    if (values.outputs) {
      const read = readStackOutputs(values.outputs);
      if (read.ok) outputs = read.outputs;
      else problems.push(read.problem);
    }
    if (address && loaded.ok && problems.length === 0) {
      const trace = await fetchTrace({
        address,
        stack,
        resendApiKey: loaded.settings.secrets.resendApiKey,
        clerkSecretKey: loaded.settings.secrets.clerkSecretKey,
        resendBaseUrl: ctx.env.RESEND_BASE_URL || undefined,
        clerkApiUrl: ctx.env.CLERK_API_URL || undefined,
        tableName: outputs.tableName,
        awsEnv: ctx.env,
        clerkEmailIds: values["clerk-email"],
        timeoutMs,
      });
      const text = values.json ? formatTraceJson(trace) : formatTraceText(trace);
      ctx.write(scrubSecrets(text, Object.values(loaded.settings.secrets)));
      return 0;
    }
    if (!loaded.ok || problems.length > 0) {
      const report = buildReport(stack, loaded.ok ? loaded.settings.sendingDomain : undefined, problems);
      ctx.write(format(report));
      return exitCode(report);
    }
    const report = await runDoctor({
      stack,
      settings: loaded.settings,
      resendBaseUrl: ctx.env.RESEND_BASE_URL || undefined,
      clerkApiUrl: ctx.env.CLERK_API_URL || undefined,
      svixApiUrl: ctx.env.SVIX_API_URL || undefined,
      bridgeUrl: values["bridge-url"] ?? outputs.bridgeUrl,
      deadLetterQueueName: outputs.deadLetterQueueName,
      awsEnv: ctx.env,
      dns: resolverLookup({ server: values["dns-server"] }),
      timeoutMs,
    });
    ctx.write(format(report));
    return exitCode(report);
  } catch (err) {
    const message = `doctor failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    ctx.write(json ? formatJsonError("crash", message) : `${message}\n`);
    return 2;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2), {
    env: process.env,
    cwd: process.cwd(),
    write: (t) => process.stdout.write(t),
  }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`doctor failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(2);
    },
  );
}
