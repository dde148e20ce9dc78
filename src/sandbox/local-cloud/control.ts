import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SANDBOX_ACCOUNT_ID, SANDBOX_REGION } from "../aws/env";
import type { Sandbox } from "../index";
import { LocalAwsResources, type Realized } from "./aws-resources";
import { DnsPublisher } from "./dns-publisher";
import { recordedResource } from "./recorded";

/** How a resource was made real. */
export type RealizationKind = "dynamic" | "dns" | "aws" | "recorded";

type Inputs = Record<string, unknown>;

/** A resource type the local cloud does not serve; the message says where to add it. */
export class UnsupportedResourceError extends Error {
  override name = "UnsupportedResourceError";
}

const AWS_INVOKES: Record<string, () => Record<string, unknown>> = {
  "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" }),
  "aws:index/getRegion:getRegion": () => ({
    region: SANDBOX_REGION,
    name: SANDBOX_REGION,
    id: SANDBOX_REGION,
  }),
  "aws:index/getCallerIdentity:getCallerIdentity": () => ({
    accountId: SANDBOX_ACCOUNT_ID,
    arn: `arn:aws:iam::${SANDBOX_ACCOUNT_ID}:user/sandbox`,
    userId: "AIDASANDBOX",
    id: SANDBOX_ACCOUNT_ID,
  }),
};

const DNS_TYPES: Record<string, "cloudflare" | "route53"> = {
  "cloudflare:index/dnsRecord:DnsRecord": "cloudflare",
  "aws:route53/record:Record": "route53",
};

export interface LocalCloudControlOptions {
  sandbox: Sandbox;
  onFunctionLog?: (functionName: string, line: string) => void;
}

/**
 * The local cloud's control plane: creates, updates, reads and deletes the Cloudflare and AWS resources the
 * program declares on the sandbox's stand-ins, and answers the provider functions (`getZone`, the AWS
 * account lookups). Both ways of running the program use it: the mock engine (`LocalCloud`) and the real
 * engine, whose `aws` and `cloudflare` providers (src/sandbox/engine) call it. Inputs are plain values,
 * secrets unwrapped and assets settled; a resource is named by its type, logical name and id.
 */
export class LocalCloudControl {
  readonly dns: DnsPublisher;
  readonly aws: LocalAwsResources;
  /** The recorded (not enforced) resources that exist, by type and id, for reads and deletes. */
  private readonly recorded = new Map<string, Realized>();

  private constructor(
    readonly sandbox: Sandbox,
    private readonly workDir: string,
    onFunctionLog: LocalCloudControlOptions["onFunctionLog"],
  ) {
    this.dns = new DnsPublisher(sandbox.dns);
    this.aws = new LocalAwsResources({
      aws: sandbox.aws,
      workDir,
      functionNetwork: {
        ...sandbox.aws.environment,
        // The vendors' stand-ins play the internet for the functions.
        RESEND_BASE_URL: sandbox.resend.url,
        BRIDGE_CLERK_API_URL: sandbox.clerk.url,
      },
      onFunctionLog,
    });
  }

  static async create(options: LocalCloudControlOptions): Promise<LocalCloudControl> {
    const workDir = await mkdtemp(join(tmpdir(), "local-cloud-"));
    return new LocalCloudControl(options.sandbox, workDir, options.onFunctionLog);
  }

  async create(
    type: string,
    name: string,
    inputs: Inputs,
  ): Promise<{ kind: RealizationKind; realized: Realized }> {
    const provider = DNS_TYPES[type];
    if (provider) {
      const { id, record } = this.dns.create(provider, inputs);
      return { kind: "dns", realized: { id, state: { fqdn: record.name } } };
    }
    switch (type) {
      case "aws:dynamodb/table:Table":
        return { kind: "aws", realized: await this.aws.table(name, inputs) };
      case "aws:sqs/queue:Queue":
        return { kind: "aws", realized: this.aws.queue(name, inputs) };
      case "aws:ssm/parameter:Parameter":
        return { kind: "aws", realized: this.aws.parameter(name, inputs) };
      case "aws:lambda/function:Function":
        return { kind: "aws", realized: await this.aws.lambdaFunction(name, inputs) };
      case "aws:lambda/functionUrl:FunctionUrl":
        return { kind: "aws", realized: await this.aws.functionUrl(inputs) };
      case "aws:lambda/eventSourceMapping:EventSourceMapping":
        return { kind: "aws", realized: await this.aws.eventSourceMapping(name, inputs) };
    }
    const recorded = recordedResource(type, name, inputs);
    if (recorded) {
      this.recorded.set(`${type}|${recorded.id}`, recorded);
      return { kind: "recorded", realized: recorded };
    }
    throw new UnsupportedResourceError(
      `the local cloud cannot create resources of type ${type} (${name}); add it to src/sandbox/local-cloud`,
    );
  }

