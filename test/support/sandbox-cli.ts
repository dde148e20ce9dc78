import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");

/** `npm run sandbox -- <args>` as a child process: its exit code and output. */
export async function sandboxCli(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const bundleDir = await mkdtemp(join(tmpdir(), "cli-bundle-"));
  try {
    const child = spawn(process.execPath, [require.resolve("tsx/cli"), "src/sandbox/cli.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, BRIDGE_BUNDLE_DIR: bundleDir },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    return { code, stdout, stderr };
  } finally {
    await rm(bundleDir, { recursive: true, force: true });
  }
}
