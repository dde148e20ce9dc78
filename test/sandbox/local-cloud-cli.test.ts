import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");

/** `npm run sandbox -- <args>` as a child process: its exit code and output. */
async function sandboxCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
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

describe("npm run sandbox (the CLI)", () => {
  it("exits 0 after deploying and playing the scenario", async () => {
    const { code, stdout, stderr } = await sandboxCli(["--dns", "route53", "--record-profile", "cname"]);
    expect(stderr).not.toMatch(/sandbox failed/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/DNS on route53, record profile cname,/);
    expect(stdout).toMatch(/domain verified: .*SPF CNAME verified, SPF CNAME verified/);
    expect(stdout).toMatch(/aws:route53\/record:Record/);
    // The transcript shows the canary Resend accepted before the templates were routed to the bridge.
    const canary = stdout.search(
      /✔ canary passed: signed email\.created ema_canary_[0-9a-f]+ → ingest → worker → Resend accepted \S+ \(delivered@resend\.dev, canary=true\)/,
    );
    expect(canary).toBeGreaterThan(-1);
    expect(canary).toBeLessThan(stdout.indexOf("✔ delivery routed:"));
    expect(stdout.trim().split("\n").at(-1)).toBe("The sandbox stack works end to end.");
  }, 90_000);

  it("exits non-zero with the reason on a bad option", async () => {
    const { code, stderr } = await sandboxCli(["--dns", "azure"]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/--dns must be cloudflare or route53 \(got "azure"\)/);
    const profile = await sandboxCli(["--record-profile", "mx"]);
    expect(profile.code).toBe(1);
    expect(profile.stderr).toMatch(
      /--record-profile must be one of classic, cname, classic-dkim-cname, cname-dkim-cname \(got "mx"\)/,
    );
  }, 30_000);
});
