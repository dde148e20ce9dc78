import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { BridgeBundle } from "../../src/bridge/bundle";
import { type BridgeRole, SECRETS_BY_ROLE, type SecretParameterNames } from "../../src/bridge/config";
import { BRIDGE_TABLE_SCHEMA } from "../../src/bridge/store";
import type { ClerkWebhookMode } from "../config";
import { ResendApiKey } from "../providers/resend-api-key";
import { bridgeAlarms } from "./bridge-alarms";
import { bridgeQueuePolicy, bridgeRolePolicy, LAMBDA_ASSUME_ROLE_POLICY } from "./bridge-policies";

export type AlarmTarget = { kind: "email"; address: string } | { kind: "topic"; arn: string };

export interface BounceBridgeArgs {
  project: string;
  stack: string;
  /** The handlers built by `bundleBridge()`: one ESM file per role. */
  bundle: Promise<Pick<BridgeBundle, "files">>;
  /**
   * The Resend domain the bridge sends from: the bridge gets its own `sending_access` key restricted to it,
   * never the full-access key the providers use.
   */
  sendingDomainId: pulumi.Input<string>;
  /** Secret values written to SSM; the functions get only the parameter names. */
  clerkSecretKey: pulumi.Input<string>;
  /**
   * The Clerk webhook mode, and in manual mode the signing secret from stack config (undefined until the
   * endpoint is registered). It is known before the bridge, so ingest's configuration can follow it; only a
   * fingerprint of it is used here (the Webhooks component writes the parameter).
   */
  clerkWebhookMode: ClerkWebhookMode;
  clerkWebhookSigningSecret?: pulumi.Input<string>;
  fromAddress: string;
  fromName: string;
  replyTo?: string;
  extraHeaders?: Record<string, string>;
  codeLifetimeSeconds: number;
  /** Lifetimes per Clerk template slug (the stack's `codeLifetimes`), read by the bridge's config. */
  codeLifetimes?: Record<string, number>;
  memoryMb: number;
  sendConcurrency: number;
  /** Concurrent ingest invocations reserved for (and capped at): a flood on the public URL stops here. */
  ingestReservedConcurrency: number;
  logRetentionDays: number;
  alarms: { target?: AlarmTarget; bounceRatePercent: number; complaintRatePercent: number };
}

const BRIDGE_SERVICE_NAME = "auth-email-bridge";
const INGEST_TIMEOUT_SECONDS = 10;
const WORKER_TIMEOUT_SECONDS = 60;
/** Receives before a message is parked in the DLQ; the worker retries transient vendor errors in between. */
const MAX_RECEIVE_COUNT = 5;
/** IAM principal tag that lets an operator send to the queue: a DLQ redrive sends as its operator. */
export const REDRIVE_TAG_KEY = "auth-email-pipeline-redrive";
/** Resend's limit on an API key name. */
const MAX_KEY_NAME_LENGTH = 50;
/**
 * How long a replaced sending key keeps working: a worker invocation that started with it (at most the
 * worker timeout) must not fail with a deleted key, since Resend's refusal of a key is not retried.
 */
const SENDING_KEY_RETIRE_SECONDS = WORKER_TIMEOUT_SECONDS + 30;

/**
 * The AWS half of the pipeline: a public Function URL (ingest) that verifies and enqueues webhooks, an SQS
 * queue with a DLQ, a worker that sends through Resend and writes back to Clerk, a DynamoDB table for
 * dedupe and suppression, SSM SecureStrings for every secret, and alarms.
 */
export class BounceBridge extends pulumi.ComponentResource {
  readonly url: pulumi.Output<string>;
  readonly tableName: pulumi.Output<string>;
  readonly queueName: pulumi.Output<string>;
  readonly dlqName: pulumi.Output<string>;
  readonly ingestFunctionName: pulumi.Output<string>;
  readonly workerFunctionName: pulumi.Output<string>;
  /** SSM names for all four secrets; the webhook secrets are written by the Webhooks component. */
  readonly parameterNames: SecretParameterNames;
  /** The id of the bridge's own Resend key (its token is only in the SSM parameter and in state). */
  readonly sendingKeyId: pulumi.Output<string>;

