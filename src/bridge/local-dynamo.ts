import { startDynamoStandIn } from "../sandbox/aws/dynamodb";
import { sandboxClientConfig } from "../sandbox/aws/env";
import { DynamoDb } from "./aws/dynamodb";
import { createBridgeTable } from "./store";

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDb;
  close(): Promise<void>;
}

/**
 * The sandbox's DynamoDB-compatible server (dynalite, in memory) with the bridge table created and the
 * bridge's own DynamoDB client pointed at it. Not an in-memory fake of the store: conditional writes,
 * update expressions and queries go over the wire exactly as in AWS.
 */
export async function startLocalDynamo(tableName?: string): Promise<LocalDynamo> {
  const dynamo = await startDynamoStandIn();
  const client = new DynamoDb(sandboxClientConfig(dynamo.endpoint));
  if (tableName) await createBridgeTable(client, tableName);
  return {
    endpoint: dynamo.endpoint,
    client,
    close: () => dynamo.close(),
  };
}
