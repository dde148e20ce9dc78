import { type ClerkClient, createClerkClient } from "@clerk/backend";
import { ClerkAPIResponseError } from "@clerk/backend/errors";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ClerkStandIn, type ClerkStandInOptions, startClerkStandIn } from "../../src/sandbox/clerk";
import { decodePortalUrl } from "../../src/sandbox/svix";
import { assertExchangesMatchSpec, recordFetch } from "../support/fetch-recorder";
import { contract, SPECS } from "../support/openapi";

const bapi = contract(SPECS.clerkBapi);
const hooks = contract(SPECS.clerkWebhooks);

let clerk: ClerkStandIn;
let client: ClerkClient;
let recorder: ReturnType<typeof recordFetch>;

async function start(opts: ClerkStandInOptions = {}) {
  clerk = await startClerkStandIn({ secretKey: "sk_test_contract", timeScale: 0.001, ...opts });
  client = createClerkClient({ secretKey: clerk.secretKey, apiUrl: clerk.url });
  recorder = recordFetch(clerk.url);
}

beforeEach(async () => {
  await start();
});

afterEach(async () => {
  recorder.restore();
  await clerk.close();
  // Every answer the SDK (or raw fetch) received must be what the spec declares.
  assertExchangesMatchSpec(bapi, recorder.exchanges, { prefix: "/v1", errorComponent: "ClerkErrors" });
  for (const exchange of recorder.exchanges)
    expect(exchange.contentType ?? "application/json").toBe("application/json");
});

async function clerkError(promise: Promise<unknown>): Promise<ClerkAPIResponseError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClerkAPIResponseError);
  return err as ClerkAPIResponseError;
}

function raw(path: string, init: RequestInit = {}, secretKey = clerk.secretKey) {
  return fetch(`${clerk.url}/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${secretKey}`, "content-type": "application/json", ...init.headers },
  });
}

interface ErrorBody {
  errors: { code: string; long_message: string }[];
  clerk_trace_id: string;
}
interface TemplateBody {
  slug: string;
  delivered_by_clerk: boolean;
}

async function json<T>(res: Response | Promise<Response>): Promise<T> {
  return (await (await res).json()) as T;
}

function seed(emailAddress: string, extra: { externalId?: string } = {}) {
  return clerk.instance.createUser({ emailAddress, ...extra });
}

describe("Clerk BAPI stand-in: authentication and errors", () => {
  it("rejects a missing or wrong secret key with 401 authentication_invalid", async () => {
    const wrong = createClerkClient({ secretKey: "sk_test_wrong", apiUrl: clerk.url });
    const err = await clerkError(wrong.users.getUser("user_x"));
    expect(err.status).toBe(401);
    expect(err.errors[0]?.code).toBe("authentication_invalid");
    const anonymous = await fetch(`${clerk.url}/v1/users`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("content-type")).toBe("application/json");
  });

  it("answers unknown routes with 404 resource_not_found in Clerk's error shape", async () => {
    const res = await raw("/no/such/route");
    expect(res.status).toBe(404);
    const body = await json<ErrorBody>(res);
    bapi.assertComponent("ClerkErrors", body);
    expect(body.errors[0]?.code).toBe("resource_not_found");
    expect(body.clerk_trace_id).toMatch(/^[0-9a-f]{32}$/);
    recorder.exchanges.length = 0;
  });

  it("shapes injected faults like Clerk's errors", async () => {
    clerk.server.faults.add({ kind: "status", status: 503, path: "^/v1/users$" });
    const err = await clerkError(client.users.getUserList());
    expect(err.status).toBe(503);
    expect(err.errors[0]?.code).toBe("internal_clerk_error");
  });
});

