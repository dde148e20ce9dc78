import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig, stackConfigValues } from "../../infra/config";
import { type Sandbox, startSandbox } from "../../src/sandbox";
import { LocalCloud } from "../../src/sandbox/local-cloud";
import { PROJECT, readStackFile, SANDBOX_STACK_FILE } from "../../src/sandbox/local-cloud/up";

class Thing extends pulumi.CustomResource {
  declare readonly value: pulumi.Output<string>;
  constructor(
    type: string,
    name: string,
    args: Record<string, unknown>,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(type, name, { value: undefined, ...args }, opts);
  }
}

describe("the local cloud layer", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox?.close());

  async function cloudFor(declare: () => void): Promise<LocalCloud> {
    const cloud = await LocalCloud.create({ sandbox, project: PROJECT, config: {} });
    await pulumi.runtime.setMocks(cloud.mocks, PROJECT, "layer", false);
    declare();
    return cloud;
  }

  it("fails a resource type it cannot create, naming the type, and creates nothing that depends on it", async () => {
    const cloud = await cloudFor(() => {
      const bucket = new Thing("gcp:storage/bucket:Bucket", "assets", {});
      new Thing("aws:iam/role:Role", "after-bucket", { assumeRolePolicy: bucket.value });
    });
    await expect(cloud.failed).rejects.toThrow(
      /cannot create resources of type gcp:storage\/bucket:Bucket \(assets\)/,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(cloud.log.map((r) => r.name)).not.toContain("after-bucket");
    await cloud.close();
  });

  it("answers a zone lookup only for a zone the DNS stand-in serves", async () => {
    const cloud = await cloudFor(() => undefined);
    const call = cloud.mocks.call.bind(cloud.mocks);
    const known = (await call({ token: "aws:route53/getZone:getZone", inputs: { name: "example.com" } })) as {
      zoneId: string;
    };
    expect(known.zoneId).toMatch(/^Z[0-9A-F]{20}$/);
    void call({ token: "cloudflare:index/getZone:getZone", inputs: { filter: { name: "example.org" } } });
    await expect(cloud.failed).rejects.toThrow(/no zone named "example.org".*serves example\.com/);
    await cloud.close();
  });

  it("publishes a record only into a zone looked up by its id, in that provider's encoding", async () => {
    const cloud = await cloudFor(() => undefined);
    const zoneId = (
      (await cloud.mocks.call({ token: "aws:route53/getZone:getZone", inputs: { name: "example.com" } })) as {
        zoneId: string;
      }
    ).zoneId;
    const result = await cloud.mocks.newResource({
      type: "aws:route53/record:Record",
      name: "spf",
      custom: true,
      inputs: { zoneId, name: "send.layer.example.com", type: "TXT", ttl: 300, records: ["v=spf1 -all"] },
    });
    expect(result.state.fqdn).toBe("send.layer.example.com");
    expect(sandbox.dns.records().find((r) => r.name === "send.layer.example.com")?.values).toEqual([
      ["v=spf1 -all"],
    ]);
    expect(cloud.log.map((r) => [r.kind, r.name])).toEqual([["dns", "spf"]]);
    // An unsplit 2048-bit DKIM value is refused as Route53 refuses it, and nothing is served.
    void cloud.mocks.newResource({
      type: "aws:route53/record:Record",
      name: "dkim",
      custom: true,
      inputs: {
        zoneId,
        name: "resend._domainkey.layer",
        type: "TXT",
        ttl: 300,
        records: [`p=${"B".repeat(390)}`],
      },
    });
    await expect(cloud.failed).rejects.toThrow(/dkim failed: .*CharacterStringTooLong/);
    expect(sandbox.dns.records().some((r) => r.name === "resend._domainkey.layer.example.com")).toBe(false);
    await cloud.close();
  });
});

describe("a later deployment into the same local cloud", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox?.close());

  it("leaves an unchanged resource alone, updates a parameter in place, refuses what AWS would replace", async () => {
    const cloud = await LocalCloud.create({ sandbox, project: PROJECT, config: {} });
    const parameter = (inputs: Record<string, unknown>) =>
      cloud.mocks.newResource({ type: "aws:ssm/parameter:Parameter", name: "key", custom: true, inputs });
    const inputs = { name: "/layer/key", type: "SecureString", value: "re_first" };
    const created = await parameter(inputs);
    expect(created.state.version).toBe(1);
    expect(await parameter(inputs)).toEqual(created);
    expect(cloud.log).toHaveLength(1);

    const updated = await parameter({ ...inputs, value: "re_second" });
    expect(updated.state.version).toBe(2);
    expect(cloud.log.map((r) => [r.name, r.operation])).toEqual([
      ["key", "create"],
      ["key", "update"],
    ]);
    expect(sandbox.aws.ssm.parameters().find((p) => p.name === "/layer/key")?.version).toBe(2);

    void parameter({ ...inputs, name: "/layer/renamed", value: "re_second" });
    await expect(cloud.failed).rejects.toThrow(
      /cannot change name of aws:ssm\/parameter:Parameter key in a later deployment/,
    );
    await cloud.close();
  });
});

describe("the sandbox stack file", () => {
  it("is a config the program's schema accepts: Cloudflare, portal mode, a short verification poll", () => {
    const parsed = parseStackConfig({
      values: stackConfigValues(readStackFile(SANDBOX_STACK_FILE)),
      isSecret: () => false,
      env: { RESEND_API_KEY: "re_sandbox", CLERK_SECRET_KEY: "sk_test_sandbox" },
    });
    expect(parsed).toMatchObject({
      dnsProvider: "cloudflare",
      dnsZone: "example.com",
      sendingDomain: "mail.example.com",
      clerkWebhookMode: "portal",
      verificationPollSeconds: 1,
    });
    expect(parsed.templates).toEqual(["verification_code", "reset_password_code"]);
  });

  it("refuses encrypted values instead of passing ciphertext to the program", async () => {
    const dir = await mkdtemp(join(tmpdir(), "stack-file-"));
    const file = join(dir, "Pulumi.x.yaml");
    await writeFile(file, "config:\n  auth-email-pipeline:resendApiKey:\n    secure: v1:abc\n");
    try {
      expect(() => readStackFile(file)).toThrow(/resendApiKey is encrypted/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
