import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect, vi } from "vitest";
import type { ResendDnsRecord } from "../../infra/providers/resend-domain";
import { settleAssets as settle } from "../../src/sandbox/local-cloud/aws-resources";
import { asLanguageHost } from "../../src/sandbox/local-cloud/language-host";
import { unwrapSecrets as unwrap } from "../../src/sandbox/local-cloud/serialized-provider";

/**
 * Runs the real program (`infra/index.ts`) under Pulumi's mock engine with a given stack config and records
 * every resource the engine was asked to create, with its exact inputs and when its creation started and
 * ended (to check `dependsOn` ordering).
 */

export const PROJECT = "auth-email-pipeline";
export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";
export const FUNCTION_URL = "https://abc123.lambda-url.us-east-1.on.aws/";

// Secret envelopes and asset settling are shared with the local cloud, which runs the program for real.
export { isSecretEnvelope, unwrapSecrets as unwrap } from "../../src/sandbox/local-cloud/serialized-provider";

export interface MockResource {
  type: string;
  name: string;
  /** Inputs as the engine saw them, secret envelopes included, `__provider` removed. */
  raw: Record<string, unknown>;
  /** The same inputs with secrets unwrapped. */
  inputs: Record<string, unknown>;
  /** Dynamic resources: the serialized provider module, as Pulumi's host would load it. */
  providerText?: string;
  /** Resource options as the engine received them; `dependsOn` by resource name. */
  options: ResourceOptionsSeen;
  started: number;
  finished: number;
}

export interface ResourceOptionsSeen {
  deleteBeforeReplace: boolean;
  replaceOnChanges: string[];
  dependsOn: string[];
}

interface RegisterRequest {
  getName(): string;
  getDeletebeforereplace(): boolean;
  getReplaceonchangesList(): string[];
  getDependenciesList(): string[];
}

/** Wraps the mock monitor to see what `newResource` is not shown: the options the engine would act on. */
function recordOptions(seen: Map<string, ResourceOptionsSeen>): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, callback: unknown): Promise<void>;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    seen.set(req.getName(), {
      deleteBeforeReplace: req.getDeletebeforereplace(),
      replaceOnChanges: req.getReplaceonchangesList(),
      dependsOn: req.getDependenciesList().map((urn) => urn.split("::").at(-1) as string),
    });
    return register(req, callback);
  };
}

/** Every record resource is replaced delete-first when its name or type changes, never updated in place. */
export function expectDeleteFirst(records: MockResource[]): void {
  expect(records.length).toBeGreaterThan(0);
  for (const record of records) {
    expect(record.options, record.name).toMatchObject({
      deleteBeforeReplace: true,
      replaceOnChanges: ["name", "type"],
    });
  }
}

/** Record `later` waits for record `earlier` (beside the domain both take values from) and starts after it. */
export function expectWrittenAfter(run: ProgramRun, later: string, earlier: string): void {
  expect(run.named(later).options.dependsOn.sort()).toEqual(["sending-domain-resend", earlier].sort());
  expect(run.named(earlier).options.dependsOn).toEqual(["sending-domain-resend"]);
  expect(run.named(later).started).toBeGreaterThan(run.named(earlier).finished);
}

export interface ProgramRun {
  resources: MockResource[];
  outputs: Record<string, unknown>;
  secretOutputs: Set<string>;
  named(name: string): MockResource;
  ofType(type: string): MockResource[];
}

/** The classic record set Resend returns for `auth.example.com` in zone `example.com`. */
export function classicResendRecords(label = "auth", returnPath = "send"): ResendDnsRecord[] {
  return [
    {
      record: "SPF",
      name: `${returnPath}.${label}`,
      type: "MX",
      ttl: "Auto",
      status: "not_started",
      value: "feedback-smtp.us-east-1.amazonses.com",
      priority: 10,
    },
    {
      record: "SPF",
      name: `${returnPath}.${label}`,
      type: "TXT",
      ttl: "Auto",
      status: "not_started",
      value: '"v=spf1 include:amazonses.com ~all"',
    },
    {
      record: "DKIM",
      name: `resend._domainkey.${label}`,
      type: "TXT",
      ttl: "Auto",
      status: "not_started",
      value: DKIM,
    },
  ];
}

