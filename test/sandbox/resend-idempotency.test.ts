import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  expectResendError,
  expectSpecSuccess,
  type ResendHarness,
  rawApi,
  startResendHarness,
} from "./resend-harness";

let h: ResendHarness;
const email = (subject: string) => ({
  from: "auth@idem-mail.com",
  to: "delivered@resend.dev",
  subject,
  text: "t",
});

beforeAll(async () => {
  h = await startResendHarness();
  h.standIn.addVerifiedDomain("idem-mail.com");
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.standIn.sendLatencyMs = 0;
});

const sentWithKey = (key: string) => h.standIn.emails().filter((e) => e.idempotencyKey === key);

describe("Resend stand-in: Idempotency-Key", () => {
  it("answers a repeat (same key, same body) with the original id and sends nothing twice", async () => {
    const first = expectSpecSuccess(
      await h.resend.emails.send(email("a"), { idempotencyKey: "welcome/1" }),
      "POST",
      "/emails",
    );
    const again = expectSpecSuccess(
      await h.resend.emails.send(email("a"), { idempotencyKey: "welcome/1" }),
      "POST",
      "/emails",
    );
    expect(again.id).toBe(first.id);
    expect(sentWithKey("welcome/1")).toHaveLength(1);
  });

  it("refuses the same key with a different body: 409 invalid_idempotent_request", async () => {
    await h.resend.emails.send(email("b"), { idempotencyKey: "welcome/2" });
    expectResendError(
      await h.resend.emails.send(email("b, changed"), { idempotencyKey: "welcome/2" }),
      409,
      "invalid_idempotent_request",
    );
    expect(sentWithKey("welcome/2")).toHaveLength(1);
  });

  it("refuses the same key while the first request is in flight: 409 concurrent_idempotent_requests", async () => {
    h.standIn.sendLatencyMs = 150;
    const [one, two] = await Promise.all([
      h.resend.emails.send(email("c"), { idempotencyKey: "welcome/3" }),
      new Promise((r) => setTimeout(r, 30)).then(() =>
        h.resend.emails.send(email("c"), { idempotencyKey: "welcome/3" }),
      ),
    ]);
    expect(one.error).toBeNull();
    expectResendError(two, 409, "concurrent_idempotent_requests");
    // Once the first finished, a retry gets its answer.
    const retry = await h.resend.emails.send(email("c"), { idempotencyKey: "welcome/3" });
    expect(retry.data?.id).toBe(one.data?.id);
    expect(sentWithKey("welcome/3")).toHaveLength(1);
  });

  it("rejects keys outside 1–256 characters with 400 invalid_idempotency_key", async () => {
    expectResendError(
      await h.resend.emails.send(email("d"), { idempotencyKey: "k".repeat(257) }),
      400,
      "invalid_idempotency_key",
    );
    const empty = await rawApi(h, "POST", "/emails", email("d"), { "idempotency-key": "" });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ name: "invalid_idempotency_key" });
    const longest = await h.resend.emails.send(email("d"), { idempotencyKey: "k".repeat(256) });
    expect(longest.error).toBeNull();
  });

  it("keeps no answer for a rejected request, scopes keys per endpoint, and covers batches", async () => {
    const rejected = await h.resend.emails.send(
      { ...email("e"), to: "bad" },
      { idempotencyKey: "welcome/5" },
    );
    expectResendError(rejected, 422, "validation_error");
    const fixed = await h.resend.emails.send(email("e"), { idempotencyKey: "welcome/5" });
    expect(fixed.error).toBeNull();

    const batch = [email("f1"), email("f2")];
    const firstBatch = await h.resend.batch.send(batch, { idempotencyKey: "welcome/5" });
    expect(firstBatch.error).toBeNull();
    const secondBatch = await h.resend.batch.send(batch, { idempotencyKey: "welcome/5" });
    expect(secondBatch.data).toEqual(firstBatch.data);
    expectResendError(
      await h.resend.batch.send([email("f1")], { idempotencyKey: "welcome/5" }),
      409,
      "invalid_idempotent_request",
    );
    expect(sentWithKey("welcome/5")).toHaveLength(3);
  });
});
