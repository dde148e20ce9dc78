import { createPublicKey } from "node:crypto";
import type { CreateDomainResponseSuccess } from "resend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectResendError,
  expectSpecSuccess,
  expectSpecWebhook,
  type ResendHarness,
  rawApi,
  startResendHarness,
} from "./resend-harness";

let h: ResendHarness;

beforeAll(async () => {
  h = await startResendHarness();
});
afterAll(async () => {
  await h.close();
});

describe("Resend stand-in: domains", () => {
  it("creates a subdomain with the real record set, named relative to the zone apex", async () => {
    const created = expectSpecSuccess(
      await h.resend.domains.create({
        name: "mail.acme-one.com",
        region: "eu-west-1",
        customReturnPath: "bounces",
      }),
      "POST",
      "/domains",
      201,
    );
    expect(created).toMatchObject({ name: "mail.acme-one.com", region: "eu-west-1", status: "not_started" });
    expect(created).not.toHaveProperty("object");
    expect(created.created_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\+00$/);
    expect(created.capabilities).toEqual({ sending: "enabled", receiving: "disabled" });
    const byKey = Object.fromEntries(created.records.map((r) => [`${r.record}/${r.type}`, r]));
    expect(Object.keys(byKey)).toEqual(["DKIM/TXT", "SPF/MX", "SPF/TXT"]);
    expect(byKey["DKIM/TXT"]).toMatchObject({
      name: "resend._domainkey.mail",
      ttl: "Auto",
      status: "not_started",
    });
    expect(byKey["SPF/MX"]).toMatchObject({
      name: "bounces.mail",
      value: "feedback-smtp.eu-west-1.amazonses.com",
      priority: 10,
    });
    expect(byKey["SPF/TXT"]).toMatchObject({
      name: "bounces.mail",
      value: "v=spf1 include:amazonses.com ~all",
    });

    // The DKIM value is a usable 1024-bit RSA public key, as Resend publishes.
    const p = byKey["DKIM/TXT"]!.value.replace(/^p=/, "");
    const key = createPublicKey({ key: Buffer.from(p, "base64"), format: "der", type: "spki" });
    expect(key.asymmetricKeyType).toBe("rsa");
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(1024);
  });

  it("names apex records `send` and `resend._domainkey`, honours zoneApex, and adds the tracking CNAME", async () => {
    const apex = expectSpecSuccess(
      await h.resend.domains.create({
        name: "acme-two.com",
        trackingSubdomain: "links",
        openTracking: false,
      }),
      "POST",
      "/domains",
      201,
    );
    expect(apex.records.map((r) => `${r.record}:${r.name}`)).toEqual([
      "DKIM:resend._domainkey",
      "SPF:send",
      "SPF:send",
      "Tracking:links.acme-two.com",
    ]);
    expect(apex.records.at(-1)).toMatchObject({ type: "CNAME", value: "links1.resend-dns.com" });
    expect(apex.tracking_subdomain).toBe("links");

    const other = await startResendHarness({ zoneApex: () => "acme.co.uk" });
    try {
      const uk = await other.resend.domains.create({ name: "mail.acme.co.uk" });
      expect(uk.data?.records[0]?.name).toBe("resend._domainkey.mail");
    } finally {
      await other.close();
    }
  });

  it("refuses a second domain with the same name with 403 validation_error", async () => {
    await h.resend.domains.create({ name: "dup.acme-three.com" });
    expectResendError(
      await h.resend.domains.create({ name: "dup.acme-three.com" }),
      403,
      "validation_error",
      /The `dup\.acme-three\.com` domain has been registered already\./,
    );
  });

  it("validates create fields and names the field", async () => {
    expectResendError(await h.resend.domains.create({} as never), 422, "missing_required_field", /`name`/);
    expectResendError(
      await h.resend.domains.create({ name: "x.acme-four.com", region: "us-west-2" as never }),
      422,
      "validation_error",
      /`region`/,
    );
    for (const customReturnPath of ["9bad", "bad-", "a".repeat(64), "has.dot"]) {
      expectResendError(
        await h.resend.domains.create({ name: "y.acme-four.com", customReturnPath }),
        422,
        "validation_error",
        /custom_return_path/,
      );
    }
    expectResendError(
      await h.resend.domains.create({
        name: "z.acme-four.com",
        capabilities: { sending: "disabled", receiving: "disabled" },
      }),
      422,
      "validation_error",
      /At least one/,
    );
    expectResendError(
      await h.resend.domains.create({ name: "not a domain" }),
      422,
      "validation_error",
      /`name`/,
    );
  });

  it("gets a domain with `object`, lists without records, and pages with limit/after/before", async () => {
    const names = ["p1.acme-five.com", "p2.acme-five.com", "p3.acme-five.com"];
    const ids: string[] = [];
    for (const name of names) ids.push((await h.resend.domains.create({ name })).data!.id);

    const got = expectSpecSuccess(await h.resend.domains.get(ids[0]!), "GET", "/domains/{domain_id}");
    expect(got).toMatchObject({ object: "domain", id: ids[0], name: names[0] });
    expect(got.records).toHaveLength(3);
    expect(got).not.toHaveProperty("custom_return_path");

    const all = expectSpecSuccess(await h.resend.domains.list(), "GET", "/domains");
    expect(all.object).toBe("list");
    expect(all.data.every((d) => !("records" in d))).toBe(true);
    // Newest first.
    expect(all.data.slice(0, 3).map((d) => d.id)).toEqual([...ids].reverse());

    const first = expectSpecSuccess(await h.resend.domains.list({ limit: 2 }), "GET", "/domains");
    expect(first.data.map((d) => d.id)).toEqual([ids[2], ids[1]]);
    expect(first.has_more).toBe(true);
    const next = expectSpecSuccess(
      await h.resend.domains.list({ limit: 1, after: ids[1]! }),
      "GET",
      "/domains",
    );
    expect(next.data.map((d) => d.id)).toEqual([ids[0]]);
    const before = expectSpecSuccess(await h.resend.domains.list({ before: ids[1]! }), "GET", "/domains");
    expect(before.data.map((d) => d.id)).toEqual([ids[2]]);
    expect(before.has_more).toBe(false);

    expectResendError(await h.resend.domains.list({ limit: 101 }), 422, "validation_error", /limit/);
    const both = await rawApi(h, "GET", `/domains?after=${ids[0]}&before=${ids[1]}`);
    expect(both.status).toBe(422);
  });

  it("updates only updatable fields, rejects create-only ones, and keeps the tracking subdomain", async () => {
    const { id } = (await h.resend.domains.create({ name: "u.acme-six.com" }))
      .data as CreateDomainResponseSuccess;
    const updated = expectSpecSuccess(
      await h.resend.domains.update({ id, clickTracking: true, tls: "enforced", trackingSubdomain: "track" }),
      "PATCH",
      "/domains/{domain_id}",
    );
    expect(updated).toEqual({ object: "domain", id });
    const got = (await h.resend.domains.get(id)).data!;
    expect(got).toMatchObject({ click_tracking: true, open_tracking: false, tracking_subdomain: "track" });
    expect(got.records.map((r) => r.record)).toContain("Tracking");

    for (const field of ["name", "region", "custom_return_path"]) {
      const res = await rawApi(h, "PATCH", `/domains/${id}`, { [field]: "eu-west-1" });
      expect(res.status).toBe(422);
      expect(await res.json()).toMatchObject({
        name: "validation_error",
        message: expect.stringContaining(field),
      });
    }
    const removal = await rawApi(h, "PATCH", `/domains/${id}`, { tracking_subdomain: "" });
    expect(removal.status).toBe(422);
  });

  it("verifies asynchronously (pending at once) and deletes, announcing domain.* webhooks", async () => {
    const hook = await h.resend.webhooks.create({
      endpoint: h.receiver.url,
      events: ["domain.created", "domain.updated", "domain.deleted"],
    });
    expect(hook.error).toBeNull();
    const { id } = (await h.resend.domains.create({ name: "v.acme-seven.com" })).data!;
    const verify = expectSpecSuccess(
      await h.resend.domains.verify(id),
      "POST",
      "/domains/{domain_id}/verify",
    );
    expect(verify).toEqual({ object: "domain", id });
    expect((await h.resend.domains.get(id)).data?.status).toBe("pending");

    const removed = expectSpecSuccess(await h.resend.domains.remove(id), "DELETE", "/domains/{domain_id}");
    expect(removed).toEqual({ object: "domain", id, deleted: true });
    expectResendError(await h.resend.domains.get(id), 404, "not_found");
    expectResendError(await h.resend.domains.verify(id), 404, "not_found");

    await h.standIn.settle();
    const events = h.receiver.received.map((r) => expectSpecWebhook(r.body)).filter((e) => e.data.id === id);
    expect(events.map((e) => `${e.type}:${e.data.status}`)).toEqual([
      "domain.created:not_started",
      "domain.updated:pending",
      "domain.deleted:pending",
    ]);
    await h.resend.webhooks.remove(hook.data!.id);
  });
});
