import { Resend } from "resend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CANARY_TAG, isCanarySend, type QueueMessage } from "../../src/bridge/events";
import { METRICS } from "../../src/bridge/telemetry";
import { clerkEmailCreated, resendEmailEvent } from "./fixtures";
import { type Pipeline, startPipeline } from "./harness";

/** The suppression ledger's edges, end to end through the Clerk and Resend stand-ins (stack `e2e`). */
describe("suppression ledger", () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({
      // Configuration refuses line breaks here; the send path must not rely on that alone.
      bridge: { settings: { extraHeaders: { "X-Campaign": "auth\r\nBcc: spy@evil.test" } } },
    });
  });
  afterAll(() => p.close());

  const metric = (name: string) => p.bridge.telemetry.totals[name] ?? 0;
  const metadataOf = (userId: string) => p.clerk.instance.user(userId).publicMetadata;
  const metadataWrites = () =>
    p.clerk.server.requests.filter((r) => r.method === "PATCH" && r.path.endsWith("/metadata")).length;
  const createUser = async (address: string) => {
    const user = p.clerk.instance.createUser({ emailAddress: address });
    await p.settle();
    return user.id;
  };
  const deliverResend = async (event: unknown) => {
    expect((await p.deliver("resend", event)).status).toBe(202);
    await p.settle();
  };

  it("flags every recipient of a bounce to several addresses, each with its own ledger entry", async () => {
    const first = await createUser("multi1@example.org");
    const second = await createUser("multi2@example.org");
    const before = metric(METRICS.bouncedHard);
    await deliverResend(
      resendEmailEvent(
        "email.bounced",
        ["multi1@example.org", "Second <multi2@example.org>", "multi3@example.org"],
        { tags: { stack: "e2e" } },
      ),
    );
    for (const address of ["multi1@example.org", "multi2@example.org", "multi3@example.org"]) {
      expect(await p.bridge.store.getSuppression(address), address).toMatchObject({ reason: "bounce" });
    }
    expect(metadataOf(first)).toMatchObject({
      email_status: "undeliverable",
      email_status_address: "multi1@example.org",
    });
    expect(metadataOf(second)).toMatchObject({
      email_status: "undeliverable",
      email_status_address: "multi2@example.org",
    });
    expect(await p.bridge.store.linkedAddresses(first)).toEqual(["multi1@example.org"]);
    expect(metric(METRICS.bouncedHard)).toBe(before + 3);
  });

  it("lifts the block and clears the Clerk status when Resend removes the suppression", async () => {
    const address = "bounced+lift@resend.dev";
    const { user } = p.clerk.instance.signUp(address, { verify: true });
    await p.settle();
    const userId = user!.id;
    expect(metadataOf(userId)).toMatchObject({ email_status: "undeliverable" });
    expect(p.resend.suppressions().map((s) => s.email)).toContain(address);

    const clearedBefore = metric(METRICS.metadataCleared);
    const removed = await new Resend(p.resend.apiKey, { baseUrl: p.resend.url }).suppressions.remove(address);
    expect(removed.error).toBeNull();
    await p.settle();
    expect(await p.bridge.store.getSuppression(address)).toBeUndefined();
    expect(await p.bridge.store.ledgerEntry(address)).toMatchObject({
      state: "lifted",
      liftedBy: "suppression.removed",
    });
    expect(metadataOf(userId)).toEqual({});
    expect(metric(METRICS.metadataCleared)).toBe(clearedBefore + 1);

    // A bounce from before the lift, redelivered late, does not block the address again.
    await deliverResend(
      resendEmailEvent("email.bounced", address, {
        tags: { stack: "e2e", clerk_user_id: userId },
        at: new Date(Date.now() - 60_000),
      }),
    );
    expect(await p.bridge.store.getSuppression(address)).toBeUndefined();
    expect(metadataOf(userId)).toEqual({});
  });

  it("does not link an address to a tagged user who does not own it; deleting that user keeps the block", async () => {
    const userA = await createUser("owner-a@example.org");
    const victim = "victim@example.org";
    const writesBefore = metadataWrites();
    await deliverResend(
      resendEmailEvent("email.bounced", victim, { tags: { stack: "e2e", clerk_user_id: userA } }),
    );
    const recorded = await p.bridge.store.getSuppression(victim);
    expect(recorded).toMatchObject({ reason: "bounce" });
    expect(recorded?.userId).toBeUndefined();
    expect(await p.bridge.store.linkedAddresses(userA)).toEqual([]);
    expect(metadataOf(userA)).toEqual({});
    expect(metadataWrites()).toBe(writesBefore);

    p.clerk.instance.deleteUser(userA);
    await p.settle();
    expect(await p.bridge.store.getSuppression(victim)).toMatchObject({ reason: "bounce" });

    // The address's real owner, signing up later, is flagged and linked.
    const owner = await createUser(victim);
    expect(metadataOf(owner)).toMatchObject({ email_status: "undeliverable", email_status_address: victim });
    expect(await p.bridge.store.linkedAddresses(owner)).toEqual([victim]);
  });

  it("ignores an event tagged for another stack: no ledger, timeline, metric or Clerk write", async () => {
    const address = "other-stack@example.org";
    const userId = await createUser(address);
    const counters = [METRICS.bouncedHard, METRICS.complained, METRICS.delivered];
    const metricsBefore = counters.map(metric);
    const writesBefore = metadataWrites();
    const tags = { stack: "prod", clerk_user_id: userId, clerk_email_id: "ema_other_stack" };
    for (const type of ["email.bounced", "email.complained", "email.delivered"]) {
      await deliverResend(resendEmailEvent(type, address, { tags, emailId: "re-other-stack" }));
    }
    expect(await p.bridge.store.ledgerEntry(address)).toEqual({ state: "clear" });
    expect(await p.bridge.store.getSend("ema_other_stack")).toBeUndefined();
    expect(await p.bridge.store.clerkEmailIdFor("re-other-stack")).toBeUndefined();
    expect(counters.map(metric)).toEqual(metricsBefore);
    expect(metadataWrites()).toBe(writesBefore);
    expect(metadataOf(userId)).toEqual({});
  });

  it("records an untagged complaint from another sender without counting it; a later sign-up is blocked", async () => {
    const address = "team-complaint@example.org";
    const complainedBefore = metric(METRICS.complained);
    // No stack tag: a user id tag from someone else's send is not trusted either.
    await deliverResend(resendEmailEvent("email.complained", address, { tags: { clerk_user_id: "user_x" } }));
    const recorded = await p.bridge.store.getSuppression(address);
    expect(recorded).toMatchObject({ reason: "complaint", eventType: "email.complained" });
    expect(recorded?.userId).toBeUndefined();
    expect(metric(METRICS.complained)).toBe(complainedBefore);

    const sendsBefore = p.resend.emails().length;
    const signUp = p.clerk.instance.signUp(address, { verify: true });
    await p.settle();
    expect(p.resend.emails().length).toBe(sendsBefore);
    expect((await p.bridge.store.getSend(signUp.email.email.id))?.status).toBe("suppressed");
    expect(metadataOf(signUp.user!.id)).toMatchObject({
      email_status: "undeliverable",
      email_status_reason: "complaint",
    });
  });

  it("keeps canary sends out of the metrics and off the ledger", async () => {
    expect(isCanarySend({ [CANARY_TAG.name]: CANARY_TAG.value })).toBe(true);
    expect(isCanarySend({ canary: "false", stack: "e2e" })).toBe(false);
    const before = [METRICS.bouncedHard, METRICS.delivered].map(metric);
    const tags = { stack: "e2e", [CANARY_TAG.name]: CANARY_TAG.value, clerk_email_id: "ema_canary" };
    await deliverResend(resendEmailEvent("email.delivered", "delivered@resend.dev", { tags }));
    await deliverResend(resendEmailEvent("email.bounced", "canary-bounce@example.org", { tags }));
    expect([METRICS.bouncedHard, METRICS.delivered].map(metric)).toEqual(before);
    expect(await p.bridge.store.ledgerEntry("canary-bounce@example.org")).toEqual({ state: "clear" });
    // The canary's own record still shows what happened to it.
    const record = await p.bridge.store.getSend("ema_canary");
    expect(record?.timeline?.map((t) => t.type)).toEqual(["email.delivered", "email.bounced"]);
  });

  it("sends a subject and headers with CR/LF as single lines: no header can be injected", async () => {
    const address = "delivered+subject@resend.dev";
    const event = clerkEmailCreated(address);
    (event.data as Record<string, unknown>).subject =
      "123456 is your code\r\nBcc: spy@evil.test\r\n\r\n<p>phish</p>";
    expect((await p.deliver("clerk", event)).status).toBe(202);
    await p.settle();
    const [mail] = p.resend.emails().filter((e) => e.to.includes(address));
    expect(mail?.subject).toBe("123456 is your code Bcc: spy@evil.test <p>phish</p>");
    expect(mail?.headers["X-Campaign"]).toBe("auth Bcc: spy@evil.test");
    expect(Object.values(mail?.headers ?? {}).join("")).not.toMatch(/[\r\n]/);
    expect(Object.keys(mail?.headers ?? {}).map((h) => h.toLowerCase())).not.toContain("bcc");
    expect(mail?.bcc).toEqual([]);
  });

  it("still processes a delivery job queued before the deploy that named one `address`", async () => {
    const address = "legacy-job@example.org";
    const legacy = {
      source: "resend",
      svixId: "msg_legacy_delivery",
      type: "email.complained",
      receivedAt: new Date().toISOString(),
      job: { kind: "delivery", type: "email.complained", address, tags: {}, occurredAt: "now" },
    };
    await p.bridge.queue.send(legacy as unknown as QueueMessage);
    await p.settle();
    expect(await p.bridge.store.getSuppression(address)).toMatchObject({ reason: "complaint" });
    expect(p.bridge.queue.deadLetters).toHaveLength(0);
  });
});
