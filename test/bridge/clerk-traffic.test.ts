import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INVITATION_LIFETIME_SECONDS } from "../../src/bridge/clerk-templates";
import { METRICS } from "../../src/bridge/telemetry";
import type { EmailEventData, EmailRecord } from "../../src/sandbox/clerk";
import { TemplateStore } from "../../src/sandbox/clerk/templates";
import { prefixedId } from "../../src/sandbox/core/ids";
import { contract, SPECS } from "../support/openapi";
import { type Pipeline, startPipeline } from "./harness";

/**
 * Clerk's email traffic as the Clerk stand-in produces it (its flows, its templates, its webhooks through
 * Svix), every template switched to self-delivery, through the bridge to the Resend stand-in.
 */

const hooks = contract(SPECS.clerkWebhooks);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The pipeline with every email template the Clerk instance lists switched to self-delivery. */
function everyTemplateSelfDelivered(options: Parameters<typeof startPipeline>[0] = {}) {
  const slugs = new TemplateStore(0).list("email").map((t) => t.slug);
  return startPipeline({ ...options, selfDelivered: slugs });
}

/**
 * A copy of an `email.created` the stand-in emitted (its envelope and data, shaped by Clerk's webhook spec),
 * as if Clerk had created it `ageMs` ago: a new email id, so the bridge sees a new email.
 */
function agedCopy(p: Pipeline, record: EmailRecord, ageMs: number, patch: Partial<EmailEventData> = {}) {
  const emitted = p.clerk
    .events()
    .find((e) => e.type === "email.created" && (e.payload.data as EmailEventData).id === record.email.id);
  if (!emitted) throw new Error(`the stand-in emitted no email.created for ${record.email.id}`);
  const data = { ...(emitted.payload.data as EmailEventData), id: prefixedId("ema"), ...patch };
  const payload = { ...emitted.payload, timestamp: Date.now() - ageMs, data };
  hooks.assertSchema(hooks.webhookSchema("email.created"), payload, "email.created");
  return payload;
}

