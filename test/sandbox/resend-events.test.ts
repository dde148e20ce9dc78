import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectSpecWebhook, type ResendHarness, resendSpec, startResendHarness } from "./resend-harness";

let h: ResendHarness;
const from = "Acme <auth@events-mail.com>";

/** `suppression.*` is not in the OAS `webhooks:`; this is the SDK's `SuppressionEventData`. */
const SUPPRESSION_EVENT = {
  type: "object",
  required: ["type", "created_at", "data"],
  properties: {
    type: { enum: ["suppression.added", "suppression.removed"] },
    created_at: { type: "string", format: "date-time" },
    data: {
      type: "object",
      additionalProperties: false,
      required: ["id", "email", "origin", "source_id", "created_at"],
      properties: {
        id: { type: "string" },
        email: { type: "string" },
        origin: { enum: ["bounce", "complaint", "manual"] },
        source_id: { type: ["string", "null"] },
        created_at: { type: "string" },
      },
    },
  },
};

beforeAll(async () => {
  h = await startResendHarness();
  h.standIn.addVerifiedDomain("events-mail.com");
  const hook = await h.resend.webhooks.create({
    endpoint: h.receiver.url,
    events: [
      "email.sent",
      "email.delivered",
      "email.delivery_delayed",
      "email.bounced",
      "email.complained",
      "email.suppressed",
      "email.failed",
      "suppression.added",
    ],
  });
  expect(hook.error).toBeNull();
});
afterAll(async () => {
  await h.close();
});

interface Delivered {
  type: string;
  data: Record<string, unknown>;
}

/** Sends, waits for every event, and returns what the webhook received for that email, in emission order. */
async function sendAndCollect(to: string | string[], extra: Record<string, unknown> = {}) {
  const sent = await h.resend.emails.send({ from, to, subject: "Sign in", text: "code 1", ...extra });
  expect(sent.error).toBeNull();
  const id = sent.data!.id;
  await h.standIn.settle();
  const received = h.receiver.received
    .filter((r) => r.body.includes(id))
    .map((r) => {
      const event = JSON.parse(r.body) as Delivered;
      if (!event.type.startsWith("suppression.")) return expectSpecWebhook(r.body);
      resendSpec.assertSchema(SUPPRESSION_EVENT, event, event.type);
      return event;
    });
  const emitted = h.standIn.events().filter((e) => {
    const data = e.data as { email_id?: string; source_id?: string };
    return data.email_id === id || data.source_id === id;
  });
  const mine = received.filter((e) => e.data.email_id === id || e.data.source_id === id);
  // Every emitted event reached the endpoint exactly once (delivery order is not guaranteed, as with Svix).
  expect(mine.map((e) => e.type).sort()).toEqual(emitted.map((e) => e.type).sort());
  return { id, sequence: emitted.map((e) => e.type), events: mine };
}

