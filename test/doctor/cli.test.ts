import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/doctor/cli";
import { parseValid } from "./schema";
import { closedPortUrl, DLQ_NAME, DOMAIN, type DoctorWorld, STACK_FILE, startDoctorWorld } from "./world";

let world: DoctorWorld;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  world = await startDoctorWorld();
  dir = mkdtempSync(join(tmpdir(), "doctor-cli-"));
  writeFileSync(join(dir, "Pulumi.staging.yaml"), STACK_FILE);
  writeFileSync(
    join(dir, "Pulumi.manual.yaml"),
    STACK_FILE.replace("clerkWebhookMode: portal", "clerkWebhookMode: manual"),
  );
  writeFileSync(
    join(dir, "outputs.json"),
    JSON.stringify({ bridgeUrl: world.bridge.url, tableName: "t", deadLetterQueueName: DLQ_NAME }),
  );
  env = world.cliEnvironment();
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
const outputsArgs = () => ["--outputs", join(dir, "outputs.json")];

describe("npm run doctor", () => {
  it("reads the stack file, credentials from the environment and the outputs file; --json matches the schema", async () => {
    const { code, out } = await cli(["--stack", "staging", ...outputsArgs(), ...dnsArgs(), "--json"]);
    const report = parseValid(out);
    expect(report.results.filter((r) => r.status !== "pass")).toEqual([]);
    expect(report).toMatchObject({
      schemaVersion: 1,
      kind: "report",
      stack: "staging",
      sendingDomain: DOMAIN,
      ok: true,
    });
    expect(report.results.find((r) => r.check === "bridge.dead-letters")?.status).toBe("pass");
    expect(report.results.find((r) => r.check === "clerk.webhook-endpoint")?.status).toBe("pass");
    expect(code).toBe(0);
  });

  it("check ids do not change with the verdict, and failures carry a code", async () => {
    const args = ["--stack", "staging", ...outputsArgs(), ...dnsArgs(), "--json"];
    const healthy = parseValid((await cli(args)).out);
    const spf = `send.${DOMAIN}`;
    const dmarc = `_dmarc.${DOMAIN}`;
    const txt = (name: string) =>
      world.sandbox.dns.records().find((r) => r.name === name && r.type === "TXT")!;
    const [spfBefore, dmarcBefore] = [txt(spf), txt(dmarc)];
    world.sandbox.dns.upsert({ name: spf, type: "TXT", values: ["v=spf1 include:amazonses.com +all"] });
    world.sandbox.dns.upsert({
      name: dmarc,
      type: "TXT",
      values: ["v=DMARC1; p=none; rua=reports@example.com"],
    });
    world.clerkEndpoint.disabled = true;
    const broken = await cli(args).finally(() => {
      world.sandbox.dns.upsert(spfBefore);
      world.sandbox.dns.upsert(dmarcBefore);
      world.clerkEndpoint.disabled = false;
    });
    const report = parseValid(broken.out);
    expect(broken.code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.results.map((r) => r.check)).toEqual(healthy.results.map((r) => r.check));
    expect(report.results.filter((r) => r.status !== "pass").map((r) => [r.check, r.status, r.code])).toEqual(
      [
        ["dns.spf-all", "fail", "pass-all"],
        ["dns.dmarc.rua", "fail", "invalid-uri"],
        ["clerk.webhook-endpoint", "fail", "disabled"],
      ],
    );
  });

  it("manual mode warns that the Clerk endpoint is not checked; without outputs the queue is not counted", async () => {
    const { code, out } = await cli([
      "--stack",
      "manual",
      "--bridge-url",
      world.bridge.url,
      ...dnsArgs(),
      "--json",
    ]);
    const report = parseValid(out);
    expect(report.results.filter((r) => r.status !== "pass").map((r) => [r.check, r.status, r.code])).toEqual(
      [
        ["clerk.webhook-endpoint", "warn", "not-checked"],
        ["bridge.dead-letters", "warn", "not-checked"],
      ],
    );
    expect(code).toBe(0);
  });

  it("exits 1 on a failure and prints the fix under it", async () => {
    const down = await closedPortUrl();
    const { code, out } = await cli([
      "--stack",
      "staging",
      ...outputsArgs(),
      "--bridge-url",
      down,
      ...dnsArgs(),
    ]);
    expect(code).toBe(1);
    expect(out).toContain(
      `  FAIL  ${down}/health did not answer (ECONNREFUSED): the bridge is down\n        fix: `,
    );
    expect(out).toMatch(/\d+ passed, 0 warnings, 3 failed: unhealthy\n$/);
  });

  it("reports stack problems as config failures, naming the key and the fix", async () => {
    const missing = await cli(["--stack", "nope", "--json"]);
    expect(missing.code).toBe(1);
    expect(parseValid(missing.out).results[0]).toMatchObject({ check: "config.stack-file", status: "fail" });

    const noKey = await cli(["--stack", "staging"], { ...env, CLERK_SECRET_KEY: "" });
    expect(noKey.code).toBe(1);
    expect(noKey.out).toContain("FAIL  auth-email-pipeline:clerkSecretKey is required");
    expect(noKey.out).toContain("(or export CLERK_SECRET_KEY)");

    const badOutputs = await cli([
      "--stack",
      "staging",
      "--outputs",
      join(dir, "Pulumi.staging.yaml"),
      "--json",
    ]);
    expect(parseValid(badOutputs.out).results[0]).toMatchObject({
      check: "config.outputs",
      code: "unreadable",
    });
  });

  it("a usage error exits 2, as text with the usage or, under --json, as JSON matching the schema", async () => {
    const typo = await cli(["--stak", "staging"]);
    expect(typo.code).toBe(2);
    expect(typo.out).toContain("Unknown option '--stak'");
    expect(typo.out).toContain("--dns-server host:port");

    const json = await cli(["--stak", "staging", "--json"]);
    expect(json.code).toBe(2);
    expect(parseValid(json.out)).toMatchObject({ kind: "error", error: { code: "usage" } });
    expect(parseValid(json.out).error?.message).toContain("Unknown option '--stak'");

    const timeout = await cli(["--timeout", "soon", "--json"]);
    expect(timeout.code).toBe(2);
    expect(parseValid(timeout.out).error?.message).toBe(
      '--timeout must be a whole number of milliseconds (got "soon")',
    );
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
