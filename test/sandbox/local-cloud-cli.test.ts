import { describe, expect, it } from "vitest";
import { sandboxCli } from "../support/sandbox-cli";

describe("npm run sandbox (the CLI)", () => {
  it("exits 0 after deploying and playing the scenario (mock runtime; test/engine runs the real engine)", async () => {
    const { code, stdout, stderr } = await sandboxCli([
      "--dns",
      "route53",
      "--record-profile",
      "cname",
      "--engine",
      "mock",
    ]);
    expect(stderr).not.toMatch(/sandbox failed/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/DNS on route53, record profile cname,/);
    expect(stdout).toMatch(/^Engine: Pulumi's mock runtime, embedded in this process \(--engine mock\)$/m);
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
    const engine = await sandboxCli(["--engine", "terraform"]);
    expect(engine.code).toBe(1);
    expect(engine.stderr).toMatch(/--engine must be pulumi or mock \(got "terraform"\)/);
    const profile = await sandboxCli(["--record-profile", "mx"]);
    expect(profile.code).toBe(1);
    expect(profile.stderr).toMatch(
      /--record-profile must be one of classic, cname, classic-dkim-cname, cname-dkim-cname \(got "mx"\)/,
    );
  }, 30_000);
});