  constructor(name: string, args: BounceBridgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("auth-email-pipeline:bridge:BounceBridge", name, {}, opts);
    const parent = { parent: this };
    const { project, stack } = args;

    const table = new aws.dynamodb.Table(
      `${name}-table`,
      {
        billingMode: "PAY_PER_REQUEST",
        hashKey: BRIDGE_TABLE_SCHEMA.hashKey,
        rangeKey: BRIDGE_TABLE_SCHEMA.rangeKey,
        attributes: [
          { name: BRIDGE_TABLE_SCHEMA.hashKey, type: "S" },
          { name: BRIDGE_TABLE_SCHEMA.rangeKey, type: "S" },
        ],
        ttl: { attributeName: BRIDGE_TABLE_SCHEMA.ttlAttribute, enabled: true },
        // The suppression ledger is the only record of who bounced; it must survive a bad write.
        pointInTimeRecovery: { enabled: true },
      },
      parent,
    );

    const dlq = new aws.sqs.Queue(
      `${name}-dlq`,
      { messageRetentionSeconds: 14 * 24 * 3600, sqsManagedSseEnabled: true },
      parent,
    );
    const queue = new aws.sqs.Queue(
      `${name}-queue`,
      {
        // AWS asks for six times the consumer's timeout so a slow batch is not redelivered mid-flight; it is
        // also the retry delay of a failed item, which stays inside the default 10-minute code lifetime.
        visibilityTimeoutSeconds: 6 * WORKER_TIMEOUT_SECONDS,
        messageRetentionSeconds: 4 * 24 * 3600,
        sqsManagedSseEnabled: true,
        redrivePolicy: pulumi.jsonStringify({
          deadLetterTargetArn: dlq.arn,
          maxReceiveCount: MAX_RECEIVE_COUNT,
        }),
      },
      parent,
    );

    const parameterPath = `/${project}/${stack}`;
    this.parameterNames = {
      resendApiKey: `${parameterPath}/resend-api-key`,
      clerkSecretKey: `${parameterPath}/clerk-secret-key`,
      clerkWebhookSecret: `${parameterPath}/clerk-webhook-secret`,
      resendWebhookSecret: `${parameterPath}/resend-webhook-secret`,
    };
    // The bridge only sends, from one domain: a leaked bridge key can do nothing else.
    const sendingKey = new ResendApiKey(
      `${name}-sending-key`,
      {
        name: sendingKeyName(project, stack),
        permission: "sending_access",
        domainId: args.sendingDomainId,
        retireAfterSeconds: SENDING_KEY_RETIRE_SECONDS,
      },
      parent,
    );
    this.sendingKeyId = sendingKey.keyId;
    const resendKeyParameter = secureParameter(
      `${name}-resend-api-key`,
      this.parameterNames.resendApiKey,
      sendingKey.token,
      parent,
    );
    const clerkKeyParameter = secureParameter(
      `${name}-clerk-secret-key`,
      this.parameterNames.clerkSecretKey,
      args.clerkSecretKey,
      parent,
    );

    const partition = aws.getPartitionOutput({}, parent).partition;
    const region = aws.getRegionOutput({}, parent).region;
    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    const parameterArn = (parameterName: string) =>
      pulumi.interpolate`arn:${partition}:ssm:${region}:${account}:parameter${parameterName}`;

    // A function caches its secrets for the life of an execution environment, and changing only an SSM value
    // changes nothing Lambda sees. So each function's configuration carries what identifies the values it
    // reads: a new value is a new configuration, which retires every warm environment in the same `up`.
    const secretsVersion: Record<BridgeRole, pulumi.Input<string> | undefined> = {
      worker: pulumi.interpolate`resend-api-key@${resendKeyParameter.version},clerk-secret-key@${clerkKeyParameter.version}`,
      ingest: ingestSecretsVersion(args.clerkWebhookMode, args.clerkWebhookSigningSecret),
    };

    const sharedEnvironment = {
      BRIDGE_TABLE_NAME: table.name,
      BRIDGE_QUEUE_URL: queue.url,
      BRIDGE_PARAM_RESEND_API_KEY: this.parameterNames.resendApiKey,
      BRIDGE_PARAM_CLERK_SECRET_KEY: this.parameterNames.clerkSecretKey,
      BRIDGE_PARAM_CLERK_WEBHOOK_SECRET: this.parameterNames.clerkWebhookSecret,
      BRIDGE_PARAM_RESEND_WEBHOOK_SECRET: this.parameterNames.resendWebhookSecret,
      BRIDGE_FROM_ADDRESS: args.fromAddress,
      BRIDGE_FROM_NAME: args.fromName,
      BRIDGE_CODE_LIFETIME_SECONDS: String(args.codeLifetimeSeconds),
      BRIDGE_STACK: stack,
      POWERTOOLS_SERVICE_NAME: BRIDGE_SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: metricsNamespace(project, stack),
      ...(args.replyTo ? { BRIDGE_REPLY_TO: args.replyTo } : {}),
      ...(args.extraHeaders ? { BRIDGE_EXTRA_HEADERS: JSON.stringify(args.extraHeaders) } : {}),
      ...(args.codeLifetimes ? { BRIDGE_CODE_LIFETIMES: JSON.stringify(args.codeLifetimes) } : {}),
    };
    const environmentFor = (role: BridgeRole) => {
      const version = secretsVersion[role];
      return version === undefined
        ? sharedEnvironment
        : { ...sharedEnvironment, BRIDGE_SECRETS_VERSION: version };
    };

    const bridgeFunction = (role: BridgeRole, timeout: number, reservedConcurrency?: number) => {
      const logGroup = new aws.cloudwatch.LogGroup(
        `${name}-${role}-logs`,
        { retentionInDays: args.logRetentionDays },
        parent,
      );
      const roleResource = new aws.iam.Role(
        `${name}-${role}-role`,
        { assumeRolePolicy: LAMBDA_ASSUME_ROLE_POLICY },
        parent,
      );
      const policy = new aws.iam.RolePolicy(
        `${name}-${role}-policy`,
        {
          role: roleResource.id,
          policy: pulumi.jsonStringify(
            bridgeRolePolicy(role, {
              logGroup: pulumi.interpolate`${logGroup.arn}:*`,
              table: table.arn,
              queue: queue.arn,
              parameters: SECRETS_BY_ROLE[role].map((key) => parameterArn(this.parameterNames[key])),
            }),
          ),
        },
        parent,
      );
      const fn = new aws.lambda.Function(
        `${name}-${role}`,
        {
          runtime: "nodejs24.x",
          architectures: ["arm64"],
          handler: `${role}.handler`,
          code: pulumi.output(args.bundle).apply(
            (bundle) =>
              new pulumi.asset.AssetArchive({
                [`${role}.mjs`]: new pulumi.asset.FileAsset(bundle.files[role]),
              }),
          ),
          role: roleResource.arn,
          memorySize: args.memoryMb,
          timeout,
          ...(reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: reservedConcurrency }),
          environment: { variables: environmentFor(role) },
          loggingConfig: { logFormat: "JSON", logGroup: logGroup.name },
        },
        // The first invocation must find its permissions in place.
        { ...parent, dependsOn: [policy] },
      );
      return { fn, policy, role: roleResource };
    };