describe("Clerk's email traffic through the bridge", () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await everyTemplateSelfDelivered();
  });
  afterAll(() => p.close());

  const sentTo = (address: string) => p.resend.emails().filter((e) => e.to.includes(address));
  const statusOf = async (emailId: string) => (await p.bridge.store.getSend(emailId))?.status;
  const emailsSince = (count: number) => p.clerk.emails().slice(count);

  it("sends every auth template a user can route with Clerk's subject, HTML and text", async () => {
    const i = p.clerk.instance;
    const first = p.clerk.emails().length;
    const { user } = i.signUp("ada@example.org", { verify: true });
    i.signIn("ada@example.org", "email_code");
    i.signIn("ada@example.org", "email_link");
    i.signUp("linked@example.org", { strategy: "email_link" });
    i.requestPasswordReset("ada@example.org");
    const added = i.addEmailAddress(user!.id, "ada@work.example.org", {}, "email_link");
    i.verifyEmailAddress(added.emailAddress.id, added.code);
    i.setPrimaryEmail(user!.id, added.emailAddress.id);
    i.createInvitation({ emailAddress: "invitee@example.org", expiresInDays: 7 });
    i.createInvitation({ emailAddress: "waiting@example.org", templateSlug: "waitlist_invitation" });
    // Templates the stand-in has no flow for, rendered by the instance the way its flows render them.
    const newcomer = { address: "member@example.org", emailAddressId: null, user: null };
    i.sendEmail(
      "organization_invitation",
      newcomer,
      {
        action_url: "https://accounts.acme.test/accept?ticket=t",
        inviter_name: "Ada",
        org: { name: "Labs" },
      },
      {},
    );
    const owner = {
      address: "ada@work.example.org",
      emailAddressId: added.emailAddress.id,
      user: i.user(user!.id),
    };
    for (const slug of ["password_changed", "password_removed", "waitlist_confirmation"])
      i.sendEmail(slug, owner, {}, {});
    for (const slug of ["passkey_added", "passkey_removed"])
      i.sendEmail(slug, owner, { passkey_name: "Laptop" }, {});
    await p.settle();

    const rendered = emailsSince(first);
    expect(new Set(rendered.map((r) => r.email.slug))).toEqual(
      new Set(i.templates.list("email").map((t) => t.slug)),
    );
    for (const { email } of rendered) {
      expect(email.delivered_by_clerk, email.slug ?? "").toBe(false);
      const sent = p.resend.emails().filter((e) => e.headers["X-Entity-Ref-ID"] === email.id);
      expect(sent, email.slug ?? "").toHaveLength(1);
      expect(sent[0], email.slug ?? "").toMatchObject({
        to: [email.to_email_address],
        subject: email.subject,
        html: email.body,
        text: email.body_plain,
      });
      expect(sent[0]?.tags, email.slug ?? "").toContainEqual({ name: "template", value: email.slug });
      expect(await statusOf(email.id), email.slug ?? "").toBe("sent");
    }
  });

  it("never sends to Clerk test-mode recipients: acknowledged, recorded test_mode, counted", async () => {
    const i = p.clerk.instance;
    const address = "jane+clerk_test@example.org";
    const testModeBefore = p.bridge.telemetry.totals[METRICS.testMode] ?? 0;
    const sentBefore = p.bridge.telemetry.totals[METRICS.sent] ?? 0;
    const signUp = i.signUp(address, { verify: true });
    const link = i.signIn(address, "email_link");
    const reset = i.requestPasswordReset(address);
    await p.settle();

    expect(signUp.code).toBe("424242");
    expect(sentTo(address)).toEqual([]);
    for (const record of [signUp.email, link, reset]) {
      expect(await p.bridge.store.getSend(record.email.id)).toMatchObject({
        status: "test_mode",
        to: address,
        slug: record.email.slug,
      });
      const emitted = p.clerk.events().find((e) => (e.payload.data as EmailEventData).id === record.email.id);
      // Svix was answered 2xx at once: nothing left to retry.
      expect(emitted?.deliveries.map((d) => [d.state, d.attempts.length])).toEqual([["succeeded", 1]]);
    }
    expect(p.bridge.telemetry.totals[METRICS.testMode]).toBe(testModeBefore + 3);
    expect(p.bridge.telemetry.totals[METRICS.sent] ?? 0).toBe(sentBefore);
  });

  it("sends to a +clerk_test address when the instance's test mode is off: its code is real", async () => {
    const i = p.clerk.instance;
    const address = "prod+clerk_test@example.org";
    i.testMode = false;
    try {
      const signUp = i.signUp(address);
      await p.settle();
      expect(sentTo(address)).toHaveLength(1);
      expect(sentTo(address)[0]?.subject).toBe(`${signUp.code} is your verification code`);
      expect(await statusOf(signUp.email.email.id)).toBe("sent");
    } finally {
      i.testMode = true;
    }
  });

  it("drops each template's emails only after that template's lifetime", async () => {
    const i = p.clerk.instance;
    const code = i.signUp("lifetimes@example.org", { verify: true }).email;
    const invitation = i.createInvitation({ emailAddress: "lifetimes-invitee@example.org", expiresInDays: 7 })
      .email!;
    const plainInvitation = i.createInvitation({ emailAddress: "lifetimes-invitee2@example.org" }).email!;
    const link = i.signIn("lifetimes@example.org", "email_link");
    const notice = i.sendEmail(
      "password_changed",
      { address: "lifetimes@example.org", emailAddressId: null, user: null },
      {},
      {},
    );
    await p.settle();

    const cases: Array<[string, EmailRecord, number, "sent" | "dropped_stale", Partial<EmailEventData>?]> = [
      ["code at 9 minutes", code, 9 * MINUTE, "sent"],
      ["code at 11 minutes", code, 11 * MINUTE, "dropped_stale"],
      ["link at 9 minutes", link, 9 * MINUTE, "sent"],
      ["link at 11 minutes", link, 11 * MINUTE, "dropped_stale"],
      ["7-day invitation at 6 days", invitation, 6 * DAY, "sent"],
      ["7-day invitation at 8 days", invitation, 8 * DAY, "dropped_stale"],
      ["default invitation at 29 days", plainInvitation, 29 * DAY, "sent"],
      [
        "default invitation at 31 days",
        plainInvitation,
        INVITATION_LIFETIME_SECONDS * 1000 + DAY,
        "dropped_stale",
      ],
      ["notice at 23 hours", notice, 23 * HOUR, "sent"],
      ["notice at 25 hours", notice, 25 * HOUR, "dropped_stale"],
      ["unknown template at 9 minutes", notice, 9 * MINUTE, "sent", { slug: "shiny_new_template" }],
      [
        "unknown template at 11 minutes",
        notice,
        11 * MINUTE,
        "dropped_stale",
        { slug: "shiny_new_template" },
      ],
    ];
    const ids: string[] = [];
    for (const [label, record, age, , patch] of cases) {
      const payload = agedCopy(p, record, age, patch);
      expect((await p.deliver("clerk", payload)).status, label).toBe(202);
      ids.push(payload.data.id);
    }
    await p.settle();
    for (const [index, [label, , , expected]] of cases.entries()) {
      expect(await statusOf(ids[index]!), label).toBe(expected);
    }
  });

  it("acknowledges an email.created without to_email_address and refuses the misspelled emails.created", async () => {
    const record = p.clerk.instance.signUp("unaddressed@example.org").email;
    await p.settle();
    const sendsBefore = p.resend.emails().length;
    const unaddressed = agedCopy(p, record, 0);
    delete (unaddressed.data as Partial<EmailEventData>).to_email_address;
    hooks.assertSchema(hooks.webhookSchema("email.created"), unaddressed, "email.created");
    const acknowledged = await p.deliver("clerk", unaddressed);
    expect(acknowledged.status).toBe(200);
    expect(await acknowledged.json()).toMatchObject({ status: "ignored" });

    const misspelled = { ...agedCopy(p, record, 0), type: "emails.created" };
    const refused = await p.deliver("clerk", misspelled);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('Clerk sends \\"email.created\\"');
    await p.settle();
    for (const payload of [unaddressed, misspelled]) expect(await statusOf(payload.data.id)).toBeUndefined();
    expect(p.resend.emails()).toHaveLength(sendsBefore);
  });
});

