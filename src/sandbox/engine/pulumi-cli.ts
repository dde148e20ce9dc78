import { execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";

const ROOT = join(__dirname, "..", "..", "..");
const TOOLS_SCRIPT = join(ROOT, "scripts", "pulumi-tools.sh");

/** Failure of a `pulumi` command, with what it printed (secrets never reach the CLI's output here). */
export class PulumiCommandError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    // The engine reports a failed resource in the diagnostics on stdout; stderr holds the final error line.
    super(
      `pulumi ${args.join(" ")} exited with ${code}:\n${tail(stdout, 30)}\n${tail(stderr, 10)}`.trimEnd(),
    );
    this.name = "PulumiCommandError";
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * The folder holding the Pulumi CLI built or found by `scripts/pulumi-tools.sh` (and the plugins the engine
 * looks for next to it), or undefined when there is none. Never builds: that takes minutes.
 */
export function findPulumiTools(): string | undefined {
  try {
    const stdout = execFileSync("bash", [TOOLS_SCRIPT, "--find"], { cwd: ROOT, encoding: "utf8" });
    const bin = stdout.trim().split("\n").at(-1);
    return bin || undefined;
  } catch {
    return undefined;
  }
}

export interface PulumiResult {
  stdout: string;
  stderr: string;
}

export interface PulumiWorkspaceOptions {
  /** The tools folder from {@link findPulumiTools}. */
  toolsBin: string;
  /** Where Pulumi.yaml is. */
  projectDir: string;
  /** Encrypts the stack's secrets (passphrase secrets provider). */
  passphrase: string;
  /** More environment for the engine, its plugins and the program (provider endpoints, attach ports). */
  env?: Record<string, string>;
}

/**
 * A Pulumi CLI with nothing of the user's: a throwaway `PULUMI_HOME`, a file backend in a temp folder
 * (`pulumi login file://…`), the passphrase secrets provider, and no plugin downloads. Every command runs
 * non-interactively against `projectDir`.
 */
export class PulumiWorkspace {
  private constructor(
    private readonly options: PulumiWorkspaceOptions,
    /** Holds `home/` (PULUMI_HOME) and `state/` (the file backend). */
    readonly dir: string,
  ) {}

  static async create(options: PulumiWorkspaceOptions): Promise<PulumiWorkspace> {
    const dir = await mkdtemp(join(tmpdir(), "pulumi-engine-"));
    await mkdir(join(dir, "home"));
    await mkdir(join(dir, "state"));
    const workspace = new PulumiWorkspace(options, dir);
    await workspace.run(["login", workspace.backendUrl]);
    return workspace;
  }

  /** Where the CLI and the plugins the engine finds next to it are. */
  get toolsBin(): string {
    return this.options.toolsBin;
  }

  get backendUrl(): string {
    return `file://${join(this.dir, "state")}`;
  }

  /** The environment every command runs with; also what a person needs to run `pulumi` against this state. */
  get environment(): Record<string, string> {
    return {
      ...this.options.env,
      PATH: [this.options.toolsBin, dirname(process.execPath), process.env.PATH ?? ""].join(delimiter),
      PULUMI_HOME: join(this.dir, "home"),
      PULUMI_BACKEND_URL: this.backendUrl,
      PULUMI_CONFIG_PASSPHRASE: this.options.passphrase,
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_SKIP_CONFIRMATIONS: "true",
    };
  }

  /**
   * Runs `pulumi <args>` in the project folder; rejects with {@link PulumiCommandError} on a non-zero exit.
   * `onOutput` receives stdout as it comes (the engine's progress); `env` adds to (or overrides) the environment.
   */
  run(
    args: string[],
    opts: { stdin?: string; onOutput?: (text: string) => void; env?: Record<string, string> } = {},
  ): Promise<PulumiResult> {
    const fullArgs = [...args, "--non-interactive", "--color", "never"];
    return new Promise((resolve, reject) => {
      const child = spawn(join(this.options.toolsBin, "pulumi"), fullArgs, {
        cwd: this.options.projectDir,
        env: { ...process.env, ...this.environment, ...opts.env },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        opts.onOutput?.(chunk.toString());
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on("error", reject);
      child.on("close", (code) => {
        if (code === 0) resolve({ stdout, stderr });
        else reject(new PulumiCommandError(args, code, stdout, stderr));
      });
      child.stdin.end(opts.stdin ?? "");
    });
  }

  /** `pulumi stack export` of the selected stack: the checkpoint as stored, secrets encrypted. */
  async exportStack(): Promise<StackExport> {
    const { stdout } = await this.run(["stack", "export"]);
    return JSON.parse(stdout) as StackExport;
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface StateResource {
  urn: string;
  type: string;
  id?: string;
  custom: boolean;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  dependencies?: string[];
  provider?: string;
}

export interface StackExport {
  version: number;
  deployment: {
    secrets_providers?: { type: string };
    resources?: StateResource[];
  };
}
