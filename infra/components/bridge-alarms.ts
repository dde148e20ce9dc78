import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { METRICS } from "../../src/bridge/telemetry";

export interface BridgeAlarmArgs {
  dlqName: pulumi.Input<string>;
  functionNames: { ingest: pulumi.Input<string>; worker: pulumi.Input<string> };
  /** Where the bridge's EMF metrics land, and the `service` dimension it stamps on them. */
  metricsNamespace: string;
  serviceName: string;
  bounceRatePercent: number;
  complaintRatePercent: number;
  actions: pulumi.Input<string>[];
}

const RATE_PERIOD_SECONDS = 3600;

/**
 * Alarms on what needs a human: anything in the DLQ (an event the worker gave up on), handler errors, ingest
 * refusing webhooks at its reserved concurrency, and bounce or complaint rates over the thresholds mailbox
 * providers act on. Rates are metric math over the
 * bridge's own counters so they measure this stack's auth mail only.
 */
export function bridgeAlarms(name: string, args: BridgeAlarmArgs, opts: pulumi.CustomResourceOptions) {
  const actions = { alarmActions: args.actions, okActions: args.actions };
  // Any datapoint above zero in five minutes alarms: these metrics are zero when all is well.
  const anyInFiveMinutes = (
    id: string,
    description: string,
    metric: Pick<aws.cloudwatch.MetricAlarmArgs, "namespace" | "metricName" | "dimensions" | "statistic">,
  ) =>
    new aws.cloudwatch.MetricAlarm(
      `${name}-${id}`,
      {
        alarmDescription: description,
        ...metric,
        period: 300,
        evaluationPeriods: 1,
        threshold: 0,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
        ...actions,
      },
      opts,
    );
  const dlqDepth = anyInFiveMinutes(
    "dlq-depth",
    "Bridge events reached the dead-letter queue: inspect and redrive them.",
    {
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: args.dlqName },
      statistic: "Maximum",
    },
  );
  const errors = (["ingest", "worker"] as const).map((role) =>
    anyInFiveMinutes(`${role}-errors`, `The bridge ${role} function is failing invocations.`, {
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: args.functionNames[role] },
      statistic: "Sum",
    }),
  );
  // The senders retry a throttled delivery, but a code retried minutes later may already be stale.
  const ingestThrottles = anyInFiveMinutes(
    "ingest-throttles",
    "The bridge ingest function is refusing webhooks at its reserved concurrency: raise ingestReservedConcurrency.",
    {
      namespace: "AWS/Lambda",
      metricName: "Throttles",
      dimensions: { FunctionName: args.functionNames.ingest },
      statistic: "Sum",
    },
  );
  const rate = (id: string, label: string, metricName: string, threshold: number) =>
    new aws.cloudwatch.MetricAlarm(
      `${name}-${id}-rate`,
      {
        alarmDescription: `${label} of auth email is above ${threshold}%.`,
        evaluationPeriods: 1,
        threshold,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
        metricQueries: [
          {
            id: "events",
            returnData: false,
            metric: {
              namespace: args.metricsNamespace,
              metricName,
              dimensions: { service: args.serviceName },
              period: RATE_PERIOD_SECONDS,
              stat: "Sum",
            },
          },
          {
            id: "sent",
            returnData: false,
            metric: {
              namespace: args.metricsNamespace,
              metricName: METRICS.sent,
              dimensions: { service: args.serviceName },
              period: RATE_PERIOD_SECONDS,
              stat: "Sum",
            },
          },
          {
            id: "rate",
            label: `${label} (%)`,
            returnData: true,
            expression: "IF(sent > 0, 100 * events / sent, 0)",
          },
        ],
        ...actions,
      },
      opts,
    );
  const bounceRate = rate("bounce", "Hard-bounce rate", METRICS.bouncedHard, args.bounceRatePercent);
  const complaintRate = rate("complaint", "Complaint rate", METRICS.complained, args.complaintRatePercent);
  return { dlqDepth, errors, ingestThrottles, bounceRate, complaintRate };
}
