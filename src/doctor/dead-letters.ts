import { AwsError, AwsJsonClient } from "../bridge/aws/client";
import { type CallFailure, type CheckResult, type Fetched, plural, resultsFor, unreachable } from "./types";

/**
 * The bridge's dead-letter queue (the `deadLetterQueueName` stack output). A message there is an
 * `email.created` or a Resend event the worker gave up on: a code that was never sent, or a bounce that
 * never reached Clerk. Read with the bridge's own signed client, so the doctor does not load the AWS SDK.
 */

export interface DeadLetterFacts {
  queueName: string;
  queue: Fetched<{ arn: string; visible: number; inFlight: number }>;
}

function awsFailure(err: unknown): CallFailure {
  if (err instanceof AwsError) {
    const transient =
      err.status === undefined
        ? err.name !== "CredentialsError" && err.name !== "ConfigError"
        : err.retryable;
    return { transient, status: err.status, code: err.code, message: err.message };
  }
  return { transient: true, message: (err as Error).message };
}

export async function fetchDeadLetters(options: {
  queueName: string;
  env: Record<string, string | undefined>;
  timeoutMs: number;
}): Promise<DeadLetterFacts> {
  // One attempt: the doctor reports a slow AWS instead of waiting out the bridge's retries.
  const sqs = new AwsJsonClient("sqs", {
    env: options.env,
    timeoutMs: options.timeoutMs,
    backoff: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
  });
  try {
    const { QueueUrl } = await sqs.call<{ QueueUrl: string }>("GetQueueUrl", {
      QueueName: options.queueName,
    });
    const { Attributes = {} } = await sqs.call<{ Attributes?: Record<string, string> }>(
      "GetQueueAttributes",
      {
        QueueUrl,
        AttributeNames: ["QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      },
    );
    return {
      queueName: options.queueName,
      queue: {
        ok: true,
        value: {
          arn: Attributes.QueueArn ?? "",
          visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
          inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
        },
      },
    };
  } catch (err) {
    return { queueName: options.queueName, queue: { ok: false, failure: awsFailure(err) } };
  }
}

const bridge = resultsFor("bridge");

export function checkDeadLetters(facts: DeadLetterFacts | undefined): CheckResult {
  const id = "bridge.dead-letters";
  if (!facts) {
    return bridge.warn(
      id,
      "the dead-letter queue's name is unknown, so messages the bridge gave up on were not counted",
      "pass --outputs <file from pulumi stack output --json> (it names deadLetterQueueName)",
      { code: "not-checked" },
    );
  }
  const { queueName, queue } = facts;
  if (!queue.ok) {
    const { failure } = queue;
    if (failure.code === "AWS.SimpleQueueService.NonExistentQueue" || failure.code === "QueueDoesNotExist") {
      return bridge.fail(
        id,
        `the dead-letter queue ${queueName} does not exist: the bridge's queues were deleted outside Pulumi`,
        "pulumi up --refresh (re-creates the bridge's queues)",
        { code: "missing" },
      );
    }
    if (failure.code === "CredentialsError" || failure.code === "ConfigError") {
      return bridge.warn(
        id,
        `could not read ${queueName}: ${failure.message}`,
        "export AWS credentials that can read the stack's queues (sqs:GetQueueUrl, sqs:GetQueueAttributes) and AWS_REGION",
        {
          code: "not-checked",
        },
      );
    }
    return unreachable(
      "bridge",
      id,
      `could not read ${queueName}`,
      failure,
      "use AWS credentials allowed sqs:GetQueueUrl and sqs:GetQueueAttributes on the stack's queues",
    );
  }
  const { visible, inFlight, arn } = queue.value;
  const total = visible + inFlight;
  const details = { queueName, queueArn: arn, visible, inFlight };
  if (total === 0) return bridge.pass(id, `the dead-letter queue ${queueName} is empty`, details);
  return bridge.fail(
    id,
    `${plural(total, "message")} in the dead-letter queue ${queueName}: emails or bounce events the bridge gave up on (codes not sent, or bounces that never reached Clerk)`,
    `find the cause in the worker's CloudWatch logs, fix it, then move them back: aws sqs start-message-move-task --source-arn ${arn}`,
    { code: "messages", details },
  );
}
