import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idempotencyKeyFor } from "../../src/bridge/send-job";
import { METRICS } from "../../src/bridge/telemetry";
import { type Pipeline, SENDING_DOMAIN, startPipeline } from "./harness";

describe("end to end: Clerk → bridge → Resend → bridge → Clerk", () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline();
  });
  afterAll(() => p.close());

  const sentTo = (address: string) => p.resend.emails().filter((e) => e.to.includes(address));
  const userByEmail = (address: string) =>
    p.clerk
      .users()
      .find((u) => u.email_addresses.some((e: { email_address: string }) => e.email_address === address));

  it("sends a sign-up code to delivered@ once, with headers, tags and idempotency key", async () => {
    const { email } = p.clerk.instance.signUp("delivered@resend.dev", { verify: true });
    await p.settle();
    const sent = sentTo("delivered@resend.dev");
    expect(sent).toHaveLength(1);
    const mail = sent[0]!;
    expect(mail.from).toBe(`Acme <auth@${SENDING_DOMAIN}>`);
    expect(mail.subject).toBe(email.email.subject);
    expect(mail.html).toBe(email.email.body);
    expect(mail.headers["X-Entity-Ref-ID"]).toBe(email.email.id);
    expect(Object.keys(mail.headers).map((h) => h.toLowerCase())).not.toContain("precedence");
    expect(mail.idempotencyKey).toBe(idempotencyKeyFor(email.email.id));
    expect(Object.fromEntries(mail.tags.map((t) => [t.name, t.value]))).toEqual({
      clerk_email_id: email.email.id,
      template: "verification_code",
      stack: "e2e",
    });
    const record = await p.bridge.store.getSend(email.email.id);
    expect(record).toMatchObject({ status: "sent", resendEmailId: mail.id });
    expect(record?.timeline?.map((t) => t.type)).toEqual(
      expect.arrayContaining(["email.sent", "email.delivered"]),
    );
    expect(userByEmail("delivered@resend.dev")?.public_metadata).toEqual({});
  });

  for (const [address, reason] of [
    ["bounced@resend.dev", "bounce"],
    ["complained@resend.dev", "complaint"],
    ["suppressed@resend.dev", "suppressed"],
  ] as const) {
    it(`flags the Clerk user of ${address} and sends nothing more to it`, async () => {
      p.clerk.instance.signUp(address, { verify: true });
      await p.settle();
      const user = userByEmail(address);
      expect(user?.public_metadata).toMatchObject({
        email_status: "undeliverable",
        email_status_reason: reason,
        email_status_address: address,
      });
      expect(typeof user?.public_metadata.email_status_at).toBe("string");
      const sendsBefore = p.resend.emails().length;
      const writesBefore = p.bridge.telemetry.totals[METRICS.metadataUpdated];
      const next = p.clerk.instance.signIn(address, "email_code");
      await p.settle();
      expect(p.resend.emails().length).toBe(sendsBefore);
      expect((await p.bridge.store.getSend(next.email.id))?.status).toBe("suppressed");
      // Already flagged: the suppressed send, and the user.updated echo of our own write, write nothing.
      expect(p.bridge.telemetry.totals[METRICS.metadataUpdated]).toBe(writesBefore);
    });
  }

  it("records transient bounces and delays as soft, never blocking the next email", async () => {
    const bouncy = "soft-bounce@example.org";
    const slow = "slow@example.org";
    p.resend.forceOutcome(bouncy, {
      outcome: "bounced",
      bounce: { type: "Transient", subType: "MailboxFull" },
    });
    p.resend.forceOutcome(slow, { outcome: "delivery_delayed" });
    const softBefore = p.bridge.telemetry.totals[METRICS.bouncedSoft] ?? 0;
    for (const address of [bouncy, slow]) p.clerk.instance.signUp(address, { verify: true });
    await p.settle();
    expect(p.bridge.telemetry.totals[METRICS.bouncedSoft]).toBe(softBefore + 2);
    for (const address of [bouncy, slow]) {
      expect(await p.bridge.store.getSuppression(address)).toBeUndefined();
      expect(userByEmail(address)?.public_metadata).toEqual({});
      p.clerk.instance.signIn(address, "email_code");
    }
    await p.settle();
    expect(sentTo(bouncy)).toHaveLength(2);
    expect(sentTo(slow)).toHaveLength(2);
  });

  it("remembers a sign-up bounce that arrives before the user exists and flags the user on user.created", async () => {
    const address = "bounced+early@resend.dev";
    const started = p.clerk.instance.signUp(address);
    await p.settle();
    expect((await p.bridge.store.getSuppression(address))?.reason).toBe("bounce");
    expect(userByEmail(address)).toBeUndefined();
    p.clerk.instance.verifySignUp(started.signUpId, started.code);
    await p.settle();
    expect(userByEmail(address)?.public_metadata).toMatchObject({
      email_status: "undeliverable",
      email_status_address: address,
    });
  });

  it("moves the flag to the new primary address when that one is undeliverable too", async () => {
    const { user } = p.clerk.instance.signUp("complained+first@resend.dev", { verify: true });
    await p.settle();
    const userId = user!.id;
    const added = p.clerk.instance.addEmailAddress(userId, "bounced+second@resend.dev");
    await p.settle();
    p.clerk.instance.verifyEmailAddress(added.emailAddress.id, added.code);
    p.clerk.instance.setPrimaryEmail(userId, added.emailAddress.id);
    await p.settle();
    expect(p.clerk.instance.user(userId).publicMetadata).toMatchObject({
      email_status: "undeliverable",
      email_status_reason: "bounce",
      email_status_address: "bounced+second@resend.dev",
    });
  });

  it("clears the status when the primary address moves to a deliverable one; user.deleted keeps the block", async () => {
    const bad = "bounced+moving@resend.dev";
    const { user } = p.clerk.instance.signUp(bad, { verify: true });
    await p.settle();
    const userId = user!.id;
    expect(p.clerk.instance.user(userId).publicMetadata).toMatchObject({ email_status: "undeliverable" });
    const added = p.clerk.instance.addEmailAddress(userId, "delivered+moving@resend.dev");
    await p.settle();
    expect(sentTo("delivered+moving@resend.dev")).toHaveLength(1);
    p.clerk.instance.verifyEmailAddress(added.emailAddress.id, added.code);
    p.clerk.instance.setPrimaryEmail(userId, added.emailAddress.id);
    await p.settle();
    expect(p.clerk.instance.user(userId).publicMetadata).toEqual({});
    p.clerk.instance.deleteUser(userId);
    await p.settle();
    expect(await p.bridge.store.linkedAddresses(userId)).toEqual([]);
    expect(await p.bridge.store.getSuppression(bad)).toMatchObject({ reason: "bounce" });
    // Someone signing up with the address later is not sent to, and is flagged once the user exists.
    const sendsBefore = sentTo(bad).length;
    const again = p.clerk.instance.signUp(bad, { verify: true });
    await p.settle();
    expect(sentTo(bad)).toHaveLength(sendsBefore);
    expect((await p.bridge.store.getSend(again.email.email.id))?.status).toBe("suppressed");
    expect(p.clerk.instance.user(again.user!.id).publicMetadata).toMatchObject({
      email_status: "undeliverable",
      email_status_address: bad,
    });
  });
});