/** The `dev` stack on Cloudflare with the Clerk endpoint not registered yet, and its secret keys. */
export const DEV_CLOUDFLARE_CONFIG = {
  sendingDomain: "auth.example.com",
  dnsZone: "example.com",
  dnsProvider: "cloudflare",
  fromName: "Example",
  fromAddress: "auth@auth.example.com",
  resendApiKey: "re_test_123",
  clerkSecretKey: "sk_test_123",
  "cloudflare:apiToken": "cf-token",
};
export const DEV_CLOUDFLARE_SECRETS = ["resendApiKey", "clerkSecretKey", "cloudflare:apiToken"];

/** The CNAME-form return path: a CNAME at the return path and one at its `r`-prefixed sibling. */
export function cnameReturnPathRecords(label = "auth", returnPath = "send"): ResendDnsRecord[] {
  const cname = (name: string, value: string): ResendDnsRecord => ({
    record: "SPF",
    name,
    type: "CNAME",
    ttl: "Auto",
    status: "not_started",
    value,
  });
  return [
    cname(`${returnPath}.${label}`, "rp.us-east-1.resend-dns.com"),
    cname(`r${returnPath}.${label}`, "rrp.us-east-1.resend-dns.com"),
  ];
}

/** The `cname` profile: CNAME-form return path, DKIM TXT. */
export function cnameResendRecords(label = "auth", returnPath = "send"): ResendDnsRecord[] {
  return [
    ...cnameReturnPathRecords(label, returnPath),
    ...classicResendRecords(label, returnPath).filter((r) => r.record === "DKIM"),
  ];
}

/** SES Easy DKIM selectors as Resend's CNAME-form DKIM lists them (not in name order). */
export const DKIM_SELECTORS = [
  "qklz5ozk742hhql3vmekdu3pr4f5ggsj",
  "eeaemodxoao5hxwjvhywx4bo5mswjw6v",
  "nu22pfdfqaxdybogtw3ebaokmalv5mxg",
];

/** Three DKIM CNAMEs `<selector>._domainkey` → `<selector>.dkim.amazonses.com.` (trailing dot, as in the SDK). */
export function dkimCnameRecords(label = "auth"): ResendDnsRecord[] {
  return DKIM_SELECTORS.map((selector) => ({
    record: "DKIM",
    name: `${selector}._domainkey.${label}`,
    type: "CNAME",
    ttl: "Auto",
    status: "not_started",
    value: `${selector}.dkim.amazonses.com.`,
  }));
}

/** A 2048-bit DKIM key: 392 characters, longer than one TXT string. */
export const DKIM = `p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA${"x".repeat(340)}IDAQAB`;

export interface RunOptions {
  stack: string;
  /** Keys without the project prefix are prefixed; `provider:key` keys are kept. */
  config: Record<string, string>;
  secretKeys?: string[];
  preview?: boolean;
  domainRecords?: ResendDnsRecord[];
  /** Collects the created resources as they are created, so a failed run shows what it got to. */
  created?: MockResource[];
  /** Milliseconds a resource type's creation takes, to make ordering observable. */
  delays?: Record<string, number>;
  /** The `version` AWS reports for an SSM parameter, by parameter name; 1 when not given. */
  parameterVersions?: Record<string, number>;
}

function fullKey(key: string): string {
  return key.includes(":") ? key : `${PROJECT}:${key}`;
}

