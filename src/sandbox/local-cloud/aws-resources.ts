import { createHash } from "node:crypto";
import { copyFile, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type KeySchemaElement,
} from "@aws-sdk/client-dynamodb";
import { DeleteQueueCommand, SetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DeleteParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { LocalAws } from "../aws";
import { SANDBOX_ACCOUNT_ID, SANDBOX_REGION, sandboxClientConfig } from "../aws/env";
import {
  type FunctionUrl,
  type LocalLambda,
  type LocalLambdaOptions,
  type SqsEventSource,
  startFunctionUrl,
  startLocalLambda,
  startSqsEventSource,
} from "../aws/lambda";

/** What a realized resource reports back to the engine: its id and output state. */
export interface Realized {
  id: string;
  state: Record<string, unknown>;
}

type Inputs = Record<string, unknown>;

/** An ARN in the sandbox's region and account, as AWS would give the resource. */
export const regionalArn = (service: string, resource: string) =>
  `arn:aws:${service}:${SANDBOX_REGION}:${SANDBOX_ACCOUNT_ID}:${resource}`;

/** Pulumi's auto-name: the logical name plus a suffix; derived from the name so reruns give the same one. */
export function physicalName(logicalName: string, given: unknown): string {
  if (typeof given === "string" && given !== "") return given;
  return `${logicalName}-${createHash("sha256").update(logicalName).digest("hex").slice(0, 7)}`;
}

/** Assets and archives arrive with promise-valued fields (`path`, `assets`); awaits them into plain data. */
export async function settleAssets(value: unknown): Promise<unknown> {
  const resolved = await value;
  if (Array.isArray(resolved)) return Promise.all(resolved.map(settleAssets));
  if (resolved && typeof resolved === "object") {
    const entries = await Promise.all(
      Object.entries(resolved).map(async ([k, v]) => [k, await settleAssets(v)] as const),
    );
    return Object.fromEntries(entries);
  }
  return resolved;
}

export interface LocalAwsResourceOptions {
  aws: LocalAws;
  /** Environment every function gets from the sandbox: region, credentials and the stand-ins' endpoints. */
  functionNetwork: Record<string, string>;
  /** Where function code archives are unpacked. */
  workDir: string;
  /** Receives each line a function logs. */
  onFunctionLog?: (functionName: string, line: string) => void;
}

/**
 * The AWS resources the bridge needs, made real on the local stand-ins: DynamoDB tables, SQS queues with
 * their redrive policy, SSM parameters, Lambda functions running their code archive, Function URLs and
 * SQS event source mappings, each created, updated in place and deleted as AWS would. Names, ARNs and URLs
 * are the ones the stand-ins answer to, so what the program wires from one resource's outputs into
 * another's inputs reaches the real thing. Inputs arrive settled (no promise-valued asset fields) and with
 * secrets unwrapped.
 */
export class LocalAwsResources {
  readonly lambdas = new Map<string, LocalLambda>();
  readonly functionUrls = new Map<string, FunctionUrl>();
  readonly eventSources = new Map<string, SqsEventSource>();
  /** Where each function's code archive was unpacked: what the function runs. */
  readonly codeDirectories = new Map<string, string>();
  private readonly dynamo: DynamoDBClient;
  private readonly sqs: SQSClient;
  private readonly ssm: SSMClient;
  /** Code versions per function, so an update unpacks next to (not over) the code still running. */
  private readonly codeVersions = new Map<string, number>();
  /** What each function's code was last unpacked from, so a configuration-only update keeps its code. */
  private readonly codeArchives = new Map<string, string>();
  private closed = false;

  constructor(private readonly options: LocalAwsResourceOptions) {
    this.dynamo = new DynamoDBClient(sandboxClientConfig(options.aws.dynamodb.endpoint));
    this.sqs = new SQSClient(sandboxClientConfig(options.aws.sqs.endpoint));
    this.ssm = new SSMClient(sandboxClientConfig(options.aws.ssm.endpoint));
  }

  async table(name: string, inputs: Inputs): Promise<Realized> {
    const tableName = physicalName(name, inputs.name);
    const attributes = (inputs.attributes as { name: string; type: string }[] | undefined) ?? [];
    const keySchema: KeySchemaElement[] = [{ AttributeName: String(inputs.hashKey), KeyType: "HASH" }];
    if (inputs.rangeKey) keySchema.push({ AttributeName: String(inputs.rangeKey), KeyType: "RANGE" });
    const onDemand = (inputs.billingMode ?? "PROVISIONED") === "PAY_PER_REQUEST";
    await this.dynamo.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: attributes.map((a) => ({
          AttributeName: a.name,
          AttributeType: a.type as "S" | "N" | "B",
        })),
        KeySchema: keySchema,
        BillingMode: onDemand ? "PAY_PER_REQUEST" : "PROVISIONED",
        ...(onDemand
          ? {}
          : {
              ProvisionedThroughput: {
                ReadCapacityUnits: Number(inputs.readCapacity ?? 1),
                WriteCapacityUnits: Number(inputs.writeCapacity ?? 1),
              },
            }),
      }),
    );
    const tableArn = regionalArn("dynamodb", `table/${tableName}`);
    return { id: tableName, state: { name: tableName, arn: tableArn } };
  }

  async tableExists(id: string): Promise<boolean> {
    return this.dynamo.send(new DescribeTableCommand({ TableName: id })).then(
      () => true,
      (err: Error) => {
        if (err.name === "ResourceNotFoundException") return false;
        throw err;
      },
    );
  }

  async deleteTable(id: string): Promise<void> {
    await this.dynamo.send(new DeleteTableCommand({ TableName: id }));
  }

  queue(name: string, inputs: Inputs): Realized {
    const queueName = physicalName(name, inputs.name);
    const url = this.options.aws.sqs.createQueue(queueName, queueAttributes(inputs));
    return { id: url, state: { name: queueName, url, arn: this.options.aws.sqs.queueArn(queueName) } };
  }

  /** SetQueueAttributes; the queue is the one the id (its URL) names. */
  async updateQueue(id: string, inputs: Inputs): Promise<Realized> {
    await this.sqs.send(new SetQueueAttributesCommand({ QueueUrl: id, Attributes: queueAttributes(inputs) }));
    const queueName = id.split("/").at(-1) ?? "";
    return { id, state: { name: queueName, url: id, arn: this.options.aws.sqs.queueArn(queueName) } };
  }

  async deleteQueue(id: string): Promise<void> {
    await this.sqs.send(new DeleteQueueCommand({ QueueUrl: id }));
  }

  parameter(name: string, inputs: Inputs): Realized {
    const parameterName = physicalName(name, inputs.name);
    const type = String(inputs.type ?? "String") as "String" | "StringList" | "SecureString";
    const value = inputs.value ?? inputs.insecureValue;
    if (typeof value !== "string") {
      throw new Error(`aws.ssm.Parameter ${parameterName}: value must be a string`);
    }
    const version = this.options.aws.ssm.putParameter(parameterName, value, type);
    return {
      id: parameterName,
      state: { name: parameterName, arn: regionalArn("ssm", `parameter${parameterName}`), version },
    };
  }

  async deleteParameter(id: string): Promise<void> {
    await this.ssm.send(new DeleteParameterCommand({ Name: id }));
  }

  async lambdaFunction(name: string, inputs: Inputs): Promise<Realized> {
    const functionName = physicalName(name, inputs.name);
    const { dir, ...code } = await this.unpackCode(functionName, inputs);
    this.codeUnpacked(functionName, dir, inputs);
    const lambda = await startLocalLambda({
      name: functionName,
      ...code,
      ...functionSettings(inputs),
      awsEnvironment: this.options.functionNetwork,
      onLog: (line) => this.options.onFunctionLog?.(functionName, line),
    });
    await this.unlessClosed(() => lambda.close());
    this.lambdas.set(functionName, lambda);
    return functionRealized(lambda);
  }

  /**
   * UpdateFunctionCode (when the code archive changed) and UpdateFunctionConfiguration: warm environments
   * retire, and the URL and event sources keep invoking the same function. A refused update keeps the
   * function running the code and settings it had.
   */
  async updateFunction(id: string, inputs: Inputs): Promise<Realized> {
    const lambda = this.lambdaNamed(id, "aws.lambda.Function update");
    if (this.codeArchives.get(id) === codeFingerprint(inputs)) {
      await lambda.update(functionSettings(inputs));
      return functionRealized(lambda);
    }
    const { dir, ...code } = await this.unpackCode(id, inputs);
    try {
      await lambda.update({ ...code, ...functionSettings(inputs) });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    const previous = this.codeDirectories.get(id);
    this.codeUnpacked(id, dir, inputs);
    // Invocations still running on the old code loaded it at cold start; the files are no longer read.
    if (previous) await rm(previous, { recursive: true, force: true });
    return functionRealized(lambda);
  }

  async deleteFunction(id: string): Promise<void> {
    const lambda = this.lambdaNamed(id, "aws.lambda.Function delete");
    this.lambdas.delete(id);
    await lambda.close();
    const dir = this.codeDirectories.get(id);
    this.codeDirectories.delete(id);
    this.codeArchives.delete(id);
    if (dir) await rm(dir, { recursive: true, force: true });
  }

  /** The function's code archive unpacked into a fresh folder: the bundle file its handler names. */
  private async unpackCode(
    functionName: string,
    inputs: Inputs,
  ): Promise<{ dir: string; bundleFile: string; handler: string }> {
    const runtime = String(inputs.runtime ?? "");
    if (!runtime.startsWith("nodejs")) {
      throw new Error(
        `aws.lambda.Function ${functionName}: runtime "${runtime}" is not run locally; use nodejs24.x`,
      );
    }
    const handler = String(inputs.handler ?? "");
    const version = (this.codeVersions.get(functionName) ?? 0) + 1;
    this.codeVersions.set(functionName, version);
    const dir = join(this.options.workDir, version === 1 ? functionName : `${functionName}@${version}`);
    await unpackArchive(functionName, inputs.code, dir);
    const fileStem = handler.split(".")[0] ?? "";
    const entries = await readdir(dir);
    const bundle = entries.find((f) => [".mjs", ".js", ".cjs"].some((ext) => f === `${fileStem}${ext}`));
    if (!bundle) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(
        `aws.lambda.Function ${functionName}: handler "${handler}" needs ${fileStem}.mjs (or .js/.cjs) in the code archive, which holds ${entries.join(", ") || "nothing"}`,
      );
    }
    return { dir, bundleFile: join(dir, bundle), handler };
  }

  /** Records where a function's code now lives and which archive it came from. */
  private codeUnpacked(functionName: string, dir: string, inputs: Inputs): void {
    this.codeDirectories.set(functionName, dir);
    this.codeArchives.set(functionName, codeFingerprint(inputs));
  }

  async functionUrl(inputs: Inputs): Promise<Realized> {
    const lambda = this.lambdaNamed(inputs.functionName, "aws.lambda.FunctionUrl");
    checkUrlAuthorization(lambda.name, inputs);
    const url = await startFunctionUrl(lambda);
    await this.unlessClosed(() => url.close());
    this.functionUrls.set(lambda.name, url);
    return functionUrlRealized(lambda, url);
  }

  /** UpdateFunctionUrlConfig (auth type, invoke mode): the URL stays the same. */
  updateFunctionUrl(id: string, inputs: Inputs): Realized {
    const lambda = this.lambdaNamed(id, "aws.lambda.FunctionUrl update");
    checkUrlAuthorization(id, inputs);
    const url = this.functionUrls.get(id);
    if (!url) throw new Error(`aws.lambda.FunctionUrl ${id}: the function has no URL`);
    return functionUrlRealized(lambda, url);
  }

  async deleteFunctionUrl(id: string): Promise<void> {
    const url = this.functionUrls.get(id);
    this.functionUrls.delete(id);
    await url?.close();
  }

  async eventSourceMapping(name: string, inputs: Inputs): Promise<Realized> {
    const uuid = createHash("sha256").update(name).digest("hex");
    const id = `${uuid.slice(0, 8)}-${uuid.slice(8, 12)}-${uuid.slice(12, 16)}-${uuid.slice(16, 20)}-${uuid.slice(20, 32)}`;
    return this.startEventSource(id, name, inputs);
  }

  /** UpdateEventSourceMapping (function, batch size, scaling): polling restarts with the new settings. */
  async updateEventSourceMapping(id: string, name: string, inputs: Inputs): Promise<Realized> {
    await this.deleteEventSourceMapping(id);
    return this.startEventSource(id, name, inputs);
  }

  async deleteEventSourceMapping(id: string): Promise<void> {
    const source = this.eventSources.get(id);
    this.eventSources.delete(id);
    await source?.stop();
  }

  private async startEventSource(id: string, name: string, inputs: Inputs): Promise<Realized> {
    const lambda = this.lambdaNamed(inputs.functionName, "aws.lambda.EventSourceMapping");
    const sourceArn = String(inputs.eventSourceArn ?? "");
    const queueName = sourceArn.split(":").at(-1) ?? "";
    if (!sourceArn.startsWith("arn:aws:sqs:") || this.options.aws.sqs.queueArn(queueName) !== sourceArn) {
      throw new Error(
        `aws.lambda.EventSourceMapping ${name}: eventSourceArn ${JSON.stringify(sourceArn)} is not a queue of the local SQS`,
      );
    }
    const responseTypes = (inputs.functionResponseTypes as string[] | undefined) ?? [];
    const scaling = inputs.scalingConfig as { maximumConcurrency?: number } | undefined;
    const source = await startSqsEventSource({
      queueUrl: this.options.aws.sqs.queueUrl(queueName),
      lambda,
      batchSize: inputs.batchSize === undefined ? undefined : Number(inputs.batchSize),
      maximumBatchingWindowInSeconds:
        inputs.maximumBatchingWindowInSeconds === undefined
          ? undefined
          : Number(inputs.maximumBatchingWindowInSeconds),
      timeScale: this.options.aws.timeScale,
      maximumConcurrency: scaling?.maximumConcurrency,
      reportBatchItemFailures: responseTypes.includes("ReportBatchItemFailures"),
    });
    await this.unlessClosed(() => source.stop());
    this.eventSources.set(id, source);
    return { id, state: { uuid: id, functionArn: lambda.arn, state: "Enabled" } };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.eventSources.values()].map((s) => s.stop()));
    await Promise.allSettled([...this.functionUrls.values()].map((u) => u.close()));
    await Promise.allSettled([...this.lambdas.values()].map((l) => l.close()));
    this.dynamo.destroy();
    this.sqs.destroy();
    this.ssm.destroy();
  }

  /** A creation that finishes after the cloud was closed (a failed deployment) is undone at once. */
  private async unlessClosed(undo: () => Promise<void>): Promise<void> {
    if (!this.closed) return;
    await undo();
    throw new Error("the local cloud was closed during the deployment");
  }

  /** A function by name or ARN, as Lambda accepts either. */
  private lambdaNamed(ref: unknown, what: string): LocalLambda {
    const text = String(ref ?? "");
    const lambda = this.lambdas.get(text) ?? [...this.lambdas.values()].find((l) => l.arn === text);
    if (!lambda) {
      throw new Error(`${what}: functionName ${JSON.stringify(ref)} is not a function of the local cloud`);
    }
    return lambda;
  }
}

