import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../src/sandbox";
import { sandboxClientConfig } from "../../src/sandbox/aws/env";
import type { ControlEvent } from "../../src/sandbox/engine/control-server";
import {
  type LocalCloudForEngine,
  startLocalCloudForEngine,
} from "../../src/sandbox/engine/local-cloud-engine";
import { PulumiWorkspace, type StackExport } from "../../src/sandbox/engine/pulumi-cli";
import { describeWithEngine } from "../support/pulumi-engine";

const ROOT = join(__dirname, "..", "..");

// Resources of both packages, looked up and created through the local providers the engine attaches to.
const PROGRAM = `import * as aws from "@pulumi/aws";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const zoneId = cloudflare.getZoneOutput({ filter: { name: "example.com" } }).id;
const verification = { zoneId, name: "verify.example.com", type: "TXT", ttl: 300, content: config.require("content") };
new cloudflare.DnsRecord("verification", verification);
if (config.getBoolean("duplicate")) new cloudflare.DnsRecord("verification-again", verification);
// As the program's DNS records: another name or type replaces the record, the old one deleted first.
new cloudflare.DnsRecord(
  "return-path",
  { zoneId, name: config.require("returnPath"), type: "TXT", ttl: 300, content: '"v=spf1 -all"' },
  { deleteBeforeReplace: true, replaceOnChanges: ["name", "type"] },
);

const hostedZone = aws.route53.getZoneOutput({ name: "example.com", privateZone: false });
new aws.route53.Record("dkim", {
  zoneId: hostedZone.zoneId,
  name: config.require("dkimName"),
  type: "TXT",
  ttl: 300,
  records: ["p=engine-test-key"],
});
const queue = new aws.sqs.Queue("jobs", { visibilityTimeoutSeconds: config.requireNumber("visibility") });
export const queueUrl = queue.url;
`;