    const ingest = bridgeFunction("ingest", INGEST_TIMEOUT_SECONDS, args.ingestReservedConcurrency);
    const worker = bridgeFunction("worker", WORKER_TIMEOUT_SECONDS);

    new aws.sqs.QueuePolicy(
      `${name}-queue-policy`,
      {
        queueUrl: queue.url,
        policy: pulumi.jsonStringify(
          bridgeQueuePolicy({
            queue: queue.arn,
            ingestRole: ingest.role.arn,
            workerRole: worker.role.arn,
            redriveTag: { key: REDRIVE_TAG_KEY, value: stack },
          }),
        ),
      },
      parent,
    );

    // Webhooks authenticate by signature, so the URL is public. Since October 2025 a public URL needs BOTH
    // statements: InvokeFunctionUrl alone answers 403.
    const functionUrl = new aws.lambda.FunctionUrl(
      `${name}-url`,
      { functionName: ingest.fn.name, authorizationType: "NONE", invokeMode: "BUFFERED" },
      parent,
    );
    new aws.lambda.Permission(
      `${name}-url-invoke-url`,
      {
        function: ingest.fn.name,
        action: "lambda:InvokeFunctionUrl",
        principal: "*",
        functionUrlAuthType: "NONE",
        statementId: "AllowPublicFunctionUrl",
      },
      parent,
    );
    new aws.lambda.Permission(
      `${name}-url-invoke-function`,
      {
        function: ingest.fn.name,
        action: "lambda:InvokeFunction",
        principal: "*",
        invokedViaFunctionUrl: true,
        statementId: "AllowInvokeViaFunctionUrl",
      },
      parent,
    );

