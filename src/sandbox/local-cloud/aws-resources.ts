import { createHash } from "node:crypto";
import { copyFile, mkdir, readdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { CreateTableCommand, DynamoDBClient, type KeySchemaElement } from "@aws-sdk/client-dynamodb";
import type { LocalAws } from "../aws";
import { SANDBOX_ACCOUNT_ID, SANDBOX_REGION, sandboxClientConfig } from "../aws/env";
import {
  type FunctionUrl,
  type LocalLambda,
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
 * SQS event source mappings. Names, ARNs and URLs are the ones the stand-ins answer to, so what the
 * program wires from one resource's outputs into another's inputs reaches the real thing. Inputs arrive
 * settled (no promise-valued asset fields) and with secrets unwrapped (`LocalCloud.newResource`).
 */
export class LocalAwsResources {
  readonly lambdas = new Map<string, LocalLambda>();
  readonly functionUrls = new Map<string, FunctionUrl>();
  readonly eventSources = new Map<string, SqsEventSource>();
  /** Where each function's code archive was unpacked: what the function runs. */
  readonly codeDirectories = new Map<string, string>();
  private readonly dynamo: DynamoDBClient;
  private closed = false;

  constructor(private readonly options: LocalAwsResourceOptions) {
    this.dynamo = new DynamoDBClient(sandboxClientConfig(options.aws.dynamodb.endpoint));
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

  queue(name: string, inputs: Inputs): Realized {
    const queueName = physicalName(name, inputs.name);
    const attributes: Record<string, string> = {};
    const map: [string, string][] = [
      ["visibilityTimeoutSeconds", "VisibilityTimeout"],
      ["messageRetentionSeconds", "MessageRetentionPeriod"],
      ["delaySeconds", "DelaySeconds"],
      ["receiveWaitTimeSeconds", "ReceiveMessageWaitTimeSeconds"],
      ["maxMessageSize", "MaximumMessageSize"],
      ["redrivePolicy", "RedrivePolicy"],
      ["sqsManagedSseEnabled", "SqsManagedSseEnabled"],
    ];
    for (const [input, attribute] of map) {
      if (inputs[input] !== undefined && inputs[input] !== "") attributes[attribute] = String(inputs[input]);
    }
    const url = this.options.aws.sqs.createQueue(queueName, attributes);
    return { id: url, state: { name: queueName, url, arn: this.options.aws.sqs.queueArn(queueName) } };
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

  async lambdaFunction(name: string, inputs: Inputs): Promise<Realized> {
    const functionName = physicalName(name, inputs.name);
    const runtime = String(inputs.runtime ?? "");
    if (!runtime.startsWith("nodejs")) {
      throw new Error(
        `aws.lambda.Function ${functionName}: runtime "${runtime}" is not run locally; use nodejs24.x`,
      );
    }
    const handler = String(inputs.handler ?? "");
    const dir = join(this.options.workDir, functionName);
    await unpackArchive(functionName, inputs.code, dir);
    this.codeDirectories.set(functionName, dir);
    const fileStem = handler.split(".")[0] ?? "";
    const entries = await readdir(dir);
    const bundle = entries.find((f) => [".mjs", ".js", ".cjs"].some((ext) => f === `${fileStem}${ext}`));
    if (!bundle) {
      throw new Error(
        `aws.lambda.Function ${functionName}: handler "${handler}" needs ${fileStem}.mjs (or .js/.cjs) in the code archive, which holds ${entries.join(", ") || "nothing"}`,
      );
    }
    const lambda = await startLocalLambda({
      name: functionName,
      bundleFile: join(dir, bundle),
      handler,
      ...functionConfiguration(inputs),
      awsEnvironment: this.options.functionNetwork,
      onLog: (line) => this.options.onFunctionLog?.(functionName, line),
    });
    await this.unlessClosed(() => lambda.close());
    this.lambdas.set(functionName, lambda);
    return { id: functionName, state: functionState(lambda) };
  }

  /** `UpdateFunctionConfiguration` of a function an earlier deployment created: warm environments retire. */
  async updateFunctionConfiguration(name: string, inputs: Inputs): Promise<Realized> {
    const lambda = this.lambdaNamed(physicalName(name, inputs.name), "aws.lambda.Function");
    await lambda.updateConfiguration(functionConfiguration(inputs));
    return { id: lambda.name, state: functionState(lambda) };
  }

  async functionUrl(inputs: Inputs): Promise<Realized> {
    const lambda = this.lambdaNamed(inputs.functionName, "aws.lambda.FunctionUrl");
    if (inputs.authorizationType !== "NONE") {
      throw new Error(
        `aws.lambda.FunctionUrl for ${lambda.name}: only authorizationType NONE is emulated (got ${JSON.stringify(inputs.authorizationType)})`,
      );
    }
    const url = await startFunctionUrl(lambda);
    await this.unlessClosed(() => url.close());
    this.functionUrls.set(lambda.name, url);
    return {
      id: lambda.name,
      state: { functionUrl: url.url, urlId: url.urlId, functionArn: lambda.arn },
    };
  }

  async eventSourceMapping(name: string, inputs: Inputs): Promise<Realized> {
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
    const uuid = createHash("sha256").update(name).digest("hex");
    const id = `${uuid.slice(0, 8)}-${uuid.slice(8, 12)}-${uuid.slice(12, 16)}-${uuid.slice(16, 20)}-${uuid.slice(20, 32)}`;
    this.eventSources.set(id, source);
    return { id, state: { uuid: id, functionArn: lambda.arn, state: "Enabled" } };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.eventSources.values()].map((s) => s.stop()));
    await Promise.allSettled([...this.functionUrls.values()].map((u) => u.close()));
    await Promise.allSettled([...this.lambdas.values()].map((l) => l.close()));
    this.dynamo.destroy();
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

/** The settings of an `aws.lambda.Function` the local runner applies (AWS's defaults when unset). */
function functionConfiguration(inputs: Inputs) {
  const variables = (inputs.environment as { variables?: unknown } | undefined)?.variables;
  return {
    environment: (variables ?? {}) as Record<string, string>,
    timeoutSeconds: Number(inputs.timeout ?? 3),
    memoryMb: Number(inputs.memorySize ?? 128),
  };
}

function functionState(lambda: LocalLambda): Record<string, unknown> {
  return {
    name: lambda.name,
    arn: lambda.arn,
    // What API Gateway integrations call; AWS gives it in this form, not the function's own ARN.
    invokeArn: `arn:aws:apigateway:${SANDBOX_REGION}:lambda:path/2015-03-31/functions/${lambda.arn}/invocations`,
    version: "$LATEST",
  };
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