describeWithEngine("the local aws and cloudflare providers under the real engine", (toolsBin) => {
  let sandbox: Sandbox;
  let cloud: LocalCloudForEngine;
  let pulumi: PulumiWorkspace;
  let work: string;
  const events: ControlEvent[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox();
    cloud = await startLocalCloudForEngine({ sandbox, onEvent: (e) => events.push(e) });
    work = await mkdtemp(join(tmpdir(), "engine-providers-"));
    await writeFile(join(work, "Pulumi.yaml"), "name: engine-providers\nruntime: nodejs\nmain: index.ts\n");
    await writeFile(join(work, "index.ts"), PROGRAM);
    await writeFile(
      join(work, "package.json"),
      JSON.stringify({ name: "engine-providers", main: "index.ts" }),
    );
    await symlink(join(ROOT, "node_modules"), join(work, "node_modules"));
    pulumi = await PulumiWorkspace.create({
      toolsBin,
      projectDir: work,
      passphrase: "providers-test",
      // The program is type-checked by `npm run typecheck`; ts-node only transpiles it here.
      env: { ...cloud.env, PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
    });
    await pulumi.run(["stack", "init", "providers"]);
    for (const [key, value] of [
      ["content", '"site-verification=one"'],
      ["dkimName", "resend._domainkey.example.com"],
      ["visibility", "30"],
      ["returnPath", "send.example.com"],
    ] as const) {
      await pulumi.run(["config", "set", key, value]);
    }
  }, 120_000);

  afterAll(async () => {
    await pulumi?.dispose();
    await cloud?.close();
    await sandbox?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const served = (name: string) =>
    sandbox.dns.records().find((r) => r.name === name && r.type === "TXT")?.values;
  const idOf = (state: StackExport, type: string, name: string) =>
    state.deployment.resources?.find((r) => r.type === type && r.urn.endsWith(`::${name}`))?.id;
  const visibilityOf = async (queueUrl: string) => {
    const sqs = new SQSClient(sandboxClientConfig(sandbox.aws.sqs.endpoint));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["VisibilityTimeout"] }),
    );
    sqs.destroy();
    return Attributes?.VisibilityTimeout;
  };

  it("creates, updates in place or replaces as the real providers would, refuses a duplicate, destroys", async () => {
    await pulumi.run(["up", "--yes"]);
    expect(served("verify.example.com")).toEqual(["site-verification=one"]);
    expect(served("resend._domainkey.example.com")).toEqual([["p=engine-test-key"]]);
    const first = await pulumi.exportStack();
    const queueUrl = idOf(first, "aws:sqs/queue:Queue", "jobs")!;
    // Auto-named as Pulumi names it: the logical name and a random suffix.
    expect(queueUrl).toMatch(/\/jobs-[0-9a-f]{7}$/);
    expect(await visibilityOf(queueUrl)).toBe("30");
    await pulumi.run(["preview", "--expect-no-changes"]);

    // Record content and queue attributes change in place; a Route53 record under another name is another set,
    // and so is a Cloudflare record whose name is in its replaceOnChanges (the provider reports the key).
    await pulumi.run(["config", "set", "content", '"site-verification=two"']);
    await pulumi.run(["config", "set", "returnPath", "bounces.example.com"]);
    await pulumi.run(["config", "set", "visibility", "60"]);
    await pulumi.run(["config", "set", "dkimName", "resend2._domainkey.example.com"]);
    const plan = await pulumi.run(["preview", "--diff"]);
    expect(plan.stdout).toMatch(/~ cloudflare:index\/dnsRecord:DnsRecord: \(update\)/);
    expect(plan.stdout).toMatch(/~ aws:sqs\/queue:Queue: \(update\)/);
    expect(plan.stdout).toMatch(/\+-aws:route53\/record:Record: \(replace\)/);
    expect(plan.stdout).toMatch(/\+-cloudflare:index\/dnsRecord:DnsRecord: \(replace\)/);
    await pulumi.run(["up", "--yes"]);
    const second = await pulumi.exportStack();
    expect(idOf(second, "cloudflare:index/dnsRecord:DnsRecord", "verification")).toBe(
      idOf(first, "cloudflare:index/dnsRecord:DnsRecord", "verification"),
    );
    expect(served("verify.example.com")).toEqual(["site-verification=two"]);
    expect(idOf(second, "aws:sqs/queue:Queue", "jobs")).toBe(queueUrl);
    expect(await visibilityOf(queueUrl)).toBe("60");
    expect(idOf(second, "aws:route53/record:Record", "dkim")).not.toBe(
      idOf(first, "aws:route53/record:Record", "dkim"),
    );
    expect(served("resend2._domainkey.example.com")).toEqual([["p=engine-test-key"]]);
    expect(served("resend._domainkey.example.com")).toBeUndefined();
    expect(idOf(second, "cloudflare:index/dnsRecord:DnsRecord", "return-path")).not.toBe(
      idOf(first, "cloudflare:index/dnsRecord:DnsRecord", "return-path"),
    );
    expect(served("bounces.example.com")).toEqual(["v=spf1 -all"]);
    expect(served("send.example.com")).toBeUndefined();

    // Cloudflare refuses a second identical record; the update fails and the first record stays.
    await pulumi.run(["config", "set", "duplicate", "true"]);
    await expect(pulumi.run(["up", "--yes"])).rejects.toThrow(/81058: An identical record already exists/);
    expect(served("verify.example.com")).toEqual(["site-verification=two"]);
    expect(
      idOf(await pulumi.exportStack(), "cloudflare:index/dnsRecord:DnsRecord", "verification-again"),
    ).toBe(undefined);

    await pulumi.run(["destroy", "--yes"]);
    expect(served("verify.example.com")).toBeUndefined();
    expect(served("resend2._domainkey.example.com")).toBeUndefined();
    await expect(visibilityOf(queueUrl)).rejects.toThrow();
    expect(events.filter((e) => e.op === "delete").map((e) => e.type)).toEqual(
      expect.arrayContaining([
        "cloudflare:index/dnsRecord:DnsRecord",
        "aws:route53/record:Record",
        "aws:sqs/queue:Queue",
      ]),
    );
  }, 600_000);
});