describe("Clerk BAPI stand-in: users", () => {
  it("lists users by email address with the total from /v1/users/count", async () => {
    const ada = seed("ada@example.com");
    seed("bob@example.com");
    const cy = seed("cy@example.com");
    const found = await client.users.getUserList({
      emailAddress: ["ADA@example.com", "cy@example.com", "x@y.z"],
    });
    expect(found.totalCount).toBe(2);
    expect(found.data.map((u) => u.id).sort()).toEqual([ada.id, cy.id].sort());
    expect(found.data.find((u) => u.id === ada.id)?.primaryEmailAddress?.emailAddress).toBe(
      "ada@example.com",
    );
    const countCall = recorder.exchanges.find((e) => e.url.pathname === "/v1/users/count");
    expect(countCall?.url.searchParams.getAll("email_address")).toHaveLength(3);
  });

  it("pages and orders the list, newest first by default", async () => {
    const ids = ["a", "b", "c", "d"].map((n) => seed(`${n}@example.com`).id);
    const page = await client.users.getUserList({ limit: 2, offset: 1 });
    expect(page.data.map((u) => u.id)).toEqual([ids[2], ids[1]]);
    expect(page.totalCount).toBe(4);
    const oldest = await client.users.getUserList({ orderBy: "+created_at", limit: 1 });
    expect(oldest.data[0]?.id).toBe(ids[0]);
    const byId = await client.users.getUserList({ userId: [ids[3]!] });
    expect(byId.data.map((u) => u.id)).toEqual([ids[3]]);
    const bad = await clerkError(client.users.getUserList({ limit: 501 }));
    expect(bad.status).toBe(422);
    expect(bad.errors[0]?.meta?.paramName).toBe("limit");
  });

  it("rejects more than 100 email_address filters", async () => {
    const many = Array.from({ length: 101 }, (_, i) => `u${i}@example.com`);
    const err = await clerkError(client.users.getUserList({ emailAddress: many }));
    expect(err.status).toBe(422);
  });

  it("gets a complete user and 404s an unknown one", async () => {
    const ada = seed("ada@example.com");
    const user = await client.users.getUser(ada.id);
    expect(user.id).toBe(ada.id);
    expect(user.emailAddresses[0]?.verification?.status).toBe("verified");
    const missing = await clerkError(client.users.getUser("user_missing"));
    expect(missing.status).toBe(404);
    expect(missing.errors[0]?.code).toBe("resource_not_found");
  });

  it("deep-merges metadata, deletes keys set to null at any depth, and fires user.updated", async () => {
    const ada = seed("ada@example.com");
    await client.users.updateUserMetadata(ada.id, {
      publicMetadata: { email_status: "ok", prefs: { theme: "dark", lang: "en", nested: { a: 1, b: 2 } } },
      privateMetadata: { note: "vip" },
    });
    const user = await client.users.updateUserMetadata(ada.id, {
      publicMetadata: {
        email_status: "undeliverable",
        prefs: { lang: null, nested: { b: null, c: 3 } },
        tags: ["x"],
      },
    });
    expect(user.publicMetadata).toEqual({
      email_status: "undeliverable",
      prefs: { theme: "dark", nested: { a: 1, c: 3 } },
      tags: ["x"],
    });
    expect(user.privateMetadata).toEqual({ note: "vip" });
    const cleared = await client.users.updateUserMetadata(ada.id, { publicMetadata: { prefs: null } });
    expect(cleared.publicMetadata).toEqual({ email_status: "undeliverable", tags: ["x"] });

    const updates = clerk.events().filter((e) => e.type === "user.updated");
    expect(updates).toHaveLength(3);
    const last = updates.at(-1)!.payload;
    hooks.assertSchema(hooks.webhookSchema("user.updated"), last, "user.updated");
    expect((last.data as { public_metadata: unknown }).public_metadata).toEqual(cleared.publicMetadata);
  });

  it("replaces metadata wholesale through PUT", async () => {
    const ada = seed("ada@example.com");
    await client.users.updateUserMetadata(ada.id, { publicMetadata: { a: 1, b: 2 } });
    const user = await client.users.replaceUserMetadata(ada.id, { publicMetadata: { c: 3 } });
    expect(user.publicMetadata).toEqual({ c: 3 });
  });

  it("rejects metadata that is not an object or exceeds 8 KB", async () => {
    const ada = seed("ada@example.com");
    const notObject = await raw(`/users/${ada.id}/metadata`, {
      method: "PATCH",
      body: JSON.stringify({ public_metadata: "nope" }),
    });
    expect(notObject.status).toBe(422);
    const unknown = await raw(`/users/${ada.id}/metadata`, {
      method: "PATCH",
      body: JSON.stringify({ metadata: {} }),
    });
    expect((await json<ErrorBody>(unknown)).errors[0]?.code).toBe("form_param_unknown");
    const huge = await clerkError(
      client.users.updateUserMetadata(ada.id, { publicMetadata: { blob: "x".repeat(9000) } }),
    );
    expect(huge.status).toBe(422);
    expect((await client.users.getUser(ada.id)).publicMetadata).toEqual({});
  });

  it("deletes a user, answering the DeletedObject and firing user.deleted", async () => {
    const ada = seed("ada@example.com", { externalId: "ext_1" });
    const deleted = await client.users.deleteUser(ada.id);
    expect(deleted.id).toBe(ada.id);
    expect(recorder.exchanges.at(-1)?.body).toEqual({
      object: "user",
      id: ada.id,
      deleted: true,
      external_id: "ext_1",
    });
    expect((await clerkError(client.users.getUser(ada.id))).status).toBe(404);
    const event = clerk.events().find((e) => e.type === "user.deleted")!.payload;
    hooks.assertSchema(hooks.webhookSchema("user.deleted"), event, "user.deleted");
    expect(event.data).toEqual({ object: "user", id: ada.id, deleted: true, external_id: "ext_1" });
  });
});

