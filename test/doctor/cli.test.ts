import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/doctor/cli";
import type { DoctorReport } from "../../src/doctor/report";
import { closedPortUrl, DOMAIN, type DoctorWorld, startDoctorWorld, ZONE } from "./world";

let world: DoctorWorld;
let dir: string;
let env: Record<string, string>;

/** A stack file as `pulumi config set` leaves it: credentials encrypted, so they must come from the environment. */
const STACK_FILE = `config:
  aws:region: us-east-1
  auth-email-pipeline:sendingDomain: ${DOMAIN}
  auth-email-pipeline:dnsZone: ${ZONE}
  auth-email-pipeline:dnsProvider: route53
  auth-email-pipeline:fromName: Example
  auth-email-pipeline:fromAddress: auth@${DOMAIN}
  auth-email-pipeline:dmarcRua: dmarc-reports@${ZONE}
  auth-email-pipeline:templates:
    - verification_code
    - reset_password_code
  auth-email-pipeline:resendApiKey:
    secure: v1:AAAAAAAAAAAAAAAA:BBBBBBBBBBBB
  auth-email-pipeline:clerkSecretKey:
    secure: v1:CCCCCCCCCCCCCCCC:DDDDDDDDDDDD
`;

beforeAll(async () => {
  world = await startDoctorWorld();
  dir = mkdtempSync(join(tmpdir(), "doctor-cli-"));
  writeFileSync(join(dir, "Pulumi.staging.yaml"), STACK_FILE);
  writeFileSync(join(dir, "outputs.json"), JSON.stringify({ bridgeUrl: world.bridge.url, tableName: "t" }));
  env = {
    RESEND_API_KEY: world.sandbox.resend.apiKey,
    RESEND_BASE_URL: world.sandbox.resend.url,
    CLERK_SECRET_KEY: world.sandbox.clerk.secretKey,
    CLERK_API_URL: world.sandbox.clerk.url,
  };
});
afterAll(async () => {
  await world?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[], environment = env): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await runCli(args, { env: environment, cwd: dir, write: (text) => (out += text) });
  return { code, out };
}

const dnsArgs = () => ["--dns-server", world.sandbox.dns.address];

describe("npm run doctor", () => {
  it("reads the stack file, credentials from the environment and bridgeUrl from the outputs file; exits 0 when healthy", async () => {
    const { code, out } = await cli([
      "--stack",
      "staging",
      "--outputs",
      join(dir, "outputs.json"),
      ...dnsArgs(),
      "--json",
    ]);
    const report = JSON.parse(out) as DoctorReport & { ok: boolean };
    expect(report.results.filter((r) => r.status !== "pass")).toEqual([]);
    expect(report).toMatchObject({ stack: "staging", sendingDomain: DOMAIN, ok: true });
    expect(report.results.find((r) => r.check === "bridge.signature")?.status).toBe("pass");
    expect(code).toBe(0);
  });

  it("exits 1 on a failure and prints the fix under it", async () => {
    const down = await closedPortUrl();
    const { code, out } = await cli(["--stack", "staging", "--bridge-url", down, ...dnsArgs()]);
    expect(code).toBe(1);
    expect(out).toContain(
      `  FAIL  ${down}/health did not answer (ECONNREFUSED): the bridge is down\n        fix: `,
    );
    expect(out).toMatch(/\d+ passed, 0 warnings, 2 failed: unhealthy\n$/);
  });

  it("reports stack problems as config failures, naming the key and the fix", async () => {
    const missing = await cli(["--stack", "nope", "--json"]);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out).results[0]).toMatchObject({ check: "config.stack-file", status: "fail" });

    const noKey = await cli(["--stack", "staging"], { ...env, CLERK_SECRET_KEY: "" });
    expect(noKey.code).toBe(1);
    expect(noKey.out).toContain("FAIL  auth-email-pipeline:clerkSecretKey is required");
    expect(noKey.out).toContain("(or export CLERK_SECRET_KEY)");

    const typo = await cli(["--stak", "staging"]);
    expect(typo.code).toBe(2);
    expect(typo.out).toContain("Unknown option '--stak'");

    const badOutputs = await cli(["--stack", "staging", "--outputs", join(dir, "Pulumi.staging.yaml")]);
    expect(badOutputs.out).toContain("is not readable JSON");
  });

  it("runs as a script: --help exits 0", async () => {
    const tsx = join(__dirname, "..", "..", "node_modules", ".bin", "tsx");
    const { stdout } = await promisify(execFile)(tsx, [
      join(__dirname, "..", "..", "src", "doctor", "cli.ts"),
      "--help",
    ]);
    expect(stdout).toContain("--dns-server host:port");
  });
});
