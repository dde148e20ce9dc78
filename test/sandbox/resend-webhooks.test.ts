import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Delivery } from "../../src/sandbox/core/svix-dispatcher";
import {
  assertDeclaredProperties,
  expectResendError,
  expectSpecSuccess,
  type ResendHarness,
  resendSpec,
  startResendHarness,
} from "./resend-harness";

let h: ResendHarness;
const from = "auth@hooks-mail.com";

beforeAll(async () => {
  h = await startResendHarness();
  h.standIn.addVerifiedDomain("hooks-mail.com");
});
afterAll(async () => {
  vi.useRealTimers();
  await h.close();
});

const headersOf = (hook: { headers: Record<string, string | string[] | undefined> }) => ({
  id: String(hook.headers["svix-id"]),
  timestamp: String(hook.headers["svix-timestamp"]),
  signature: String(hook.headers["svix-signature"]),
});

/** Runs the SDK's own verification on a received delivery, as a webhook handler would. */
function verifyDelivery(
  hook: { body: string; headers: Record<string, string | string[] | undefined> },
  webhookSecret: string,
  payload = hook.body,
) {
  return h.resend.webhooks.verify({ payload, headers: headersOf(hook), webhookSecret });
}

async function sendTo(to: string) {
  const res = await h.resend.emails.send({ from, to, subject: "s", text: "t" });
  expect(res.error).toBeNull();
  await h.standIn.settle();
  return res.data!.id;
}

describe("Resend stand-in: webhook management", () => {
  it("creates, gets, lists (without secrets), updates and removes webhooks to the OAS shapes", async () => {
    const created = expectSpecSuccess(
      await h.resend.webhooks.create({ endpoint: "https://hooks.example.net/a", events: ["email.bounced"] }),
      "POST",
      "/webhooks",
      201,
    );
    expect(created.object).toBe("webhook");
    expect(created.signing_secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);

    const got = expectSpecSuccess(await h.resend.webhooks.get(created.id), "GET", "/webhooks/{webhook_id}");
    expect(got).toMatchObject({
      object: "webhook",
      id: created.id,
      endpoint: "https://hooks.example.net/a",
      events: ["email.bounced"],
      status: "enabled",
      signing_secret: created.signing_secret,
    });

    const list = expectSpecSuccess(await h.resend.webhooks.list(), "GET", "/webhooks");
    const item = list.data.find((w) => w.id === created.id);
    expect(item).toBeDefined();
    expect(item).not.toHaveProperty("signing_secret");

    const updated = expectSpecSuccess(
      await h.resend.webhooks.update(created.id, {
        events: ["email.sent", "email.bounced"],
        status: "disabled",
      }),
      "PATCH",
      "/webhooks/{webhook_id}",
    );
    expect(updated).toEqual({ object: "webhook", id: created.id });
    expect((await h.resend.webhooks.get(created.id)).data).toMatchObject({
      events: ["email.sent", "email.bounced"],
      status: "disabled",
    });

    const removed = expectSpecSuccess(
      await h.resend.webhooks.remove(created.id),
      "DELETE",
      "/webhooks/{webhook_id}",
    );
    expect(removed).toEqual({ object: "webhook", id: created.id, deleted: true });
    expectResendError(await h.resend.webhooks.get(created.id), 404, "not_found");
  });

  it("validates endpoint, events and ids", async () => {
    expectResendError(
      await h.resend.webhooks.create({ endpoint: "not a url", events: ["email.sent"] }),
      422,
      "validation_error",
      /endpoint/,
    );
    expectResendError(
      await h.resend.webhooks.create({ endpoint: "https://h.example.net", events: [] }),
      422,
      "validation_error",
      /events/,
    );
    expectResendError(
      await h.resend.webhooks.create({
        endpoint: "https://h.example.net",
        events: ["email.exploded" as never],
      }),
      422,
      "validation_error",
      /email\.exploded/,
    );
    expectResendError(
      await h.resend.webhooks.create({ endpoint: "https://h.example.net" } as never),
      422,
      "missing_required_field",
    );
    expectResendError(await h.resend.webhooks.get("not-a-uuid"), 422, "invalid_parameter");
  });
});