describe("Resend stand-in: test addresses and their event sequences", () => {
  it("delivered+label@: sent → delivered, with tags as an object and custom headers as name/value pairs", async () => {
    const { sequence, events } = await sendAndCollect("delivered+signup@resend.dev", {
      tags: [{ name: "category", value: "magic_link" }],
      headers: { "X-Entity-Ref-ID": "abc" },
    });
    expect(sequence).toEqual(["email.sent", "email.delivered"]);
    for (const event of events) {
      expect(event.data).toMatchObject({
        to: ["delivered+signup@resend.dev"],
        from,
        subject: "Sign in",
        tags: { category: "magic_link" },
        headers: [{ name: "X-Entity-Ref-ID", value: "abc" }],
        message_id: expect.stringMatching(/^<.+@.+>$/),
      });
    }
    const plain = await sendAndCollect("someone@events-mail.com");
    expect(plain.events[0]?.data).not.toHaveProperty("tags");
    expect(plain.events[0]?.data).not.toHaveProperty("headers");
  });

  it("bounced@: sent → bounced (Permanent), and the address joins the suppression list", async () => {
    const { id, sequence, events } = await sendAndCollect("bounced+b1@resend.dev");
    expect(sequence).toEqual(["email.sent", "email.bounced", "suppression.added"]);
    const bounce = events.find((e) => e.type === "email.bounced")!.data.bounce as Record<string, unknown>;
    expect(bounce).toMatchObject({ type: "Permanent", subType: "General" });
    expect(bounce.diagnosticCode).toEqual([expect.stringContaining("550 5.1.1")]);
    expect(events.find((e) => e.type === "suppression.added")?.data).toMatchObject({
      email: "bounced+b1@resend.dev",
      origin: "bounce",
      source_id: id,
    });
    expect(h.standIn.suppressions().map((s) => s.email)).toContain("bounced+b1@resend.dev");
    expect((await h.resend.emails.get(id)).data?.last_event).toBe("bounced");
  });

  it("complained@: sent → delivered → complained, then suppression.added (complaint)", async () => {
    const { sequence, events } = await sendAndCollect("complained+c1@resend.dev");
    expect(sequence).toEqual(["email.sent", "email.delivered", "email.complained", "suppression.added"]);
    expect(events.find((e) => e.type === "suppression.added")?.data.origin).toBe("complaint");
  });

  it("suppressed@: only email.suppressed (OnAccountSuppressionList, previous_bounce)", async () => {
    const { sequence, events } = await sendAndCollect("suppressed@resend.dev");
    expect(sequence).toEqual(["email.suppressed"]);
    expect(events[0]?.data.suppressed).toMatchObject({
      type: "OnAccountSuppressionList",
      reason: "previous_bounce",
    });
    expect(h.standIn.suppressions().map((s) => s.email)).not.toContain("suppressed@resend.dev");
  });

  it("a later send to a suppressed address gets email.suppressed instead of being sent", async () => {
    await sendAndCollect("bounced+again@resend.dev");
    const later = await sendAndCollect("bounced+again@resend.dev");
    expect(later.sequence).toEqual(["email.suppressed"]);
    expect(later.events[0]?.data.suppressed).toMatchObject({ reason: "previous_bounce" });

    await sendAndCollect("complained+again@resend.dev");
    const afterComplaint = await sendAndCollect("complained+again@resend.dev");
    expect(afterComplaint.events[0]?.data.suppressed).toMatchObject({ reason: "previous_complaint" });

    // Mixed recipients: the suppressed one is skipped, the other is sent.
    const mixed = await sendAndCollect(["bounced+again@resend.dev", "fine@events-mail.com"]);
    expect(mixed.sequence).toEqual(["email.suppressed", "email.sent", "email.delivered"]);
  });

  it("preloads suppressions and forces outcomes through the control routes", async () => {
    const preload = await fetch(`${h.standIn.url}/_sandbox/resend/suppressions`, {
      method: "POST",
      body: JSON.stringify({ email: "Old.User@events-mail.com", origin: "complaint" }),
    });
    expect(preload.status).toBe(201);
    const listed = (await (await fetch(`${h.standIn.url}/_sandbox/resend/suppressions`)).json()) as {
      data: { email: string; origin: string }[];
    };
    expect(listed.data).toContainEqual(
      expect.objectContaining({ email: "old.user@events-mail.com", origin: "complaint" }),
    );
    const suppressed = await sendAndCollect("old.user@events-mail.com");
    expect(suppressed.sequence).toEqual(["email.suppressed"]);

    const force = (body: unknown) =>
      fetch(`${h.standIn.url}/_sandbox/resend/outcomes`, { method: "POST", body: JSON.stringify(body) });
    expect(
      (await force({ address: "x@test.invalid", outcome: "bounced", bounce: { type: "Transient" } })).status,
    ).toBe(201);
    const soft = await sendAndCollect("x@test.invalid");
    expect(soft.sequence).toEqual(["email.sent", "email.bounced"]);
    expect(soft.events.find((e) => e.type === "email.bounced")?.data.bounce).toMatchObject({
      type: "Transient",
      subType: "MailboxFull",
    });
    expect(h.standIn.suppressions().map((s) => s.email)).not.toContain("x@test.invalid");

    await force({ address: "slow@test.invalid", outcome: "delivery_delayed" });
    expect((await sendAndCollect("slow@test.invalid")).sequence).toEqual([
      "email.sent",
      "email.delivery_delayed",
    ]);

    await force({ address: "quota@test.invalid", outcome: "failed", reason: "reached_daily_quota" });
    const failed = await sendAndCollect("quota@test.invalid");
    expect(failed.sequence).toEqual(["email.failed"]);
    expect(failed.events[0]?.data.failed).toEqual({ reason: "reached_daily_quota" });

    expect((await force({ address: "y@test.invalid", outcome: "exploded" })).status).toBe(400);
  });
});
