import { randomBytes } from "node:crypto";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import type { Sandbox } from "../index";
import type { ControlEvent } from "./control-server";
import { type LocalCloudForEngine, startLocalCloudForEngine } from "./local-cloud-engine";
import { type PulumiResult, PulumiWorkspace } from "./pulumi-cli";

const ROOT = join(__dirname, "..", "..", "..");

export interface EngineDeploymentOptions {
  sandbox: Sandbox;
  /** The folder with the Pulumi CLI (`findPulumiTools()`). */
  toolsBin: string;
  /** The stack file to deploy, e.g. Pulumi.sandbox.yaml; copied, never written. */
  stackFile: string;
  stack: string;
  /** Plain config set on top of the stack file (`project:key` → value). */
  config?: Record<string, string>;
  /** Secret config (`project:key` → value), set with `pulumi config set --secret`. */
  secrets?: Record<string, string>;
  /**
   * Let ts-node type-check the program as a plain `pulumi up` does (slower: it loads @pulumi/aws's types).
   * Off by default: `npm run typecheck` checks the program, test/infra/pulumi-host.test.ts the type-checked path.
   */
  typeCheck?: boolean;
  onEvent?: (event: ControlEvent) => void;
  onFunctionLog?: (functionName: string, line: string) => void;
}

/**
 * `infra/` deployed by the real Pulumi engine into the sandbox: the CLI with its own home and a file backend,
 * the program run by the Node.js language host, the dynamic providers by Pulumi's dynamic-provider plugin,
 * and the `aws` and `cloudflare` resources by local providers (attached) that create them on the stand-ins.
 *
 * The project folder is a temporary one holding a copy of Pulumi.yaml whose `main` is this checkout's
 * `infra/`, and the stack's config file, so `pulumi config set` and the passphrase salt never touch the
 * repository's stack files.
 */
export class EngineDeployment {
  private constructor(
    readonly cloud: LocalCloudForEngine,
    readonly pulumi: PulumiWorkspace,
    readonly projectDir: string,
    readonly stack: string,
  ) {}

  static async start(options: EngineDeploymentOptions): Promise<EngineDeployment> {
    const cleanup: (() => Promise<void>)[] = [];
    try {
      const cloud = await startLocalCloudForEngine(options);
      cleanup.push(() => cloud.close());
      const projectDir = await mkdtemp(join(tmpdir(), "sandbox-project-"));
      cleanup.push(() => rm(projectDir, { recursive: true, force: true }));
      await writeProject(projectDir, options.stack, options.stackFile);
      const pulumi = await PulumiWorkspace.create({
        toolsBin: options.toolsBin,
        projectDir,
        passphrase: randomBytes(18).toString("base64url"),
        env: { ...cloud.env, ...(options.typeCheck ? {} : { PULUMI_NODEJS_TRANSPILE_ONLY: "true" }) },
      });
      cleanup.push(() => pulumi.dispose());
      await pulumi.run(["stack", "init", options.stack, "--secrets-provider", "passphrase"]);
      for (const [key, value] of Object.entries(options.config ?? {})) {
        await pulumi.run(["config", "set", key, value]);
      }
      for (const [key, value] of Object.entries(options.secrets ?? {})) {
        // Through stdin, so the value is not in a process list.
        await pulumi.run(["config", "set", "--secret", key], { stdin: value });
      }
      return new EngineDeployment(cloud, pulumi, projectDir, options.stack);
    } catch (err) {
      for (const undo of cleanup.reverse()) await undo().catch(() => undefined);
      throw err;
    }
  }

  /** `pulumi <args>` against this deployment's stack. */
  run(args: string[], onOutput?: (text: string) => void): Promise<PulumiResult> {
    return this.pulumi.run(args, { onOutput });
  }

  up(onOutput?: (text: string) => void): Promise<PulumiResult> {
    return this.run(["up", "--yes"], onOutput);
  }

  /** The stack outputs with secrets in clear (`pulumi stack output --json --show-secrets`). */
  async outputs(): Promise<Record<string, unknown>> {
    const { stdout } = await this.run(["stack", "output", "--json", "--show-secrets"]);
    return JSON.parse(stdout) as Record<string, unknown>;
  }

  /** Shell lines that point `pulumi` at this deployment's state and providers, for use by hand while it runs. */
  manualEnvironment(): string[] {
    const { PATH: _path, ...env } = this.pulumi.environment;
    return [
      `cd ${this.projectDir}`,
      `export PATH=${shellQuote(this.pulumi.toolsBin)}:${shellQuote(dirname(process.execPath))}:"$PATH"`,
      ...Object.entries(env).map(([key, value]) => `export ${key}=${shellQuote(value)}`),
    ];
  }

  /** Stops the providers and the local cloud, and removes the state and the project folder. */
  async close(): Promise<void> {
    await this.cloud.close();
    await this.pulumi.dispose();
    await rm(this.projectDir, { recursive: true, force: true });
  }
}

/** Pulumi.yaml as in the repository but with `main` pointing at this checkout's program, and the stack file. */
async function writeProject(projectDir: string, stack: string, stackFile: string): Promise<void> {
  const project = parse(await readFile(join(ROOT, "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
  project.main = join(ROOT, String(project.main ?? "."));
  await writeFile(join(projectDir, "Pulumi.yaml"), stringify(project));
  await copyFile(stackFile, join(projectDir, `Pulumi.${stack}.yaml`));
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
