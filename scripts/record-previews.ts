// Regenerates test/fixtures/preview/*.json: what `pulumi preview --json` plans for representative changes
// of the sandbox stack, under the real engine with the local providers (needs the CLI that
// scripts/pulumi-tools.sh builds). Run: `npx tsx scripts/record-previews.ts` (about two minutes).
//
// Each fixture is the engine's JSON with what differs from run to run made stable (ports, temp folders,
// generated ids and keys, durations), and it is refused if a secret of the run appears in it in plain text.
import { mkdtempSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { type Sandbox, startSandbox } from "../src/sandbox";
import { sandboxClientConfig } from "../src/sandbox/aws/env";
import type { EngineDeployment } from "../src/sandbox/engine/deployment";
import { findPulumiTools } from "../src/sandbox/engine/pulumi-cli";
import { startSandboxStack } from "../src/sandbox/engine/sandbox-stack";
import { LOCAL_CLOUD_SANDBOX, PROJECT } from "../src/sandbox/local-cloud/up";
import { normalizePreview, plaintextSecrets, SECRET_SHAPES } from "../test/support/preview-fixtures";

const ROOT = join(__dirname, "..");
const FIXTURES = join(ROOT, "test", "fixtures", "preview");

interface Run {
  sandbox: Sandbox;
  deployment: EngineDeployment;
  bundleDir: string;
}

/** A change to the deployed stack: config set for one preview and taken back afterwards. */
interface Change {
  fixture: string;
  description: string;
  config: Record<string, string>;
}

const CHANGES: Change[] = [
  {
    fixture: "dns-record-value",
    description: "dmarcPolicy none -> quarantine: the DMARC record's value is updated in place",
    config: { dmarcPolicy: "quarantine" },
  },
  {
    fixture: "domain-replacement",
    description:
      "returnPath send -> bounces: the Resend domain is replaced (customReturnPath) and its return-path records (name)",
    config: { returnPath: "bounces" },
  },
  {
    fixture: "profile-switch",
    description:
      "returnPath send -> bounces and resendRecordProfile cname: a new domain whose return-path records are replaced by CNAMEs (name, type)",
    config: { returnPath: "bounces", resendRecordProfile: "cname" },
  },
];

/** `pulumi <args> --json`, normalized, checked for secrets and written as `<fixture>.json`. */
async function record(run: Run, fixture: string, description: string, args: string[]): Promise<void> {
  const { deployment, sandbox } = run;
  // `destroy --preview-only` refuses the PULUMI_SKIP_CONFIRMATIONS every other command runs with.
  const env: Record<string, string> = args[0] === "destroy" ? { PULUMI_SKIP_CONFIRMATIONS: "false" } : {};
  const { stdout } = await deployment.pulumi.run([...args, "--json"], { env });
  const preview = normalizePreview(JSON.parse(stdout), {
    [deployment.projectDir]: "<project>",
    [deployment.pulumi.dir]: "<pulumi-home>",
    [run.bundleDir]: "<bundle>",
    [ROOT]: "<repo>",
  });
  const text = `${JSON.stringify({ description, command: `pulumi ${args.join(" ")} --json`, preview }, null, 2)}\n`;
  const leaked = [
    ...plaintextSecrets(text, await runSecrets(sandbox)),
    ...(text.match(SECRET_SHAPES) ?? []).map((value) => `${value.slice(0, 6)}…`),
  ];
  if (leaked.length > 0) throw new Error(`${fixture}: secrets in plain text: ${leaked.join(", ")}`);
  await writeFile(join(FIXTURES, `${fixture}.json`), text);
  console.log(`wrote test/fixtures/preview/${fixture}.json: ${description}`);
}

/** A plain stack setting as the stack file has it, or undefined when it sets none. */
async function configValue(deployment: EngineDeployment, key: string): Promise<string | undefined> {
  const { stdout } = await deployment.run(["config", "--json"]);
  const entry = (JSON.parse(stdout) as Record<string, { value?: string; secret: boolean }>)[
    `${PROJECT}:${key}`
  ];
  return entry?.value;
}

/** Every secret the run knows: the vendor keys and what the vendors handed the stack. */
async function runSecrets(sandbox: Sandbox): Promise<Record<string, string>> {
  const secrets: Record<string, string> = {
    resendApiKey: sandbox.resend.apiKey,
    clerkSecretKey: sandbox.clerk.secretKey,
  };
  const ssm = new SSMClient(sandboxClientConfig(sandbox.aws.ssm.endpoint));
  try {
    for (const { name, type } of sandbox.aws.ssm.parameters()) {
      if (type !== "SecureString") continue;
      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      if (Parameter?.Value) secrets[name] = Parameter.Value;
    }
  } finally {
    ssm.destroy();
  }
  return secrets;
}

async function main(): Promise<void> {
  const toolsBin = findPulumiTools();
  if (!toolsBin) throw new Error("no Pulumi CLI: scripts/pulumi-tools.sh builds one into .tools/pulumi/");
  const bundleDir = mkdtempSync(join(tmpdir(), "preview-bundle-"));
  // The program (a process of the engine's) builds the bridge bundle here instead of into dist/.
  process.env.BRIDGE_BUNDLE_DIR = bundleDir;
  await mkdir(FIXTURES, { recursive: true });
  const sandbox = await startSandbox(LOCAL_CLOUD_SANDBOX);
  let deployment: EngineDeployment | undefined;
  try {
    deployment = await startSandboxStack({ sandbox, toolsBin });
    const run: Run = { sandbox, deployment, bundleDir };
    await record(run, "new-stack", "the first deployment: every resource created", ["preview"]);
    await deployment.up();
    for (const change of CHANGES) {
      const previous = new Map<string, string | undefined>();
      for (const [key, value] of Object.entries(change.config)) {
        previous.set(key, await configValue(deployment, key));
        await deployment.run(["config", "set", `${PROJECT}:${key}`, value]);
      }
      await record(run, change.fixture, change.description, ["preview"]);
      for (const [key, value] of previous) {
        await deployment.run(
          value === undefined
            ? ["config", "rm", `${PROJECT}:${key}`]
            : ["config", "set", `${PROJECT}:${key}`, value],
        );
      }
    }
    await deployment.run(["preview", "--expect-no-changes"]);
    await record(run, "destroy", "destroying the stack: every resource deleted", [
      "destroy",
      "--preview-only",
    ]);
  } finally {
    await deployment?.close();
    await sandbox.close();
    await rm(bundleDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
