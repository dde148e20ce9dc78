import type { Sandbox } from "../index";
import { PROJECT, SANDBOX_STACK, SANDBOX_STACK_FILE } from "../local-cloud/up";
import type { ControlEvent } from "./control-server";
import { EngineDeployment } from "./deployment";

export interface SandboxStackOptions {
  sandbox: Sandbox;
  toolsBin: string;
  /** Stack settings (`project:key` → value) instead of the stack file's: `--dns`, `--record-profile`. */
  config?: Record<string, string>;
  onEvent?: (event: ControlEvent) => void;
  onFunctionLog?: (functionName: string, line: string) => void;
  /** The engine's own output as it comes. */
  onOutput?: (text: string) => void;
}

export interface SandboxStack {
  deployment: EngineDeployment;
  outputs: Record<string, unknown>;
  /** `pulumi up`'s summary lines: resource counts and duration. */
  summary: string[];
}

/**
 * Stack `sandbox` of `infra/` for the real engine, initialised and configured but not deployed:
 * Pulumi.sandbox.yaml, and the Resend and Clerk keys of the sandbox's environment as secret config
 * (encrypted with the passphrase provider).
 */
export function startSandboxStack(options: Omit<SandboxStackOptions, "onOutput">): Promise<EngineDeployment> {
  const { sandbox } = options;
  return EngineDeployment.start({
    sandbox,
    toolsBin: options.toolsBin,
    stackFile: SANDBOX_STACK_FILE,
    stack: SANDBOX_STACK,
    config: options.config ?? {},
    secrets: {
      [`${PROJECT}:resendApiKey`]: sandbox.environment.RESEND_API_KEY!,
      [`${PROJECT}:clerkSecretKey`]: sandbox.environment.CLERK_SECRET_KEY!,
    },
    onEvent: options.onEvent,
    onFunctionLog: options.onFunctionLog,
  });
}

/**
 * `pulumi up` of `infra/` as stack `sandbox` by the real engine into the sandbox ({@link startSandboxStack}),
 * and the outputs read back with `pulumi stack output`. On failure everything is stopped again.
 */
export async function upSandboxStack(options: SandboxStackOptions): Promise<SandboxStack> {
  const deployment = await startSandboxStack(options);
  try {
    const up = await deployment.up(options.onOutput);
    const summary = summaryOf(up.stdout);
    return { deployment, outputs: await deployment.outputs(), summary };
  } catch (err) {
    await deployment.close();
    throw err;
  }
}

/** The `Resources:` block and the `Duration:` line at the end of `pulumi up`'s output. */
function summaryOf(stdout: string): string[] {
  const lines = stdout.trimEnd().split("\n");
  // The last one: `up --yes` prints the preview's block first.
  const start = lines.findLastIndex((l) => l.startsWith("Resources:"));
  return start < 0 ? [] : lines.slice(start).filter((l) => l.trim() !== "");
}
