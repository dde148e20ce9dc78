import type { AddressInfo } from "node:net";
import dynalite from "dynalite";

export interface DynamoStandIn {
  /** Base URL for `AWS_ENDPOINT_URL_DYNAMODB` or a client's `endpoint`. */
  endpoint: string;
  close(): Promise<void>;
}

export interface DynamoStandInOptions {
  /**
   * How long table create/delete/update stay in a transitional state, in ms. Real DynamoDB takes
   * seconds; 0 (the default here) makes tables ACTIVE at once so tests need no waiter.
   */
  tableTransitionMs?: number;
}

/**
 * An in-memory DynamoDB-compatible server (dynalite) on an ephemeral loopback port. It validates
 * requests the way DynamoDB does (names, key schema, expressions), so table or item mistakes in the
 * bridge fail here as they would in AWS.
 */
export async function startDynamoStandIn(options: DynamoStandInOptions = {}): Promise<DynamoStandIn> {
  const transitionMs = options.tableTransitionMs ?? 0;
  const server = dynalite({
    createTableMs: transitionMs,
    deleteTableMs: transitionMs,
    updateTableMs: transitionMs,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async close() {
      if (closed) return;
      closed = true;
      // Keep-alive sockets from SDK clients would otherwise hold close() open.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
