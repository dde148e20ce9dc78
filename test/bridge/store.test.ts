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
    expect(again.reason).toBe("bounce");
    expect(again.firstAt).toBe(first.firstAt);
    expect((await store.getSuppression(" BOUNCED@example.org "))?.address).toBe("bounced@example.org");
    expect(await store.getSuppression("other@example.org")).toBeUndefined();
    expect(normalizeAddress("bounced+x@Example.org")).not.toBe(normalizeAddress("bounced@example.org"));
  });

  it("purges only the deleted user's ledger entries", async () => {
    await store.recordSuppression({
      address: "a@x.test",
      reason: "bounce",
      eventType: "email.bounced",
      userId: "user_a",
    });
    await store.recordSuppression({
      address: "b@x.test",
      reason: "complaint",
      eventType: "email.complained",
    });
    await store.linkUser("c@x.test", "user_a"); // linked before any suppression exists: no ledger row is invented
    await store.recordSoft("a@x.test", "email.delivery_delayed");
    await store.recordSuppression({
      address: "d@x.test",
      reason: "bounce",
      eventType: "email.bounced",
      userId: "user_b",
    });

    expect(await store.purgeUser("user_a")).toBe(2);
    expect(await store.getSuppression("a@x.test")).toBeUndefined();
    expect(await store.getSuppression("b@x.test")).toBeDefined();
    expect(await store.getSuppression("d@x.test")).toBeDefined();
    expect(await store.getSuppression("c@x.test")).toBeUndefined();
    expect(await store.purgeUser("user_a")).toBe(0);
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
