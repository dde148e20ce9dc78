import { parseArgs } from "node:util";
import { resolverLookup } from "./dns-lookup";
import { loadStack, readBridgeUrl } from "./inputs";
import { buildReport, exitCode, formatJson, formatText } from "./report";
import { runDoctor } from "./run";

const USAGE = `npm run doctor [-- options]

  Checks one stack's auth-email pipeline, read-only: DNS records against what Resend expects (DKIM, SPF
  and its lookup limit, return-path MX, DMARC), the Resend domain and webhook, Clerk's template delivery
  and Svix app, and the bridge. Exit code 1 when any check fails.

  --stack <name>          stack whose Pulumi.<name>.yaml to read (default: dev)
  --bridge-url <url>      the bridge's Function URL (the bridgeUrl stack output)
  --outputs <file>        read bridgeUrl from \`pulumi stack output --json\` saved to a file
  --dns-server host:port  resolve through this server instead of the system's resolvers
  --json                  machine-readable report
  --help                  this text

  Credentials: RESEND_API_KEY, CLERK_SECRET_KEY. Endpoints: RESEND_BASE_URL, CLERK_API_URL (optional).`;

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
  json: { type: "boolean", default: false },
  help: { type: "boolean", default: false },
} as const;

/** Runs the doctor for `argv` and returns the exit code: 0 no failure, 1 a check failed, 2 bad arguments. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>["values"];
  try {
    values = parseArgs({ args: argv, options: OPTIONS }).values;
  } catch (err) {
    ctx.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    ctx.write(`${USAGE}\n`);
    return 0;
  }
  const stack = values.stack as string;
  const format = values.json ? formatJson : formatText;
  const loaded = loadStack(stack, ctx.cwd, ctx.env);
  let bridgeUrl = values["bridge-url"];
  const problems = loaded.ok ? [] : loaded.problems;
  if (!bridgeUrl && values.outputs) {
    const read = readBridgeUrl(values.outputs);
    if (read.ok) bridgeUrl = read.url;
    else problems.push(read.problem);
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
    bridgeUrl,
    dns: resolverLookup({ server: values["dns-server"] }),
  });
  ctx.write(format(report));
  return exitCode(report);
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
