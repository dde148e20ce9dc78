import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDb } from "../../src/bridge/aws/dynamodb";
import { type LocalDynamo, startLocalDynamo } from "../../src/bridge/local-dynamo";
import { BridgeStore } from "../../src/bridge/store";
import { sandboxClientConfig } from "../../src/sandbox/aws/env";
import { StandInServer } from "../../src/sandbox/core/server";

/**
 * DynamoDB can apply a write and still fail to answer (a 500 or a lost connection); the client then
 * retries. A retried claim must not mistake its own first attempt for a Svix redelivery, or the event
 * would be answered `duplicate` and never processed.
 */
describe("BridgeStore claims when DynamoDB's answer is lost", () => {
  let dynamo: LocalDynamo;
  let loseNextPut = false;
  const proxy = new StandInServer("dynamodb-proxy", {
    notFound: () => ({ status: 404 }),
    badJson: () => ({ status: 400 }),
    contentType: "application/x-amz-json-1.0",
  });
  let store: BridgeStore;

  beforeAll(async () => {
    dynamo = await startLocalDynamo("claims");
    proxy.route("POST", "/", async (req) => {
      const target = String(req.headers["x-amz-target"]);
      const forwarded = [
        "authorization",
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-target",
        "content-type",
      ];
      const answer = await fetch(dynamo.endpoint, {
        method: "POST",
        headers: Object.fromEntries(forwarded.map((h) => [h, String(req.headers[h] ?? "")])),
        body: new Uint8Array(req.rawBody),
      });
      const body = await answer.json();
      if (loseNextPut && target.endsWith(".PutItem") && answer.ok) {
        loseNextPut = false;
        return { status: 500, body: { __type: "com.amazonaws.dynamodb.v20120810#InternalServerError" } };
      }
      return { status: answer.status, body };
    });
    const db = new DynamoDb({ ...sandboxClientConfig(await proxy.listen()), sleep: async () => undefined });
    store = new BridgeStore(db, "claims");
  });
  afterAll(async () => {
    await proxy.close();
    await dynamo.close();
  });

  it("a claim whose first write landed unanswered is still this call's claim; a redelivery is not", async () => {
    loseNextPut = true;
    expect(await store.claimDelivery("clerk", "msg_lost")).toBe(true);
    expect(loseNextPut).toBe(false);
    const puts = proxy.requests.filter((r) => String(r.headers["x-amz-target"]).endsWith(".PutItem"));
    expect(puts.map((r) => r.status)).toEqual([500, 200]);
    expect(await store.claimDelivery("clerk", "msg_lost")).toBe(false);
  });
});