const QUEUE_ATTRIBUTES: [input: string, attribute: string][] = [
  ["visibilityTimeoutSeconds", "VisibilityTimeout"],
  ["messageRetentionSeconds", "MessageRetentionPeriod"],
  ["delaySeconds", "DelaySeconds"],
  ["receiveWaitTimeSeconds", "ReceiveMessageWaitTimeSeconds"],
  ["maxMessageSize", "MaximumMessageSize"],
  ["redrivePolicy", "RedrivePolicy"],
  ["sqsManagedSseEnabled", "SqsManagedSseEnabled"],
];

/** An aws.sqs.Queue's inputs as SQS queue attributes. */
function queueAttributes(inputs: Inputs): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [input, attribute] of QUEUE_ATTRIBUTES) {
    if (inputs[input] !== undefined && inputs[input] !== "") attributes[attribute] = String(inputs[input]);
  }
  return attributes;
}

/** What decides the code a function runs: its archive, handler and runtime. */
function codeFingerprint(inputs: Inputs): string {
  return JSON.stringify([inputs.code ?? null, inputs.handler ?? null, inputs.runtime ?? null]);
}

/** The settings of an `aws.lambda.Function` the local runner applies (AWS's defaults when unset). */
function functionSettings(
  inputs: Inputs,
): Pick<LocalLambdaOptions, "environment" | "timeoutSeconds" | "memoryMb"> {
  const variables = (inputs.environment as { variables?: unknown } | undefined)?.variables;
  return {
    environment: (variables ?? {}) as Record<string, string>,
    timeoutSeconds: Number(inputs.timeout ?? 3),
    memoryMb: Number(inputs.memorySize ?? 128),
  };
}

