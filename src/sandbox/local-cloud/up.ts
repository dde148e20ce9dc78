import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { PROJECT } from "../../../infra/config";
import type { Sandbox, SandboxOptions } from "../index";
import { LocalCloud, type LocalCloudOptions } from "./index";
import { asLanguageHost } from "./language-host";

export { PROJECT };
export const SANDBOX_STACK = "sandbox";
const ROOT = join(__dirname, "..", "..", "..");
/** The stack file `npm run sandbox` deploys. */
export const SANDBOX_STACK_FILE = join(ROOT, "Pulumi.sandbox.yaml");

/**
 * Vendor time for a local deployment: Svix retries and SQS visibility run 20× faster, and Resend verifies
 * within a second. Its failure window shrinks from 72 h to 3 s so a record published wrongly fails the
 * verification gate at once instead of leaving `pulumi up` waiting.
 */
export const LOCAL_CLOUD_SANDBOX: SandboxOptions = {
  timeScale: 0.05,
  resendVerification: { firstCheckMs: 2_000, intervalMs: 10_000, failAfterMs: 60_000 },
};

/**
 * Reads a `Pulumi.<stack>.yaml` into the flat map the Pulumi CLI hands the program: `project:key` → text,
 * structured values as JSON text. Encrypted values cannot be read without the stack's secrets provider,
 * so they are refused rather than passed on as ciphertext.
 */
export function readStackFile(path: string): Record<string, string> {
  const parsed = parse(readFileSync(path, "utf8")) as { config?: Record<string, unknown> } | null;
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed?.config ?? {})) {
    if (value && typeof value === "object" && "secure" in value) {
      throw new Error(
        `${path}: ${key} is encrypted; the sandbox reads secrets from its environment, remove it from the file`,
      );
    }
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return config;
}

export interface UpOptions {
  sandbox: Sandbox;
  /**
   * A cloud an earlier `upIntoLocalCloud` returned: this run is a second `pulumi up` of the same stack, which
   * leaves unchanged resources alone and updates changed ones in place (see {@link LocalCloud}).
   */
  cloud?: LocalCloud;
  /** Full stack config (`project:key` → value), e.g. from {@link readStackFile}. */
  config: Record<string, string>;
  /** Keys of `config` that were set with `pulumi config set --secret` (full keys, `project:key`). */
  secretKeys?: string[];
  stack?: string;
  /** The program's module; default `infra/index.ts`, the program `pulumi up` runs (`main: infra/`). */
  program?: string;
  /** Gives up (naming what is still being created) when the deployment takes longer; default 120 s. */
  timeoutMs?: number;
  rewriteInputs?: LocalCloudOptions["rewriteInputs"];
  onRealized?: LocalCloudOptions["onRealized"];
  onFunctionLog?: LocalCloudOptions["onFunctionLog"];
}

export interface UpResult {
  cloud: LocalCloud;
  /** The program's stack outputs, resolved, secrets unwrapped. */
  outputs: Record<string, unknown>;
}

/**
 * `pulumi up` into the local cloud: points the providers' environment at the sandbox, installs the local
 * cloud as Pulumi's mock engine with the stack config, runs the program, and waits until every output is
 * known. On failure the cloud is closed and the error names the resource that failed. The caller closes
 * `cloud` (which stops the local functions) when done with the deployment.
 */
export async function upIntoLocalCloud(options: UpOptions): Promise<UpResult> {
  const stack = options.stack ?? SANDBOX_STACK;
  // The dynamic providers read their endpoints and credentials from the environment, as under `pulumi up`.
  Object.assign(process.env, options.sandbox.environment);
  options.cloud?.redeploy(options.config);
  const cloud =
    options.cloud ??
    (await LocalCloud.create({
      sandbox: options.sandbox,
      project: PROJECT,
      config: options.config,
      rewriteInputs: options.rewriteInputs,
      onRealized: options.onRealized,
      onFunctionLog: options.onFunctionLog,
    }));
  let timer: NodeJS.Timeout | undefined;
  try {
    pulumi.runtime.setAllConfig(options.config, options.secretKeys);
    await pulumi.runtime.setMocks(cloud.mocks, PROJECT, stack, false);
    const timeoutMs = options.timeoutMs ?? 120_000;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `the deployment did not finish within ${timeoutMs / 1000} s; ${cloud.describeInFlight()}`,
            ),
          ),
        timeoutMs,
      );
    });
    const run = async () => {
      const program = (await import(options.program ?? "../../../infra/index.js")) as Record<string, unknown>;
      const outputs = await resolveOutputs(program);
      await pulumi.runtime.disconnect();
      return outputs;
    };
    const outputs = await asLanguageHost(run, [cloud.failed, timedOut]);
    return { cloud, outputs };
  } catch (err) {
    await cloud.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

async function resolveOutputs(program: Record<string, unknown>): Promise<Record<string, unknown>> {
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(program)) {
    outputs[key] = pulumi.Output.isInstance(value)
      ? await new Promise((resolve) => value.apply(resolve))
      : value;
  }
  return outputs;
}
