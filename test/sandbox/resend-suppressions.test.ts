import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectResendError,
  expectSpecSuccess,
  type ResendHarness,
  resendSpec,
  startResendHarness,
} from "./resend-harness";

let h: ResendHarness;
const from = "auth@supp-mail.com";

beforeAll(async () => {
  h = await startResendHarness();
  h.standIn.addVerifiedDomain("supp-mail.com");
});
afterAll(async () => {
  await h.close();
});

async function send(to: string) {
  const res = await h.resend.emails.send({ from, to, subject: "s", text: "t" });
  expect(res.error).toBeNull();
  await h.standIn.settle();
  return h.standIn.emails().find((e) => e.id === res.data!.id)!;
}

/**
 * The OAS marks `source_id` with `nullable: true`, an OpenAPI 3.0 keyword that its 3.1 document
 * cannot express, so a manual entry's `source_id: null` is checked here and the rest against the spec.
 */
function withoutNullSource<T extends { source_id: string | null }>(entry: T): T {
  expect(entry.source_id === null || typeof entry.source_id === "string").toBe(true);
  return entry.source_id === null ? { ...entry, source_id: "manual" } : entry;
}

describe("Resend stand-in: /suppressions", () => {
  it("lists bounce suppressions with their source email and gets one by email or id", async () => {
    const bounced = await send("bounced+list@resend.dev");
    const list = expectSpecSuccess(
      await h.resend.suppressions.list({ origin: "bounce" }),
      "GET",
      "/suppressions",
    );
    const entry = list.data.find((s) => s.email === "bounced+list@resend.dev");
    expect(entry).toMatchObject({ origin: "bounce", source_id: bounced.id });
    expect(entry?.created_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\+00$/);

    const byEmail = expectSpecSuccess(
      await h.resend.suppressions.get("bounced+list@resend.dev"),
      "GET",
      "/suppressions/{suppression}",
    );
    expect(byEmail).toMatchObject({ object: "suppression", id: entry?.id });
    expect((await h.resend.suppressions.get(entry!.id)).data?.email).toBe("bounced+list@resend.dev");
    expectResendError(await h.resend.suppressions.get("nobody@supp-mail.com"), 404, "not_found");
    expectResendError(await h.resend.suppressions.list({ origin: "spam" as never }), 422, "validation_error");
  });

  it("adds manually (suppression.added), after which sends are suppressed, and removes (suppression.removed)", async () => {
    const added = expectSpecSuccess(
      await h.resend.suppressions.add({ email: "manual@supp-mail.com" }),
      "POST",
      "/suppressions",
      201,
    );
    const got = (await h.resend.suppressions.get("manual@supp-mail.com")).data!;
    resendSpec.assertResponse("GET", "/suppressions/{suppression}", 200, withoutNullSource(got));
    expect(got).toMatchObject({ id: added.id, origin: "manual", source_id: null });
    expect((await send("manual@supp-mail.com")).events.map((e) => e.type)).toEqual(["email.suppressed"]);

    const removed = expectSpecSuccess(
      await h.resend.suppressions.remove("manual@supp-mail.com"),
      "DELETE",
      "/suppressions/{suppression}",
    );
    expect(removed).toEqual({ object: "suppression", id: added.id, deleted: true });
    expect((await send("manual@supp-mail.com")).events.map((e) => e.type)).toEqual([
      "email.sent",
      "email.delivered",
    ]);
    const announced = h.standIn
      .events()
      .filter((e) => (e.data as { id?: string }).id === added.id)
      .map((e) => e.type);
    expect(announced).toEqual(["suppression.added", "suppression.removed"]);
    expectResendError(await h.resend.suppressions.add({ email: "not an address" }), 422, "validation_error");
  });

  it("adds and removes in batches", async () => {
    const emails = ["b1@supp-mail.com", "b2@supp-mail.com"];
    const added = expectSpecSuccess(
      await h.resend.suppressions.batch.add({ emails }),
      "POST",
      "/suppressions/batch/add",
      201,
    );
    expect(added.data).toHaveLength(2);
    const removed = expectSpecSuccess(
      await h.resend.suppressions.batch.remove({ ids: added.data.map((d) => d.id) }),
      "POST",
      "/suppressions/batch/remove",
    );
    expect(removed.data.map((d) => d.deleted)).toEqual([true, true]);
    expect(h.standIn.suppressions().map((s) => s.email)).not.toContain("b1@supp-mail.com");
    expectResendError(
      await h.resend.suppressions.batch.remove({ emails, ids: ["x"] } as never),
      422,
      "validation_error",
      /either/,
    );
  });

  it("removes a suppression named twice in one batch once, with one suppression.removed", async () => {
    const email = "twice@supp-mail.com";
    const added = expectSpecSuccess(await h.resend.suppressions.add({ email }), "POST", "/suppressions", 201);
    const removed = expectSpecSuccess(
      await h.resend.suppressions.batch.remove({ emails: [email, email.toUpperCase()] }),
      "POST",
      "/suppressions/batch/remove",
    );
    expect(removed.data.map((d) => d.id)).toEqual([added.id]);
    const announced = h.standIn
      .events()
      .filter((e) => e.type === "suppression.removed" && (e.data as { id?: string }).id === added.id);
    expect(announced).toHaveLength(1);
  });
});
