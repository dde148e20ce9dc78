import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SentEmail } from "../../src/sandbox/resend";
import {
  expectResendError,
  expectSpecSuccess,
  type ResendHarness,
  rawApi,
  startResendHarness,
} from "./resend-harness";

let h: ResendHarness;
const from = "Acme <auth@acme-mail.com>";

beforeAll(async () => {
  h = await startResendHarness();
  h.standIn.addVerifiedDomain("acme-mail.com");
});
afterAll(async () => {
  await h.close();
});

describe("Resend stand-in: POST /emails", () => {
  it("accepts a valid email, returns its id, and shows it via GET /emails/{id} and the control route", async () => {
    const sent = expectSpecSuccess(
      await h.resend.emails.send(
        {
          from,
          to: "delivered@resend.dev",
          cc: ["cc@acme-mail.com"],
          replyTo: "support@acme-mail.com",
          subject: "Your code",
          html: "<p>123456</p>",
          headers: { "X-Entity-Ref-ID": "ref-1" },
          tags: [{ name: "category", value: "verification_code" }],
        },
        { idempotencyKey: "otp/1" },
      ),
      "POST",
      "/emails",
    );
    expect(sent.id).toMatch(/^[0-9a-f-]{36}$/);

    const got = expectSpecSuccess(await h.resend.emails.get(sent.id), "GET", "/emails/{email_id}");
    expect(got).toMatchObject({
      object: "email",
      id: sent.id,
      from,
      to: ["delivered@resend.dev"],
      cc: ["cc@acme-mail.com"],
      bcc: [],
      reply_to: ["support@acme-mail.com"],
      subject: "Your code",
      html: "<p>123456</p>",
    });
    expect(["queued", "sent", "delivered"]).toContain(got.last_event);
    await h.standIn.settle();
    expect((await h.resend.emails.get(sent.id)).data?.last_event).toBe("delivered");

    const inspected = (await (await fetch(`${h.standIn.url}/_sandbox/resend/emails`)).json()) as {
      data: SentEmail[];
    };
    const mine = inspected.data.find((e) => e.id === sent.id);
    expect(mine).toMatchObject({
      headers: { "X-Entity-Ref-ID": "ref-1" },
      tags: [{ name: "category", value: "verification_code" }],
      idempotencyKey: "otp/1",
      batch: false,
    });
    // One delivery event per recipient (to and cc), each naming only that recipient.
    expect(mine?.events.map((e) => `${e.type} ${e.to.join(",")}`)).toEqual([
      "email.sent delivered@resend.dev",
      "email.delivered delivered@resend.dev",
      "email.delivered cc@acme-mail.com",
    ]);

    const list = expectSpecSuccess(await h.resend.emails.list({ limit: 1 }), "GET", "/emails");
    expect(list.data[0]?.id).toBe(h.standIn.emails().at(-1)?.id);
    expectResendError(await h.resend.emails.get("00000000-0000-4000-8000-000000000000"), 404, "not_found");
  });

  it("rejects missing and malformed fields with 422 and names the field", async () => {
    const base = { from, to: "delivered@resend.dev", subject: "s", text: "t" };
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...base, from: undefined }, "missing_required_field", /`from`/],
      [{ ...base, to: undefined }, "missing_required_field", /`to`/],
      [{ ...base, subject: undefined }, "missing_required_field", /`subject`/],
      [{ ...base, text: undefined }, "missing_required_field", /`html` or `text`/],
      [{ ...base, from: "not an address" }, "validation_error", /Invalid `from` field/],
      [{ ...base, to: ["ok@acme-mail.com", "nope"] }, "validation_error", /Invalid `to` field/],
      [{ ...base, to: "someone@example.com" }, "validation_error", /testing email address/],
      [
        { ...base, to: Array.from({ length: 51 }, (_, i) => `r${i}@acme-mail.com`) },
        "validation_error",
        /at most 50/,
      ],
      [{ ...base, tags: [{ name: "has space", value: "x" }] }, "validation_error", /tags/],
      [{ ...base, tags: [{ name: "ok", value: "bad/value" }] }, "validation_error", /tags/],
      [{ ...base, template: { id: "tpl_1" } }, "validation_error", /template/],
      [{ ...base, scheduledAt: "in 45 days" }, "validation_error", /scheduled_at/],
      [{ ...base, headers: { "X-N": 1 } }, "validation_error", /headers/],
    ];
    for (const [payload, name, message] of cases) {
      expectResendError(await h.resend.emails.send(payload as never), 422, name, message);
    }
    expect(h.standIn.emails().some((e) => e.subject === "s")).toBe(false);
  });

  it("sends only from a verified domain, and from resend.dev only to resend.dev test inboxes", async () => {
    await h.resend.domains.create({ name: "unverified-mail.com" });
    expectResendError(
      await h.resend.emails.send({
        from: "a@unverified-mail.com",
        to: "x@acme-mail.com",
        subject: "s",
        text: "t",
      }),
      403,
      "validation_error",
      /The `unverified-mail\.com` domain is not verified/,
    );
    expectResendError(
      await h.resend.emails.send({
        from: "a@never-added.com",
        to: "x@acme-mail.com",
        subject: "s",
        text: "t",
      }),
      403,
      "validation_error",
      /not verified/,
    );
    expectResendError(
      await h.resend.emails.send({
        from: "onboarding@resend.dev",
        to: "x@acme-mail.com",
        subject: "s",
        text: "t",
      }),
      403,
      "validation_error",
      /only send testing emails to your own email address/,
    );
    const sandbox = await h.resend.emails.send({
      from: "onboarding@resend.dev",
      to: "delivered@resend.dev",
      subject: "s",
      text: "t",
    });
    expect(sandbox.error).toBeNull();
  });

  it("keeps a sandbox-verified domain verified across re-checks, though its records are in no DNS", async () => {
    await h.standIn.recheckVerifiedDomains();
    const listed = (await h.resend.domains.list()).data!.data.find((d) => d.name === "acme-mail.com")!;
    const domain = (await h.resend.domains.get(listed.id)).data!;
    expect(domain.status).toBe("verified");
    expect(domain.records.map((r) => r.status)).toEqual(["verified", "verified", "verified"]);
    const sent = await h.resend.emails.send({ from, to: "delivered@resend.dev", subject: "s", text: "t" });
    expect(sent.error).toBeNull();
  });

  it("schedules an email: email.scheduled first, then sent once the time comes", async () => {
    const at = new Date(Date.now() + 60_000).toISOString();
    const sent = await h.resend.emails.send({
      from,
      to: "delivered@resend.dev",
      subject: "later",
      text: "t",
      scheduledAt: at,
    });
    const email = h.standIn.emails().find((e) => e.id === sent.data?.id);
    expect(email?.scheduledAt).toBe(at);
    await h.standIn.settle();
    expect(email?.events.map((e) => e.type)).toEqual(["email.scheduled", "email.sent", "email.delivered"]);
  });
});

