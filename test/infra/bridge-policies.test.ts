import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bridgeRolePolicy } from "../../infra/components/bridge-policies";
import type { DynamoDb } from "../../src/bridge/aws/dynamodb";
import { CanaryRecords } from "../../src/bridge/canary";
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
  let canaries: CanaryRecords;
  /** The worker's writer of canary outcomes, on the unrecorded client: ingest only reads them. */
  let worker: CanaryRecords;

  beforeAll(async () => {
    dynamo = await startLocalDynamo("scope");
    const recording = new Proxy(dynamo.client, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== "function" || !["get", "put", "update", "delete"].includes(String(property))) {
          return value;
        }
        return (table: string, itemOrKey: { pk?: unknown }, ...rest: unknown[]) => {
          touched.push({ operation: String(property), pk: itemOrKey.pk });
          return value.call(target, table, itemOrKey, ...rest);
        };
      },
    }) as DynamoDb;
    store = new BridgeStore(recording, "scope");
    canaries = new CanaryRecords(recording, "scope");
    worker = new CanaryRecords(dynamo.client, "scope");
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
    const writes = touched.splice(0);

    const policy = bridgeRolePolicy("ingest", { logGroup: "lg", table: "tbl", queue: "q", parameters: [] });
    const table = policy.Statement.find((s) => s.Sid === "BridgeTable");
    expect(table?.Condition).toEqual({
      "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["delivery#*"] },
    });
    // StringLike's `*` is "anything"; the prefix itself holds no other pattern character.
    const allowed = /^delivery#.*$/;
    for (const write of writes) expect(String(write.pk)).toMatch(allowed);
    // The ledger is out of reach: its keys do not match.
    expect("address#bounced@resend.dev").not.toMatch(allowed);
  });

  it("lets ingest read a canary's outcome, and nothing else, under the canary prefix only", async () => {
    const id = "ema_canary_00112233445566778899aabb";
    await worker.record(id, { status: "accepted", resendEmailId: "re_1" });
    expect(await canaries.read(id)).toMatchObject({ status: "accepted", resendEmailId: "re_1" });
    expect(await canaries.read("ema_canary_ffeeddccbbaa998877665544")).toBeUndefined();
    expect(touched.map((t) => t.operation)).toEqual(["get", "get"]);

    const policy = bridgeRolePolicy("ingest", { logGroup: "lg", table: "tbl", queue: "q", parameters: [] });
    const tableStatements = policy.Statement.filter((s) => JSON.stringify(s.Resource) === `["tbl"]`);
    expect(tableStatements.map((s) => s.Sid)).toEqual(["BridgeTable", "ReadCanaryOutcomes"]);
    const read = tableStatements[1];
    expect(read).toMatchObject({ Effect: "Allow", Action: ["dynamodb:GetItem"], Resource: ["tbl"] });
    expect(read?.Condition).toEqual({ "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["canary#*"] } });
    const allowed = /^canary#.*$/;
    for (const get of touched) expect(String(get.pk)).toMatch(allowed);
    // Neither grant reaches the other's items, the ledger or a send record.
    expect("delivery#clerk#msg_1").not.toMatch(allowed);
    expect(`canary#${id}`).not.toMatch(/^delivery#.*$/);
    expect("address#bounced@resend.dev").not.toMatch(allowed);
    expect(`email#${id}`).not.toMatch(allowed);
  });
});
