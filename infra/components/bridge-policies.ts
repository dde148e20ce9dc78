import type * as pulumi from "@pulumi/pulumi";
import type { BridgeRole } from "../../src/bridge/config";

/**
 * Least-privilege IAM documents for the two bridge functions, naming exact ARNs. The action lists follow
 * what each handler calls: ingest verifies, dedupes and enqueues; the worker consumes, sends and records.
 */

export interface BridgeResourceArns {
  logGroup: pulumi.Input<string>;
  table: pulumi.Input<string>;
  queue: pulumi.Input<string>;
  /** The SSM parameters this role reads, as ARNs. */
  parameters: pulumi.Input<string>[];
}

type Statement = { Sid: string; Effect: "Allow"; Action: string[]; Resource: pulumi.Input<string>[] };

const ROLE_ACTIONS: Record<BridgeRole, { table: string[]; queue: string[] }> = {
  // Conditional put claims a svix-id; delete releases the claim when the enqueue fails; get reads a
  // deployment canary's outcome for GET /canary/<id>.
  ingest: {
    table: ["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:GetItem"],
    queue: ["sqs:SendMessage"],
  },
  worker: {
    table: [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:Query",
      "dynamodb:BatchWriteItem",
    ],
    // What the SQS event source mapping needs from the function's role.
    queue: [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ChangeMessageVisibility",
    ],
  },
};

export function bridgeRolePolicy(role: BridgeRole, arns: BridgeResourceArns) {
  const statements: Statement[] = [
    {
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: [arns.logGroup],
    },
    { Sid: "BridgeTable", Effect: "Allow", Action: ROLE_ACTIONS[role].table, Resource: [arns.table] },
    { Sid: "BridgeQueue", Effect: "Allow", Action: ROLE_ACTIONS[role].queue, Resource: [arns.queue] },
    // SecureStrings under the AWS-managed aws/ssm key decrypt through SSM without a kms:Decrypt grant.
    { Sid: "ReadSecrets", Effect: "Allow", Action: ["ssm:GetParameters"], Resource: arns.parameters },
  ];
  return { Version: "2012-10-17", Statement: statements };
}

export const LAMBDA_ASSUME_ROLE_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
});