describe("Resend stand-in: POST /emails/batch", () => {
  const item = (to: string) => ({ from, to, subject: "batch", text: "t" });

  it("sends up to 100 emails and answers their ids in input order", async () => {
    const result = expectSpecSuccess(
      await h.resend.batch.send([item("a@acme-mail.com"), item("b@acme-mail.com")]),
      "POST",
      "/emails/batch",
    );
    expect(result.data).toHaveLength(2);
    const sent = result.data.map((r) => h.standIn.emails().find((e) => e.id === r.id));
    expect(sent.map((e) => e?.to[0])).toEqual(["a@acme-mail.com", "b@acme-mail.com"]);
    expect(sent.every((e) => e?.batch)).toBe(true);
  });

  it("fails the whole batch in strict mode and reports per-index errors in permissive mode", async () => {
    const before = h.standIn.emails().length;
    const strict = await h.resend.batch.send([item("ok@acme-mail.com"), item("broken")]);
    expectResendError(strict, 422, "validation_error", /^emails\[1\]: Invalid `to` field/);
    expect(h.standIn.emails().length).toBe(before);

    const permissive = await h.resend.batch.send([item("ok@acme-mail.com"), item("broken")], {
      batchValidation: "permissive",
    });
    expect(permissive.error).toBeNull();
    expect(permissive.data?.data).toHaveLength(1);
    expect(permissive.data).toMatchObject({ errors: [{ index: 1, message: expect.stringMatching(/`to`/) }] });
    expect(h.standIn.emails().length).toBe(before + 1);
  });

  it("takes tags and scheduled_at per email, and replays a permissive batch's answer under its key", async () => {
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const batch = [
      {
        ...item("tagged@acme-mail.com"),
        tags: [{ name: "clerk_email_id", value: "ema_1" }],
        scheduledAt: at,
      },
      item("also broken"),
    ];
    const options = { batchValidation: "permissive" as const, idempotencyKey: "clerk-batch/replay" };
    const first = await h.resend.batch.send(batch, options);
    expect(first.error).toBeNull();
    const sent = h.standIn.emails().find((e) => e.id === first.data?.data[0]?.id);
    expect(sent).toMatchObject({
      tags: [{ name: "clerk_email_id", value: "ema_1" }],
      scheduledAt: at,
      batch: true,
    });
    const before = h.standIn.emails().length;
    const replay = await h.resend.batch.send(batch, options);
    expect(replay.data).toEqual(first.data);
    expect(replay.data).toMatchObject({ errors: [{ index: 1 }] });
    expect(h.standIn.emails().length).toBe(before);
  });

  it("counts a batch as one request against the team's rate limit, whatever its size", async () => {
    const limit = h.standIn.rateLimitPerSecond;
    h.standIn.rateLimitPerSecond = 2;
    try {
      const hundred = (tag: string) =>
        Array.from({ length: 100 }, (_, i) => item(`${tag}${i}@acme-mail.com`));
      const answers = [
        await h.resend.batch.send(hundred("one")),
        await h.resend.batch.send(hundred("two")),
        await h.resend.batch.send(hundred("three")),
      ];
      expect(answers.slice(0, 2).map((a) => a.data?.data.length)).toEqual([100, 100]);
      expectResendError(answers[2]!, 429, "rate_limit_exceeded", /2 requests per second/);
      expect(answers[2]!.headers?.["retry-after"]).toMatch(/^\d+$/);
    } finally {
      h.standIn.rateLimitPerSecond = limit;
    }
  });

  it("rejects more than 100 emails, attachments and a non-array body", async () => {
    const many = Array.from({ length: 101 }, (_, i) => item(`r${i}@acme-mail.com`));
    expectResendError(await h.resend.batch.send(many), 422, "validation_error", /between 1 and 100/);
    const withAttachment = [
      { ...item("a@acme-mail.com"), attachments: [{ filename: "a.txt", content: "aGk=" }] },
    ];
    expectResendError(
      await h.resend.batch.send(withAttachment as never),
      422,
      "validation_error",
      /attachments/,
    );
    const notArray = await rawApi(h, "POST", "/emails/batch", item("a@acme-mail.com"));
    expect(notArray.status).toBe(422);
  });
});
