import { Resend } from "resend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectResendError,
  expectSpecSuccess,
  type ResendHarness,
  rawApi,
  startResendHarness,
} from "./resend-harness";

let h: ResendHarness;
let keyDomain: { id: string; name: string };

beforeAll(async () => {
  h = await startResendHarness();
  keyDomain = h.standIn.addVerifiedDomain("keys-mail.com");
  h.standIn.addVerifiedDomain("other-mail.com");
});
afterAll(async () => {
  await h.close();
});

const clientFor = (token: string) => new Resend(token, { baseUrl: h.standIn.url });
const mail = (from: string) => ({ from, to: "delivered@resend.dev", subject: "s", text: "t" });

describe("Resend stand-in: /api-keys", () => {
  it("creates a key whose token is shown once, lists it without the token, renames and removes it", async () => {
    const created = expectSpecSuccess(
      await h.resend.apiKeys.create({ name: "ci" }),
      "POST",
      "/api-keys",
      201,
    );
    expect(created.token).toMatch(/^re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}$/);
    expect(created.token).not.toBe(h.standIn.apiKey);

    // A full-access key by default: it works on management routes, and it has been used now.
    expect((await clientFor(created.token).domains.list()).error).toBeNull();
    const list = expectSpecSuccess(await h.resend.apiKeys.list(), "GET", "/api-keys");
    const item = list.data.find((k) => k.id === created.id);
    expect(item).toMatchObject({ name: "ci" });
    expect(item?.created_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\+00$/);
    expect(item?.last_used_at).toMatch(/\+00$/);
    expect(JSON.stringify(list)).not.toContain(created.token);
    // There is no route that reads one key: the token cannot be fetched again.
    expect((await rawApi(h, "GET", `/api-keys/${created.id}`)).status).toBe(405);

    expectSpecSuccess(
      await h.resend.apiKeys.update(created.id, { name: "ci-renamed" }),
      "PATCH",
      "/api-keys/{api_key_id}",
    );
    const renamed = (await h.resend.apiKeys.list()).data?.data.find((k) => k.id === created.id);
    expect(renamed?.name).toBe("ci-renamed");

    const removed = expectSpecSuccess(
      await h.resend.apiKeys.remove(created.id),
      "DELETE",
      "/api-keys/{api_key_id}",
    );
    expect(removed).toEqual({ object: "api_key", id: created.id, deleted: true });
    expectResendError(await clientFor(created.token).domains.list(), 403, "invalid_api_key");
    expectResendError(await h.resend.apiKeys.remove(created.id), 404, "not_found");
    expect(h.standIn.apiKeys().map((k) => k.id)).not.toContain(created.id);
  });

  it("validates the name, the permission, the domain and the id", async () => {
    expectResendError(await h.resend.apiKeys.create({} as never), 422, "missing_required_field", /`name`/);
    expectResendError(
      await h.resend.apiKeys.create({ name: "x".repeat(51) }),
      422,
      "validation_error",
      /at most 50/,
    );
    expectResendError(
      await h.resend.apiKeys.create({ name: "k", permission: "read_access" as never }),
      422,
      "validation_error",
      /permission/,
    );
    expectResendError(
      await h.resend.apiKeys.create({
        name: "k",
        permission: "sending_access",
        domain_id: "00000000-0000-4000-8000-000000000000",
      }),
      404,
      "not_found",
    );
    expectResendError(await h.resend.apiKeys.remove("not-a-uuid"), 422, "invalid_parameter");
  });

  it("refuses a sending-only key everywhere but the send routes, with restricted_api_key", async () => {
    const { token } = expectSpecSuccess(
      await h.resend.apiKeys.create({ name: "sender", permission: "sending_access" }),
      "POST",
      "/api-keys",
      201,
    );
    const sender = clientFor(token);
    expect((await sender.emails.send(mail("auth@other-mail.com"))).error).toBeNull();
    expect((await sender.batch.send([mail("auth@keys-mail.com")])).error).toBeNull();
    for (const refused of [
      await sender.domains.list(),
      await sender.emails.list(),
      await sender.webhooks.list(),
      await sender.apiKeys.create({ name: "escalate" }),
      await sender.apiKeys.list(),
    ]) {
      expectResendError(refused, 401, "restricted_api_key", /only send emails/);
    }
  });

  it("lets a key restricted to a domain send only from that domain", async () => {
    const { token } = expectSpecSuccess(
      await h.resend.apiKeys.create({
        name: "bridge",
        permission: "sending_access",
        domain_id: keyDomain.id,
      }),
      "POST",
      "/api-keys",
      201,
    );
    expect(h.standIn.apiKeys().find((k) => k.name === "bridge")).toMatchObject({
      permission: "sending_access",
      domainId: keyDomain.id,
    });
    const bridge = clientFor(token);
    const sent = await bridge.emails.send(mail("auth@keys-mail.com"));
    expect(sent.error).toBeNull();
    expect(h.standIn.emails().map((e) => e.id)).toContain(sent.data?.id);

    const before = h.standIn.emails().length;
    expectResendError(
      await bridge.emails.send(mail("auth@other-mail.com")),
      403,
      "validation_error",
      /restricted to send from the `keys-mail\.com` domain only, not from `other-mail\.com`/,
    );
    expectResendError(
      await bridge.emails.send({ ...mail("onboarding@resend.dev"), to: "delivered@resend.dev" }),
      403,
      "validation_error",
      /keys-mail\.com/,
    );
    expectResendError(
      await bridge.batch.send([mail("auth@keys-mail.com"), mail("auth@other-mail.com")]),
      403,
      "validation_error",
      /^emails\[1\]: This API key is restricted/,
    );
    expect(h.standIn.emails()).toHaveLength(before);

    // A full-access key given a domain is not restricted by it (the domain only applies to sending keys).
    const { token: full } = expectSpecSuccess(
      await h.resend.apiKeys.create({ name: "full", permission: "full_access", domain_id: keyDomain.id }),
      "POST",
      "/api-keys",
      201,
    );
    expect((await clientFor(full).emails.send(mail("auth@other-mail.com"))).error).toBeNull();
  });
});
