import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { startDynamoStandIn } from "../sandbox/aws/dynamodb";
import { sandboxClientConfig } from "../sandbox/aws/env";
import { createBridgeTable } from "./store";

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBClient;
  close(): Promise<void>;
}

/**
 * The sandbox's DynamoDB-compatible server (dynalite, in memory) with the bridge table created and a real
 * AWS SDK client pointed at it. Not an in-memory fake of the store: conditional writes, update expressions
 * and queries run through the same SDK calls as in AWS.
 */
export async function startLocalDynamo(tableName?: string): Promise<LocalDynamo> {
  const dynamo = await startDynamoStandIn();
  const client = new DynamoDBClient(sandboxClientConfig(dynamo.endpoint));
  if (tableName) await createBridgeTable(client, tableName);
  return {
    endpoint: dynamo.endpoint,
    client,
    async close() {
      client.destroy();
      await dynamo.close();
    },
  };
}