  /** Changes a resource in place (the provider decided no replacement is needed); same id. */
  async update(type: string, name: string, id: string, inputs: Inputs): Promise<Realized> {
    const provider = DNS_TYPES[type];
    if (provider) {
      const record = this.dns.update(provider, id, inputs);
      return { id, state: { fqdn: record.name } };
    }
    switch (type) {
      case "aws:sqs/queue:Queue":
        return this.aws.updateQueue(id, inputs);
      case "aws:ssm/parameter:Parameter":
        return this.aws.parameter(name, inputs);
      case "aws:lambda/function:Function":
        return this.aws.updateFunction(id, inputs);
      case "aws:lambda/functionUrl:FunctionUrl":
        return this.aws.updateFunctionUrl(id, inputs);
      case "aws:lambda/eventSourceMapping:EventSourceMapping":
        return this.aws.updateEventSourceMapping(id, name, inputs);
      case "aws:dynamodb/table:Table":
        // Billing mode, TTL and point-in-time recovery are kept in state only (docs/sandbox.md).
        return {
          id,
          state: { name: id, arn: `arn:aws:dynamodb:${SANDBOX_REGION}:${SANDBOX_ACCOUNT_ID}:table/${id}` },
        };
    }
    const recorded = recordedResource(type, name, inputs);
    if (!recorded) throw new UnsupportedResourceError(`the local cloud cannot update ${type} (${name})`);
    const updated = { id, state: recorded.state };
    this.recorded.set(`${type}|${id}`, updated);
    return updated;
  }

  async delete(type: string, id: string): Promise<void> {
    if (DNS_TYPES[type]) return this.dns.delete(id);
    switch (type) {
      case "aws:dynamodb/table:Table":
        return this.aws.deleteTable(id);
      case "aws:sqs/queue:Queue":
        return this.aws.deleteQueue(id);
      case "aws:ssm/parameter:Parameter":
        return this.aws.deleteParameter(id);
      case "aws:lambda/function:Function":
        return this.aws.deleteFunction(id);
      case "aws:lambda/functionUrl:FunctionUrl":
        return this.aws.deleteFunctionUrl(id);
      case "aws:lambda/eventSourceMapping:EventSourceMapping":
        return this.aws.deleteEventSourceMapping(id);
    }
    this.recorded.delete(`${type}|${id}`);
  }

  /** Whether a resource still exists (a refresh): a deleted one reads as gone. */
  async exists(type: string, id: string): Promise<boolean> {
    if (DNS_TYPES[type]) return this.dns.exists(id);
    switch (type) {
      case "aws:dynamodb/table:Table":
        return this.aws.tableExists(id);
      case "aws:sqs/queue:Queue":
        try {
          return this.sandbox.aws.sqs.queueUrl(id.split("/").at(-1) ?? "") === id;
        } catch {
          return false;
        }
      case "aws:ssm/parameter:Parameter":
        return this.sandbox.aws.ssm.parameters().some((p) => p.name === id);
      case "aws:lambda/function:Function":
        return this.aws.lambdas.has(id);
      case "aws:lambda/functionUrl:FunctionUrl":
        return this.aws.functionUrls.has(id);
      case "aws:lambda/eventSourceMapping:EventSourceMapping":
        return this.aws.eventSources.has(id);
    }
    return this.recorded.has(`${type}|${id}`);
  }

  /** A provider function (data source): zone lookups and the AWS account, region and partition. */
  invoke(token: string, inputs: Inputs): Record<string, unknown> {
    switch (token) {
      case "cloudflare:index/getZone:getZone": {
        const filter = (inputs.filter ?? {}) as { name?: string };
        const id = inputs.zoneId ? String(inputs.zoneId) : this.dns.zoneId("cloudflare", filter.name);
        return { id, zoneId: id, name: filter.name, status: "active" };
      }
      case "aws:route53/getZone:getZone": {
        const zoneId = this.dns.zoneId("route53", inputs.name);
        return { id: zoneId, zoneId, name: inputs.name, privateZone: false };
      }
    }
    const answer = AWS_INVOKES[token];
    if (answer) return answer();
    throw new UnsupportedResourceError(
      `the local cloud cannot answer the invoke ${token}; add it to src/sandbox/local-cloud`,
    );
  }

  async close(): Promise<void> {
    await this.aws.close();
    await rm(this.workDir, { recursive: true, force: true });
  }
}
