import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createBridgeTable } from "./store";

type Dynalite = (options: {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBClient;
  close(): Promise<void>;
}

/**
 * A DynamoDB-compatible server (dynalite, in memory) on an ephemeral loopback port, with a real AWS SDK
 * client pointed at it. Not an in-memory fake of the store: conditional writes, update expressions and
 * queries run through the same SDK calls as in AWS.
 */
export async function startLocalDynamo(tableName?: string): Promise<LocalDynamo> {
  // dynalite is a development dependency without type declarations; it is never bundled into the Lambda.
  const dynalite = require("dynalite") as Dynalite;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  if (tableName) await createBridgeTable(client, tableName);
  return {
    endpoint,
    client,
    async close() {
      client.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