    new aws.lambda.EventSourceMapping(
      `${name}-worker-events`,
      {
        eventSourceArn: queue.arn,
        functionName: worker.fn.arn,
        // Small batches keep one slow vendor call from holding many codes past their lifetime; a batch
        // redelivered after a timeout is safe because sends carry idempotency keys.
        batchSize: 5,
        maximumBatchingWindowInSeconds: 1,
        // One failed email must not redeliver the others that were sent.
        functionResponseTypes: ["ReportBatchItemFailures"],
        // Caps parallel sends so the team-wide Resend rate limit is shared predictably.
        scalingConfig: { maximumConcurrency: args.sendConcurrency },
      },
      { ...parent, dependsOn: [worker.policy] },
    );

    bridgeAlarms(
      name,
      {
        dlqName: dlq.name,
        functionNames: { ingest: ingest.fn.name, worker: worker.fn.name },
        metricsNamespace: metricsNamespace(project, stack),
        serviceName: BRIDGE_SERVICE_NAME,
        bounceRatePercent: args.alarms.bounceRatePercent,
        complaintRatePercent: args.alarms.complaintRatePercent,
        actions: alarmActions(name, args.alarms.target, parent),
      },
      parent,
    );

    this.url = functionUrl.functionUrl;
    this.tableName = table.name;
    this.queueName = queue.name;
    this.dlqName = dlq.name;
    this.ingestFunctionName = ingest.fn.name;
    this.workerFunctionName = worker.fn.name;
    this.registerOutputs({
      sendingKeyId: this.sendingKeyId,
      url: this.url,
      tableName: this.tableName,
      queueName: this.queueName,
      dlqName: this.dlqName,
      ingestFunctionName: this.ingestFunctionName,
      workerFunctionName: this.workerFunctionName,
    });
  }
}

function metricsNamespace(project: string, stack: string): string {
  return `${project}/${stack}`;
}

/** `<project> <stack> bridge`, the stack part shortened to fit Resend's 50 characters. */
function sendingKeyName(project: string, stack: string): string {
  const suffix = " bridge";
  return `${project} ${stack}`.slice(0, MAX_KEY_NAME_LENGTH - suffix.length) + suffix;
}

/**
 * What identifies the secrets ingest verifies with, where Pulumi knows them before the bridge. In manual
 * mode that is the Clerk signing secret from stack config: a SHA-256 prefix changes with it and cannot give
 * it away (a whsec_ key has at least 192 random bits). The Resend secret, and Clerk's in portal mode, come
 * from webhooks registered at the bridge URL, so the function cannot depend on them; the runbook in
 * docs/pulumi.md rotates those with both secrets valid until every environment has the new one.
 */
function ingestSecretsVersion(
  mode: ClerkWebhookMode,
  clerkSigningSecret: pulumi.Input<string> | undefined,
): pulumi.Input<string> | undefined {
  if (mode !== "manual") return undefined;
  if (clerkSigningSecret === undefined) return "clerk-webhook-secret@unset";
  const fingerprint = pulumi
    .output(clerkSigningSecret)
    .apply((secret) => `sha256:${createHash("sha256").update(secret).digest("hex").slice(0, 16)}`);
  return pulumi.interpolate`clerk-webhook-secret@${pulumi.unsecret(fingerprint)}`;
}

/** A SecureString under the AWS-managed key; the value stays a Pulumi secret in state. */
export function secureParameter(
  name: string,
  parameterName: string,
  value: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): aws.ssm.Parameter {
  return new aws.ssm.Parameter(
    name,
    { name: parameterName, type: "SecureString", value: pulumi.secret(value), tier: "Standard" },
    opts,
  );
}

function alarmActions(
  name: string,
  target: AlarmTarget | undefined,
  opts: pulumi.CustomResourceOptions,
): pulumi.Input<string>[] {
  if (!target) return [];
  if (target.kind === "topic") return [target.arn];
  const topic = new aws.sns.Topic(`${name}-alarms`, {}, opts);
  new aws.sns.TopicSubscription(
    `${name}-alarms-email`,
    { topic: topic.arn, protocol: "email", endpoint: target.address },
    opts,
  );
  return [topic.arn];
}