function functionRealized(lambda: LocalLambda): Realized {
  return {
    id: lambda.name,
    state: {
      name: lambda.name,
      arn: lambda.arn,
      // What API Gateway integrations call; AWS gives it in this form, not the function's own ARN.
      invokeArn: `arn:aws:apigateway:${SANDBOX_REGION}:lambda:path/2015-03-31/functions/${lambda.arn}/invocations`,
      version: "$LATEST",
    },
  };
}

function functionUrlRealized(lambda: LocalLambda, url: FunctionUrl): Realized {
  return { id: lambda.name, state: { functionUrl: url.url, urlId: url.urlId, functionArn: lambda.arn } };
}

function checkUrlAuthorization(functionName: string, inputs: Inputs): void {
  if (inputs.authorizationType !== "NONE") {
    throw new Error(
      `aws.lambda.FunctionUrl for ${functionName}: only authorizationType NONE is emulated (got ${JSON.stringify(inputs.authorizationType)})`,
    );
  }
}

/** Writes a Pulumi AssetArchive's entries (file and string assets) into `dir`, as Lambda unzips code. */
async function unpackArchive(functionName: string, code: unknown, dir: string): Promise<void> {
  const archive = code as { assets?: Record<string, unknown> } | undefined;
  if (!archive?.assets || typeof archive.assets !== "object") {
    throw new Error(`aws.lambda.Function ${functionName}: code must be a pulumi.asset.AssetArchive`);
  }
  await mkdir(dir, { recursive: true });
  for (const [entry, asset] of Object.entries(archive.assets)) {
    const target = join(dir, basename(entry));
    const { path, text } = asset as { path?: string; text?: string };
    if (typeof path === "string") await copyFile(path, target);
    else if (typeof text === "string") await writeFile(target, text);
    else
      throw new Error(
        `aws.lambda.Function ${functionName}: archive entry ${entry} is neither a file nor text`,
      );
  }
}
