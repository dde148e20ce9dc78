import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DynamoDb } from "../../src/bridge/aws/dynamodb";
import { type LocalDynamo, startLocalDynamo } from "../../src/bridge/local-dynamo";
import { BridgeStore, DEDUPE_TTL_SECONDS, PENDING_CLAIM_TTL_SECONDS } from "../../src/bridge/store";
import { sandboxClientConfig } from "../../src/sandbox/aws/env";
import { StandInServer } from "../../src/sandbox/core/server";

const claimed = { outcome: "claimed", token: expect.any(String) };

describe("BridgeStore delivery claims", () => {
  let dynamo: LocalDynamo;
  let clock: number;
  let store: BridgeStore;
  const item = (source: string, svixId: string) =>
    dynamo.client.get("claims", { pk: `delivery#${source}#${svixId}`, sk: "delivery" });

  beforeAll(async () => {
    dynamo = await startLocalDynamo("claims");
    store = new BridgeStore(dynamo.client, "claims", () => clock);
  });
  afterAll(() => dynamo.close());
  beforeEach(() => {
    clock = Date.now();
  });

  it("a pending claim holds redeliveries off as in flight; a confirmed one answers them as duplicates", async () => {
    const claim = await store.claimDelivery("clerk", "msg_confirm");
    expect(claim).toEqual(claimed);
    expect(await item("clerk", "msg_confirm")).toMatchObject({
      claimState: "pending",
      expiresAt: Math.floor(clock / 1000) + PENDING_CLAIM_TTL_SECONDS,
    });
    expect(await store.claimDelivery("clerk", "msg_confirm")).toEqual({ outcome: "in_flight" });
    expect(await store.claimDelivery("resend", "msg_confirm")).toEqual(claimed);
    if (claim.outcome !== "claimed") return;
    expect(await store.confirmDelivery("clerk", "msg_confirm", claim.token)).toBe(true);
    expect(await item("clerk", "msg_confirm")).toMatchObject({
      claimState: "confirmed",
      expiresAt: Math.floor(clock / 1000) + DEDUPE_TTL_SECONDS,
    });
    expect(await store.claimDelivery("clerk", "msg_confirm")).toEqual({ outcome: "duplicate" });
  });

  it("a pending claim older than its TTL is claimable again before DynamoDB's sweeper deletes it", async () => {
    const orphan = await store.claimDelivery("clerk", "msg_orphan");
    clock += (PENDING_CLAIM_TTL_SECONDS - 1) * 1000;
    expect(await store.claimDelivery("clerk", "msg_orphan")).toEqual({ outcome: "in_flight" });
    clock += 2_000;
    const retry = await store.claimDelivery("clerk", "msg_orphan");
    expect(retry).toEqual(claimed);
    if (orphan.outcome !== "claimed" || retry.outcome !== "claimed") return;
    // The dead invocation's token no longer confirms or releases anything.
    expect(await store.confirmDelivery("clerk", "msg_orphan", orphan.token)).toBe(false);
    await store.releaseDelivery("clerk", "msg_orphan", orphan.token);
    expect(await item("clerk", "msg_orphan")).toMatchObject({ claim: retry.token, claimState: "pending" });
    expect(await store.confirmDelivery("clerk", "msg_orphan", retry.token)).toBe(true);
    expect(await store.claimDelivery("clerk", "msg_orphan")).toEqual({ outcome: "duplicate" });
  });

  it("a confirmed claim past the dedupe window is claimable again", async () => {
    const first = await store.claimDelivery("resend", "msg_week");
    if (first.outcome !== "claimed") throw new Error("not claimed");
    await store.confirmDelivery("resend", "msg_week", first.token);
    clock += (DEDUPE_TTL_SECONDS + 1) * 1000;
    expect(await store.claimDelivery("resend", "msg_week")).toEqual(claimed);
  });

  it("a released claim lets the retry through at once", async () => {
    const first = await store.claimDelivery("clerk", "msg_release");
    if (first.outcome !== "claimed") throw new Error("not claimed");
    await store.releaseDelivery("clerk", "msg_release", first.token);
    expect(await item("clerk", "msg_release")).toBeUndefined();
    // Releasing twice (a retried DeleteItem) is harmless.
    await store.releaseDelivery("clerk", "msg_release", first.token);
    expect(await store.claimDelivery("clerk", "msg_release")).toEqual(claimed);
  });

  it("concurrent deliveries of one svix-id: exactly one claims it", async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, () => store.claimDelivery("clerk", "msg_race")),
    );
    expect(outcomes.filter((o) => o.outcome === "claimed")).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === "in_flight")).toHaveLength(11);
  });
});

/**
 * DynamoDB can apply a write and still fail to answer (a 500 or a lost connection); the client then
 * retries. A retried claim must not mistake its own first attempt for a Svix redelivery, or the event
 * would never be processed.
 */
describe("BridgeStore claims when DynamoDB's answer is lost", () => {
  let dynamo: LocalDynamo;
  let loseNext: string | undefined;
  const proxy = new StandInServer("dynamodb-proxy", {
    notFound: () => ({ status: 404 }),
    badJson: () => ({ status: 400 }),
    contentType: "application/x-amz-json-1.0",
  });
  let store: BridgeStore;
  const calls = (operation: string) =>
    proxy.requests
      .filter((r) => String(r.headers["x-amz-target"]).endsWith(`.${operation}`))
      .map((r) => r.status);

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
      if (loseNext && target.endsWith(`.${loseNext}`) && answer.ok) {
        loseNext = undefined;
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
    loseNext = "PutItem";
    const claim = await store.claimDelivery("clerk", "msg_lost");
    expect(claim).toEqual(claimed);
    expect(calls("PutItem")).toEqual([500, 200]);
    expect(await store.claimDelivery("clerk", "msg_lost")).toEqual({ outcome: "in_flight" });
    if (claim.outcome !== "claimed") return;

    // The same for the confirmation: applied, unanswered, retried, still this claim's.
    loseNext = "UpdateItem";
    expect(await store.confirmDelivery("clerk", "msg_lost", claim.token)).toBe(true);
    expect(await store.claimDelivery("clerk", "msg_lost")).toEqual({ outcome: "duplicate" });
  });
});