function mockState(type: string, name: string, inputs: Record<string, unknown>, options: RunOptions) {
  const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
  const physical = (inputs.name as string | undefined) ?? `${name}-1a2b3c`;
  switch (type) {
    case "pulumi-nodejs:dynamic/resend:Domain":
      // Without records the output stays unknown, as in a preview before the domain exists.
      return {
        domainId: "dom_123",
        status: "not_started",
        ...(options.domainRecords ? { records: options.domainRecords } : {}),
      };
    case "pulumi-nodejs:dynamic/resend:DomainVerification":
      return { status: "verified", verifiedAt: "2026-11-25T10:00:00Z" };
    case "pulumi-nodejs:dynamic/resend:Webhook":
      return { webhookId: "wh_123", signingSecret: "whsec_resend" };
    case "pulumi-nodejs:dynamic/resend:ApiKey":
      return { keyId: "key_123", token: "re_bridge_sending" };
    case "aws:ssm/parameter:Parameter":
      return { name: physical, version: options.parameterVersions?.[physical] ?? 1 };
    case "pulumi-nodejs:dynamic/clerk:WebhookEndpoint":
      return { endpointId: "ep_123", signingSecret: "whsec_clerk" };
    case "pulumi-nodejs:dynamic/clerk:EmailDelivery":
      return { templates: inputs.templates, previous: {} };
    case "aws:lambda/functionUrl:FunctionUrl":
      return { functionUrl: FUNCTION_URL };
    case "aws:sqs/queue:Queue":
      return {
        name: physical,
        arn: arn("sqs", physical),
        url: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${physical}`,
      };
    case "aws:dynamodb/table:Table":
      return { name: physical, arn: arn("dynamodb", `table/${physical}`) };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { name: `/aws/lambda/${physical}`, arn: arn("logs", `log-group:/aws/lambda/${physical}`) };
    case "aws:lambda/function:Function":
      return { name: physical, arn: arn("lambda", `function:${physical}`) };
    case "aws:iam/role:Role":
      return { name: physical, arn: `arn:aws:iam::${ACCOUNT}:role/${physical}` };
    case "aws:sns/topic:Topic":
      return { name: physical, arn: arn("sns", physical) };
    default:
      return { name: physical };
  }
}

/** Where the program writes the bridge bundle in tests: one directory per test file, never `dist/`. */
export function bundleDir(): string {
  process.env.BRIDGE_BUNDLE_DIR ??= mkdtempSync(join(tmpdir(), "bridge-bundle-"));
  return process.env.BRIDGE_BUNDLE_DIR;
}

export async function runProgram(options: RunOptions): Promise<ProgramRun> {
  bundleDir();
  vi.resetModules();
  const config = Object.fromEntries(Object.entries(options.config).map(([k, v]) => [fullKey(k), v]));
  pulumi.runtime.setAllConfig(config, (options.secretKeys ?? []).map(fullKey));
  const resources: MockResource[] = options.created ?? [];
  const seenOptions = new Map<string, ResourceOptionsSeen>();
  let clock = 0;
  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        const started = ++clock;
        const { __provider: providerText, ...rest } = args.inputs as Record<string, unknown>;
        const raw = (await settle(rest)) as Record<string, unknown>;
        const inputs = unwrap(raw) as Record<string, unknown>;
        const delay = options.delays?.[args.type];
        if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
        resources.push({
          type: args.type,
          name: args.name,
          raw,
          inputs,
          started,
          finished: ++clock,
          options: seenOptions.get(args.name) as ResourceOptionsSeen,
          ...(typeof providerText === "string" ? { providerText } : {}),
        });
        const state = { ...inputs, ...mockState(args.type, args.name, inputs, options) };
        return { id: `${args.name}-id`, state };
      },
      call(args) {
        switch (args.token) {
          case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com" };
          case "aws:index/getRegion:getRegion":
            return { region: REGION, name: REGION };
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/ci`, userId: "AIDA" };
          case "cloudflare:index/getZone:getZone":
            return { id: "cf-zone-123", zoneId: "cf-zone-123", name: "example.com" };
          case "aws:route53/getZone:getZone":
            return { zoneId: "Z0123456789", name: "example.com" };
          default:
            throw new Error(`unexpected invoke ${args.token}`);
        }
      },
    },
    PROJECT,
    options.stack,
    options.preview ?? false,
  );
  recordOptions(seenOptions);
  const { outputs, secretOutputs } = await asLanguageHost(async () => {
    const program = (await import("../../infra/index.js")) as Record<string, unknown>;
    const outputs: Record<string, unknown> = {};
    const secretOutputs = new Set<string>();
    for (const [key, value] of Object.entries(program)) {
      // In a preview unknown outputs never resolve; only the registrations are of interest there.
      if (!pulumi.Output.isInstance(value) || options.preview) {
        outputs[key] = value;
        continue;
      }
      outputs[key] = await new Promise((resolve) => value.apply(resolve));
      if (await pulumi.isSecret(value)) secretOutputs.add(key);
    }
    await pulumi.runtime.disconnect();
    return { outputs, secretOutputs };
  });
  return {
    resources,
    outputs,
    secretOutputs,
    named(name) {
      const found = resources.find((r) => r.name === name);
      if (!found)
        throw new Error(`no resource named ${name}; have ${resources.map((r) => r.name).join(", ")}`);
      return found;
    },
    ofType: (type) => resources.filter((r) => r.type === type),
  };
}
