import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DynamoStandIn, startDynamoStandIn } from "../../src/sandbox/aws/dynamodb";
import { sandboxClientConfig } from "../../src/sandbox/aws/env";
import { startLocalAws } from "../../src/sandbox/aws/index";

describe("DynamoDB stand-in (dynalite) through lib-dynamodb", () => {
  let dynamo: DynamoStandIn;
  let client: DynamoDBClient;
  let documents: DynamoDBDocumentClient;

  beforeAll(async () => {
    dynamo = await startDynamoStandIn();
    client = new DynamoDBClient(sandboxClientConfig(dynamo.endpoint));
    documents = DynamoDBDocumentClient.from(client);
    await client.send(
      new CreateTableCommand({
        TableName: "bridge-state",
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
  });

  afterAll(async () => {
    client?.destroy();
    await dynamo?.close();
  });

  it("listens on loopback and round-trips a document item", async () => {
    expect(dynamo.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await documents.send(
      new PutCommand({ TableName: "bridge-state", Item: { pk: "svix#msg_1", attempts: 1, tags: ["a"] } }),
    );
    const { Item } = await documents.send(
      new GetCommand({ TableName: "bridge-state", Key: { pk: "svix#msg_1" } }),
    );
    expect(Item).toEqual({ pk: "svix#msg_1", attempts: 1, tags: ["a"] });
  });

  it("enforces condition expressions, so idempotency claims behave as in DynamoDB", async () => {
    const claim = () =>
      documents.send(
        new PutCommand({
          TableName: "bridge-state",
          Item: { pk: "claim#1" },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    await claim();
    await expect(claim()).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it("applies update expressions atomically", async () => {
    for (let i = 0; i < 3; i++) {
      await documents.send(
        new UpdateCommand({
          TableName: "bridge-state",
          Key: { pk: "counter" },
          UpdateExpression: "ADD hits :one",
          ExpressionAttributeValues: { ":one": 1 },
        }),
      );
    }
    const { Item } = await documents.send(
      new GetCommand({ TableName: "bridge-state", Key: { pk: "counter" } }),
    );
    expect(Item?.["hits"]).toBe(3);
  });

  it("rejects an unknown table with ResourceNotFoundException", async () => {
    await expect(
      documents.send(new GetCommand({ TableName: "no-such-table", Key: { pk: "x" } })),
    ).rejects.toMatchObject({ name: "ResourceNotFoundException" });
  });
});

describe("startLocalAws", () => {
  it("starts all three stand-ins and hands out the environment that reaches each", async () => {
    const aws = await startLocalAws({ timeScale: 0.01 });
    try {
      expect(aws.environment).toMatchObject({
        AWS_REGION: "us-east-1",
        AWS_ENDPOINT_URL_SQS: aws.sqs.endpoint,
        AWS_ENDPOINT_URL_SSM: aws.ssm.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: aws.dynamodb.endpoint,
      });
      expect(new Set([aws.sqs.endpoint, aws.ssm.endpoint, aws.dynamodb.endpoint]).size).toBe(3);
      const dynamo = new DynamoDBClient(sandboxClientConfig(aws.environment["AWS_ENDPOINT_URL_DYNAMODB"]!));
      await expect(dynamo.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: [] });
      dynamo.destroy();
    } finally {
      await aws.close();
    }
  });

  it("closes the stand-ins that did start when another one fails to", async () => {
    const settled = () => new Promise((resolve) => setTimeout(resolve, 200));
    const listening = () => process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length;
    await settled();
    const before = listening();
    // SQS refuses this time scale; SSM and DynamoDB start beside it.
    await expect(startLocalAws({ timeScale: 0 })).rejects.toThrow(/timeScale must be > 0/);
    // Give a stand-in that was still binding the time to come up, had it been left behind.
    await settled();
    expect(listening()).toBe(before);
  });
});