describe("per-template lifetimes from the stack's codeLifetimes", () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await everyTemplateSelfDelivered({
      bridge: { settings: { codeLifetimes: { invitation: 3_600, verification_code: 120 } } },
    });
  });
  afterAll(() => p.close());

  it("replace the built-in lifetime of the slugs they name and leave the others alone", async () => {
    const i = p.clerk.instance;
    const invitation = i.createInvitation({ emailAddress: "invitee@example.org" }).email!;
    const code = i.signUp("ada@example.org", { verify: true }).email;
    const link = i.signIn("ada@example.org", "email_link");
    await p.settle();
    const aged = (record: EmailRecord, ageMs: number) => agedCopy(p, record, ageMs);
    const cases = [
      [aged(invitation, 50 * MINUTE), "sent"],
      [aged(invitation, 2 * HOUR), "dropped_stale"],
      [aged(code, MINUTE), "sent"],
      [aged(code, 3 * MINUTE), "dropped_stale"],
      [aged(link, 9 * MINUTE), "sent"],
    ] as const;
    for (const [payload] of cases) expect((await p.deliver("clerk", payload)).status).toBe(202);
    await p.settle();
    for (const [payload, expected] of cases) {
      expect((await p.bridge.store.getSend(payload.data.id))?.status).toBe(expected);
    }
  });
});