describe("Clerk BAPI stand-in: email templates", () => {
  it("lists the seeded templates, all delivered by Clerk", async () => {
    const res = await raw("/templates/email");
    const list = await json<TemplateBody[]>(res);
    expect(Array.isArray(list)).toBe(true);
    expect(list.map((t) => t.slug)).toEqual(
      expect.arrayContaining([
        "verification_code",
        "reset_password_code",
        "magic_link_sign_in",
        "magic_link_sign_up",
        "invitation",
      ]),
    );
    expect(list.every((t) => t.delivered_by_clerk)).toBe(true);
    const paginated = await json<{ data: TemplateBody[]; total_count: number }>(
      raw("/templates/email?paginated=true&limit=2"),
    );
    expect(paginated.data).toHaveLength(2);
    expect(paginated.total_count).toBe(list.length);
    // The spec declares only the bare-array answer, so the paginated one is not contract-checked.
    recorder.exchanges.pop();
    const sms = await raw("/templates/fax");
    expect(sms.status).toBe(400);
  });

  it("toggles delivered_by_clerk per slug, and later emails carry the new state", async () => {
    const off = await raw("/templates/email/verification_code/toggle_delivery", {
      method: "POST",
      body: JSON.stringify({ delivered_by_clerk: false }),
    });
    expect(off.status).toBe(200);
    expect((await json<TemplateBody>(off)).delivered_by_clerk).toBe(false);
    const fetched = await json<TemplateBody>(raw("/templates/email/verification_code"));
    expect(fetched.delivered_by_clerk).toBe(false);
    const other = await json<TemplateBody>(raw("/templates/email/reset_password_code"));
    expect(other.delivered_by_clerk).toBe(true);

    const signUp = clerk.instance.signUp("new@example.com");
    expect(signUp.email.email.delivered_by_clerk).toBe(false);
    expect(clerk.emails().at(-1)?.deliveredByClerk).toBe(false);

    const missing = await raw("/templates/email/verification_code/toggle_delivery", {
      method: "POST",
      body: "{}",
    });
    expect(missing.status).toBe(422);
  });

  it("404s an unknown slug with Clerk's wording", async () => {
    const res = await raw("/templates/email/nope");
    expect(res.status).toBe(404);
    const body = await json<ErrorBody>(res);
    expect(body.errors[0]).toMatchObject({
      code: "resource_not_found",
      long_message: "No template was found with slug nope",
    });
  });
});

