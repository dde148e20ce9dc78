import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bridgeRolePolicy } from "../../infra/components/bridge-policies";
import type { DynamoDb } from "../../src/bridge/aws/dynamodb";
import { type LocalDynamo, startLocalDynamo } from "../../src/bridge/local-dynamo";
import { BridgeStore } from "../../src/bridge/store";

/**
 * The ingest role may touch only items under one partition-key prefix. That holds only if every write the
 * ingest handler makes through the store lands under it, so the writes are recorded against a real table.
 */
describe("the ingest role's table scope", () => {
  let dynamo: LocalDynamo;
  const touched: { operation: string; pk: unknown }[] = [];
  let store: BridgeStore;

  beforeAll(async () => {
    dynamo = await startLocalDynamo("scope");
    const recording = new Proxy(dynamo.client, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== "function" || !["put", "update", "delete"].includes(String(property))) {
          return value;
        }
        return (table: string, itemOrKey: { pk?: unknown }, ...rest: unknown[]) => {
          touched.push({ operation: String(property), pk: itemOrKey.pk });
          return value.call(target, table, itemOrKey, ...rest);
        };
      },
    }) as DynamoDb;
    store = new BridgeStore(recording, "scope");
  });
  afterAll(() => dynamo?.close());

  it("covers every write ingest makes: claim, in-flight and duplicate claims, confirm, release", async () => {
    const first = await store.claimDelivery("clerk", "msg_1");
    if (first.outcome !== "claimed") throw new Error(`expected a claim, got ${first.outcome}`);
    expect((await store.claimDelivery("clerk", "msg_1")).outcome).toBe("in_flight");
    expect(await store.confirmDelivery("clerk", "msg_1", first.token)).toBe(true);
    expect((await store.claimDelivery("clerk", "msg_1")).outcome).toBe("duplicate");
    const second = await store.claimDelivery("resend", "msg_2");
    if (second.outcome !== "claimed") throw new Error(`expected a claim, got ${second.outcome}`);
    await store.releaseDelivery("resend", "msg_2", second.token);
    expect(new Set(touched.map((t) => t.operation))).toEqual(new Set(["put", "update", "delete"]));

    const policy = bridgeRolePolicy("ingest", { logGroup: "lg", table: "tbl", queue: "q", parameters: [] });
    const table = policy.Statement.find((s) => s.Sid === "BridgeTable");
    expect(table?.Condition).toEqual({
      "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["delivery#*"] },
    });
    // StringLike's `*` is "anything"; the prefix itself holds no other pattern character.
    const allowed = /^delivery#.*$/;
    for (const write of touched) expect(String(write.pk)).toMatch(allowed);
    // The ledger is out of reach: its keys do not match.
    expect("address#bounced@resend.dev").not.toMatch(allowed);
  });
});
