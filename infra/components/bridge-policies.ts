import type * as pulumi from "@pulumi/pulumi";
import type { BridgeRole } from "../../src/bridge/config";
import { DELIVERY_KEY_PREFIX } from "../../src/bridge/store";

/**
 * Least-privilege IAM documents for the two bridge functions and their queue, naming exact ARNs. The action
 * lists are what each handler calls (src/bridge): ingest verifies, claims the delivery, enqueues; the worker
 * consumes, sends and records. Anything a handler does not call is left out.
 */

export interface BridgeResourceArns {
  logGroup: pulumi.Input<string>;
  table: pulumi.Input<string>;
  queue: pulumi.Input<string>;
  /** The SSM parameters this role reads, as ARNs. */
  parameters: pulumi.Input<string>[];
}

type Statement = {
  Sid: string;
  Effect: "Allow" | "Deny";
  Principal?: "*";
  Action: string[];
  Resource: pulumi.Input<string>[] | pulumi.Input<string>;
  Condition?: Record<string, Record<string, pulumi.Input<string> | pulumi.Input<string>[]>>;
};

/** Taking messages off the queue, or hiding them from the worker: only the worker may. */
const TAKE_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"];

const ROLE_ACTIONS: Record<BridgeRole, { table: string[]; queue: string[] }> = {
  // Conditional put claims a svix-id, update confirms the claim, delete releases it when the enqueue fails.
  ingest: {
    table: ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
    queue: ["sqs:SendMessage"],
  },
  // The store's reads and writes (src/bridge/store.ts); purging a user deletes through BatchWriteItem.
  worker: {
    table: [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:Query",
      "dynamodb:BatchWriteItem",
    ],
    // What the SQS event source mapping polls with, on the function's role (AWSLambdaSQSQueueExecutionRole).
    queue: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
  },
};

/**
 * Ingest only ever touches its dedupe claims: a public endpoint's role must not be able to delete the
 * suppression ledger or a send record, so its table actions hold only for items under the claim prefix.
 */
const ROLE_TABLE_CONDITION: Partial<Record<BridgeRole, Statement["Condition"]>> = {
  ingest: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${DELIVERY_KEY_PREFIX}*`] } },
};

export function bridgeRolePolicy(role: BridgeRole, arns: BridgeResourceArns) {
  const tableCondition = ROLE_TABLE_CONDITION[role];
  const statements: Statement[] = [
    {
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: [arns.logGroup],
    },
    {
      Sid: "BridgeTable",
      Effect: "Allow",
      Action: ROLE_ACTIONS[role].table,
      Resource: [arns.table],
      ...(tableCondition ? { Condition: tableCondition } : {}),
    },
    { Sid: "BridgeQueue", Effect: "Allow", Action: ROLE_ACTIONS[role].queue, Resource: [arns.queue] },
    // SecureStrings under the AWS-managed aws/ssm key decrypt through SSM without a kms:Decrypt grant.
    { Sid: "ReadSecrets", Effect: "Allow", Action: ["ssm:GetParameters"], Resource: arns.parameters },
  ];
  return { Version: "2012-10-17", Statement: statements };
}

export interface BridgeQueueParties {
  queue: pulumi.Input<string>;
  ingestRole: pulumi.Input<string>;
  workerRole: pulumi.Input<string>;
  /** `aws:PrincipalTag` that lets an operator send too: redriving the DLQ sends to the queue as the operator. */
  redriveTag: { key: string; value: string };
}

/**
 * The queue's resource policy. Whatever IAM grants elsewhere in the account, only the ingest role puts
 * messages on the queue (each one is a verified webhook the worker acts on without checking again) and
 * only the worker role takes them off. A DLQ redrive sends as whoever starts it, so principals carrying
 * the redrive tag may send as well. Only denials: the roles' own policies grant their access (same
 * account), and a condition names a role by ARN without SQS having to resolve it, so a role IAM has not
 * finished propagating cannot fail the policy.
 */
export function bridgeQueuePolicy(parties: BridgeQueueParties) {
  const { queue, ingestRole, workerRole, redriveTag } = parties;
  const statements: Statement[] = [
    {
      Sid: "OnlyIngestOrRedriveSends",
      Effect: "Deny",
      Principal: "*",
      Action: ["sqs:SendMessage"],
      Resource: queue,
      Condition: {
        ArnNotEquals: { "aws:PrincipalArn": ingestRole },
        StringNotEquals: { [`aws:PrincipalTag/${redriveTag.key}`]: redriveTag.value },
      },
    },
    {
      Sid: "OnlyWorkerTakes",
      Effect: "Deny",
      Principal: "*",
      Action: TAKE_ACTIONS,
      Resource: queue,
      Condition: { ArnNotEquals: { "aws:PrincipalArn": workerRole } },
    },
  ];
  return { Version: "2012-10-17", Statement: statements };
}

export const LAMBDA_ASSUME_ROLE_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
});