describe("Clerk BAPI stand-in: invitations", () => {
  it("creates invitations that email invitation or waitlist_invitation with their expiry, as the SDK asks", async () => {
    const invitation = await client.invitations.createInvitation({
      emailAddress: "invitee@example.com",
      expiresInDays: 7,
      publicMetadata: { plan: "team" },
      redirectUrl: "https://app.example.com/accept",
    });
    expect(invitation).toMatchObject({
      emailAddress: "invitee@example.com",
      status: "pending",
      publicMetadata: { plan: "team" },
    });
    expect(invitation.id).toMatch(/^inv_/);
    expect(invitation.url).toMatch(/^https:\/\/app\.example\.com\/accept\?__clerk_ticket=/);
    const [stored] = clerk.instance.invitations.all();
    expect(stored!.expiresAt - stored!.createdAt).toBe(7 * 86_400_000);
    const [record] = clerk.emails();
    expect(record?.email).toMatchObject({
      slug: "invitation",
      to_email_address: "invitee@example.com",
      user_id: null,
      email_address_id: null,
      subject: "You've been invited to join Acme",
      data: {
        action_url: invitation.url,
        invitation: { expires_in_days: 7, public_metadata: { plan: "team" } },
      },
    });
    expect(record?.email.body).toContain("expires in 7 days");
    const event = clerk.events().at(-1)!;
    hooks.assertSchema(hooks.webhookSchema("email.created"), event.payload, "email.created");

    await client.invitations.createInvitation({
      emailAddress: "waiting@example.com",
      templateSlug: "waitlist_invitation",
    });
    expect(clerk.emails().at(-1)?.email).toMatchObject({
      slug: "waitlist_invitation",
      data: { invitation: { expires_in_days: 30 } },
    });
    await client.invitations.createInvitation({ emailAddress: "quiet@example.com", notify: false });
    expect(clerk.emails()).toHaveLength(2);
  });

  it("refuses invitations for existing users (unless ignore_existing) and out-of-range expiries", async () => {
    seed("taken@example.com");
    const taken = await clerkError(
      client.invitations.createInvitation({ emailAddress: "taken@example.com" }),
    );
    expect(taken.errors[0]?.code).toBe("form_identifier_exists");
    await client.invitations.createInvitation({ emailAddress: "taken@example.com", ignoreExisting: true });
    for (const expires_in_days of [0, 366, 1.5]) {
      const res = await raw("/invitations", {
        method: "POST",
        body: JSON.stringify({ email_address: "new@example.com", expires_in_days }),
      });
      expect(res.status).toBe(422);
      expect((await json<ErrorBody>(res)).errors[0]?.long_message).toContain("between 1 and 365");
    }
    const unknown = await raw("/invitations", {
      method: "POST",
      body: JSON.stringify({ email_address: "new@example.com", template_slug: "organization_invitation" }),
    });
    expect(unknown.status).toBe(422);
  });
});

describe("Clerk BAPI stand-in: Svix app", () => {
  it("creates, re-issues and deletes the instance's Svix app", async () => {
    const missing = await clerkError(client.webhooks.generateSvixAuthURL());
    expect(missing.errors[0]?.code).toBe("svix_app_missing");

    const created = await client.webhooks.createSvixApp();
    const key = decodePortalUrl(created.svix_url);
    expect(created.svix_url.startsWith("https://app.svix.com/login#key=")).toBe(true);
    expect(clerk.svix.store.apps.has(key.appId)).toBe(true);
    expect(key.region).toBe("us");

    const exists = await clerkError(client.webhooks.createSvixApp());
    expect(exists.status).toBe(400);
    expect(exists.errors[0]?.code).toBe("svix_app_exists");

    const again = await client.webhooks.generateSvixAuthURL();
    const second = decodePortalUrl(again.svix_url);
    expect(second.appId).toBe(key.appId);
    expect(second.oneTimeToken).not.toBe(key.oneTimeToken);

    await client.webhooks.deleteSvixApp();
    expect(recorder.exchanges.at(-1)?.status).toBe(204);
    expect(clerk.svix.store.apps.has(key.appId)).toBe(false);
    expect((await clerkError(client.webhooks.deleteSvixApp())).errors[0]?.code).toBe("svix_app_missing");
  });
});

describe("Clerk BAPI stand-in: rate limits", () => {
  it("limits metadata writes to 10 per 10 s per user, surfacing Retry-After as retryAfter", async () => {
    const ada = seed("ada@example.com");
    const bob = seed("bob@example.com");
    for (let i = 0; i < 10; i++) await client.users.updateUserMetadata(ada.id, { publicMetadata: { i } });
    const err = await clerkError(client.users.updateUserMetadata(ada.id, { publicMetadata: { i: 10 } }));
    expect(err.status).toBe(429);
    expect(err.errors[0]?.code).toBe("too_many_requests");
    expect(err.retryAfter).toBeGreaterThanOrEqual(1);
    expect(err.retryAfter).toBeLessThanOrEqual(10);
    // Another user has its own budget, and reads are not limited per user.
    await client.users.updateUserMetadata(bob.id, { publicMetadata: { ok: true } });
    expect((await client.users.getUser(ada.id)).publicMetadata).toEqual({ i: 9 });
  });

  it("limits the instance as a whole", async () => {
    await clerk.close();
    recorder.restore();
    await start({ instanceRateLimit: { limit: 3, windowMs: 60_000 } });
    const ada = seed("ada@example.com");
    for (let i = 0; i < 3; i++) await client.users.getUser(ada.id);
    const err = await clerkError(client.users.getUser(ada.id));
    expect(err.status).toBe(429);
    expect(err.retryAfter).toBeGreaterThan(50);
    expect(err.retryAfter).toBeLessThanOrEqual(60);
  });
});
