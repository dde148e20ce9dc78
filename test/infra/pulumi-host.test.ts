import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = join(__dirname, "..", "..");

interface HostSummary {
  types: string[];
  providers: { type: string; methods: string[] }[];
  leaked: string[];
  exports: string[];
}

/** The program as `pulumi up` runs it: ts-node from infra/, plain CommonJS, no vitest (types: `npm run typecheck`). */
async function runLikePulumiHost(stackFile: string): Promise<HostSummary> {
  const bundleDir = await mkdtemp(join(tmpdir(), "host-check-"));
  try {
    const { stdout } = await run(
      process.execPath,
      [join(__dirname, "fixtures", "pulumi-host.cjs"), stackFile],
      {
        cwd: ROOT,
        env: { ...process.env, BRIDGE_BUNDLE_DIR: bundleDir },
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return JSON.parse(stdout.trim().split("\n").at(-1)!) as HostSummary;
  } finally {
    await rm(bundleDir, { recursive: true, force: true });
  }
}

describe("the program under Pulumi's own TypeScript path", () => {
  it.each([
    ["Pulumi.dev.yaml", "cloudflare:index/dnsRecord:DnsRecord"],
    ["Pulumi.prod.yaml", "aws:route53/record:Record"],
  ])(
    "%s loads on the ts-node path, registers its resources and serializes its dynamic providers",
    async (stack, dnsType) => {
      const summary = await runLikePulumiHost(join(ROOT, stack));
      expect(summary.types.filter((t) => t === dnsType).length).toBeGreaterThanOrEqual(4);
      expect(summary.types).toContain("aws:lambda/function:Function");
      expect(summary.providers.length).toBeGreaterThanOrEqual(3);
      for (const provider of summary.providers) {
        expect(provider.methods, provider.type).toEqual(expect.arrayContaining(["create", "delete"]));
      }
      expect(summary.leaked).toEqual([]);
      expect(summary.exports).toEqual(expect.arrayContaining(["bridgeUrl", "dnsRecords", "dmarcRecord"]));
    },
    180_000,
  );
});
