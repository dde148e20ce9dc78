import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalDynamo, startLocalDynamo } from "../../src/bridge/local-dynamo";
import { BridgeStore, normalizeAddress } from "../../src/bridge/store";

describe("BridgeStore against a DynamoDB-compatible server", () => {
  let dynamo: LocalDynamo;
  let store: BridgeStore;

  beforeAll(async () => {
    dynamo = await startLocalDynamo("bridge-store-test");
    store = new BridgeStore(dynamo.client, "bridge-store-test");
  });
  afterAll(() => dynamo.close());

  it("keeps the first reason and time of a suppression and matches addresses case-insensitively", async () => {
    const first = await store.recordSuppression({
      address: "Bounced@Example.org",
      reason: "bounce",
      eventType: "email.bounced",
    });
    const again = await store.recordSuppression({
      address: "bounced@example.org",
      reason: "complaint",
      eventType: "email.complained",
    });
    expect(again?.reason).toBe("bounce");
    expect(again?.firstAt).toBe(first?.firstAt);
    expect((await store.getSuppression(" BOUNCED@example.org "))?.address).toBe("bounced@example.org");
    expect(await store.getSuppression("other@example.org")).toBeUndefined();
    expect(normalizeAddress("bounced+x@Example.org")).not.toBe(normalizeAddress("bounced@example.org"));
  });

  it("links an address only to a user who owns it, and unlinking a deleted user keeps every block", async () => {
    const userA = { id: "user_a", addresses: ["A@x.test", "c@x.test"] };
    await store.recordSuppression({ address: "a@x.test", reason: "bounce", eventType: "email.bounced" });
    await store.recordSuppression({
      address: "b@x.test",
      reason: "complaint",
      eventType: "email.complained",
    });
    expect(await store.linkUser(userA, "a@x.test")).toBe(true);
    expect(await store.linkUser(userA, "b@x.test")).toBe(false); // not one of A's addresses
    expect(await store.linkUser(userA, "c@x.test")).toBe(true); // owned, not blocked: no ledger row invented
    await store.recordSuppression({ address: "d@x.test", reason: "bounce", eventType: "email.bounced" });
    await store.linkUser({ id: "user_b", addresses: ["d@x.test"] }, "d@x.test");

    expect((await store.getSuppression("a@x.test"))?.userId).toBe("user_a");
    expect((await store.getSuppression("b@x.test"))?.userId).toBeUndefined();
    expect((await store.linkedAddresses("user_a")).sort()).toEqual(["a@x.test", "c@x.test"]);

    expect(await store.unlinkUser("user_a")).toBe(2);
    expect(await store.linkedAddresses("user_a")).toEqual([]);
    const kept = await store.getSuppression("a@x.test");
    expect(kept).toMatchObject({ address: "a@x.test", reason: "bounce" });
    expect(kept?.userId).toBeUndefined();
    expect(await store.getSuppression("c@x.test")).toBeUndefined();
    expect((await store.getSuppression("d@x.test"))?.userId).toBe("user_b");
    expect(await store.unlinkUser("user_a")).toBe(0);
  });

  it("lifts a block, ignores events from before the lift, and blocks again on a later one", async () => {
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();
    const address = "lifted@x.test";
    await store.recordSuppression({
      address,
      reason: "bounce",
      eventType: "email.bounced",
      occurredAt: at(0),
    });
    await store.linkUser({ id: "user_l", addresses: [address] }, address);

    const lifted = await store.liftSuppression(address, {
      at: at(10),
      by: "suppression.removed",
      keepNewerBlock: true,
    });
    expect(lifted).toMatchObject({ outcome: "lifted", previous: { reason: "bounce", userId: "user_l" } });
    expect(await store.getSuppression(address)).toBeUndefined();
    expect(await store.ledgerEntry(address)).toEqual({
      state: "lifted",
      liftedAt: at(10),
      liftedBy: "suppression.removed",
      userId: "user_l",
    });

    // A redelivered complaint from before the lift changes nothing; one from after blocks afresh.
    const stale = await store.recordSuppression({
      address,
      reason: "complaint",
      eventType: "email.complained",
      occurredAt: at(5),
    });
    expect(stale).toBeUndefined();
    expect(await store.getSuppression(address)).toBeUndefined();
    const fresh = await store.recordSuppression({
      address,
      reason: "complaint",
      eventType: "email.complained",
      occurredAt: at(20),
    });
    expect(fresh).toMatchObject({ reason: "complaint", blockedAt: at(20) });

    // A late suppression.removed older than the new block leaves it; an operator's lift does not ask.
    const late = await store.liftSuppression(address, {
      at: at(15),
      by: "suppression.removed",
      keepNewerBlock: true,
    });
    expect(late).toMatchObject({ outcome: "newer_block", suppression: { reason: "complaint" } });
    expect((await store.getSuppression(address))?.reason).toBe("complaint");
    const operator = await store.liftSuppression(address, {
      at: at(15),
      by: "unsuppress",
      keepNewerBlock: false,
    });
    expect(operator.outcome).toBe("lifted");
    expect(await store.getSuppression(address)).toBeUndefined();
    expect(await store.liftSuppression("never@x.test", { by: "unsuppress", keepNewerBlock: false })).toEqual({
      outcome: "not_blocked",
    });
  });

  it("counts soft problems without putting the address on the hard ledger", async () => {
    expect(await store.recordSoft("soft@x.test", "email.bounced")).toBe(1);
    expect(await store.recordSoft("soft@x.test", "email.delivery_delayed")).toBe(2);
    expect(await store.getSuppression("soft@x.test")).toBeUndefined();
  });

  it("correlates Clerk and Resend ids and keeps a timeline that can start before the send is recorded", async () => {
    await store.appendTimeline(
      { clerkEmailId: "ema_1", resendEmailId: "re_1" },
      { type: "email.sent", at: "t1" },
    );
    await store.recordSend({ clerkEmailId: "ema_1", status: "sent", to: "x@y.test", resendEmailId: "re_1" });
    await store.appendTimeline(
      { clerkEmailId: "ema_1", resendEmailId: "re_1" },
      { type: "email.delivered", at: "t2" },
    );
    expect(await store.clerkEmailIdFor("re_1")).toBe("ema_1");
    const record = await store.getSend("ema_1");
    expect(record?.status).toBe("sent");
    expect(record?.timeline?.map((t) => t.type)).toEqual(["email.sent", "email.delivered"]);

    await store.appendTimeline({ resendEmailId: "re_unknown" }, { type: "email.delivered", at: "t3" });
    expect(await store.clerkEmailIdFor("re_unknown")).toBeUndefined();
  });
});
