import { SANDBOX_ACCOUNT_ID } from "../aws/env";
import { physicalName, type Realized, regionalArn } from "./aws-resources";

type Inputs = Record<string, unknown>;

/**
 * Resources the local cloud does not enforce (IAM, queue policies, logs, invoke permissions, alarms,
 * notifications): they are recorded and answered with the ids and ARNs AWS would give, so the resources
 * that reference them see plausible values. Anything not listed here or realized elsewhere fails naming its type.
 */
const RECORDED: Record<string, (name: string, inputs: Inputs) => Realized> = {
  "aws:iam/role:Role": (name, inputs) => {
    const roleName = physicalName(name, inputs.name);
    return {
      id: roleName,
      state: {
        name: roleName,
        arn: `arn:aws:iam::${SANDBOX_ACCOUNT_ID}:role/${roleName}`,
        uniqueId: roleName,
      },
    };
  },
  "aws:iam/rolePolicy:RolePolicy": (name, inputs) => {
    const policyName = physicalName(name, inputs.name);
    return { id: `${inputs.role}:${policyName}`, state: { name: policyName } };
  },
  "aws:cloudwatch/logGroup:LogGroup": (name, inputs) => {
    const groupName = physicalName(name, inputs.name);
    return { id: groupName, state: { name: groupName, arn: regionalArn("logs", `log-group:${groupName}`) } };
  },
  "aws:sqs/queuePolicy:QueuePolicy": (_name, inputs) => {
    const queueUrl = String(inputs.queueUrl ?? "");
    return { id: queueUrl, state: { queueUrl } };
  },
  "aws:lambda/permission:Permission": (name, inputs) => {
    const statementId = physicalName(name, inputs.statementId);
    return { id: statementId, state: { statementId } };
  },
  "aws:cloudwatch/metricAlarm:MetricAlarm": (name, inputs) => {
    const alarmName = physicalName(name, inputs.name);
    return {
      id: alarmName,
      state: { name: alarmName, arn: regionalArn("cloudwatch", `alarm:${alarmName}`) },
    };
  },
  "aws:sns/topic:Topic": (name, inputs) => {
    const topicName = physicalName(name, inputs.name);
    const topicArn = regionalArn("sns", topicName);
    return { id: topicArn, state: { name: topicName, arn: topicArn } };
  },
  "aws:sns/topicSubscription:TopicSubscription": (name, inputs) => {
    const subscriptionArn = `${inputs.topic}:${physicalName(name, undefined).split("-").at(-1)}`;
    return { id: subscriptionArn, state: { arn: subscriptionArn, pendingConfirmation: true } };
  },
};

export function recordedResource(type: string, name: string, inputs: Inputs): Realized | undefined {
  return RECORDED[type]?.(name, inputs);
}