describe("Resend stand-in: webhook delivery", () => {
  it("signs deliveries so resend.webhooks.verify accepts them, and rejects tampering and stale timestamps", async () => {
    const hook = (await h.resend.webhooks.create({ endpoint: h.receiver.url, events: ["email.delivered"] }))
      .data!;
    const emailId = await sendTo("delivered+sig@resend.dev");
    const delivery = h.receiver.received.find((r) => r.body.includes(emailId))!;
    expect(delivery).toBeDefined();
    // Filtered by `events`: email.sent was not subscribed.
    expect(
      h.receiver.received.filter((r) => r.body.includes(emailId)).map((r) => JSON.parse(r.body).type),
    ).toEqual(["email.delivered"]);

    const verified = verifyDelivery(delivery, hook.signing_secret);
    expect(verified).toMatchObject({ type: "email.delivered", data: { email_id: emailId } });

    expect(() =>
      verifyDelivery(delivery, hook.signing_secret, delivery.body.replace("delivered+sig", "delivered+sih")),
    ).toThrow(/No matching signature found/);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 5 * 60_000 + 2_000);
    try {
      expect(() => verifyDelivery(delivery, hook.signing_secret)).toThrow(/timestamp too old/);
    } finally {
      vi.useRealTimers();
    }
    await h.resend.webhooks.remove(hook.id);
  });

  it("retries failed deliveries on the Svix schedule with the same svix-id, visible in the control route", async () => {
    const hook = (await h.resend.webhooks.create({ endpoint: h.receiver.url, events: ["email.bounced"] }))
      .data!;
    h.receiver.respondWith(500, 503);
    const emailId = await sendTo("bounced+retry@resend.dev");
    const attempts = h.receiver.received.filter((r) => r.body.includes(emailId));
    expect(attempts.map((a) => a.status)).toEqual([500, 503, 200]);
    expect(new Set(attempts.map((a) => a.headers["svix-id"])).size).toBe(1);

    const deliveries = (await (
      await fetch(`${h.standIn.url}/_sandbox/resend/webhook-deliveries`)
    ).json()) as {
      data: Delivery[];
    };
    const mine = deliveries.data.find((d) => d.body.includes(emailId) && d.endpointId === hook.id);
    expect(mine).toMatchObject({ state: "succeeded", eventType: "email.bounced" });
    expect(mine?.attempts.map((a) => a.status)).toEqual([500, 503, 200]);
    await h.resend.webhooks.remove(hook.id);
  });

  it("delivers nothing to a disabled webhook", async () => {
    const hook = (await h.resend.webhooks.create({ endpoint: h.receiver.url, events: ["email.sent"] })).data!;
    await h.resend.webhooks.update(hook.id, { status: "disabled" });
    const emailId = await sendTo("delivered+off@resend.dev");
    expect(h.receiver.received.some((r) => r.body.includes(emailId))).toBe(false);
    await h.resend.webhooks.remove(hook.id);
  });

  it("rotates the signing secret: old and new both sign during the overlap, then only the new", async () => {
    const hook = (await h.resend.webhooks.create({ endpoint: h.receiver.url, events: ["email.sent"] })).data!;
    const rotated = await h.resend.webhooks.rotateSigningSecret(hook.id);
    expect(rotated.error).toBeNull();
    // The rotate route is missing from the OAS; its answer has the create answer's shape.
    resendSpec.assertComponent("CreateWebhookResponse", rotated.data);
    assertDeclaredProperties(
      resendSpec.deref({ $ref: "#/components/schemas/CreateWebhookResponse" }),
      rotated.data,
      "rotate",
    );
    const fresh = rotated.data!.signing_secret;
    expect(fresh).not.toBe(hook.signing_secret);
    expect((await h.resend.webhooks.get(hook.id)).data?.signing_secret).toBe(fresh);

    const during = await sendTo("delivered+rot1@resend.dev");
    const duringHook = h.receiver.received.find((r) => r.body.includes(during))!;
    expect(String(duringHook.headers["svix-signature"]).split(" ")).toHaveLength(2);
    for (const secret of [hook.signing_secret, fresh]) {
      expect(() => verifyDelivery(duringHook, secret)).not.toThrow();
    }

    // 24 h at timeScale 1e-5 is 0.864 s.
    await new Promise((r) => setTimeout(r, 950));
    const after = await sendTo("delivered+rot2@resend.dev");
    const afterHook = h.receiver.received.find((r) => r.body.includes(after))!;
    expect(() => verifyDelivery(afterHook, fresh)).not.toThrow();
    expect(() => verifyDelivery(afterHook, hook.signing_secret)).toThrow(/No matching signature/);
  });
});
