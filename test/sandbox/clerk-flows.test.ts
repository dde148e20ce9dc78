import { createClerkClient } from "@clerk/backend";
import { verifyWebhook } from "@clerk/backend/webhooks";
import { Svix } from "svix";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ClerkStandIn, type EmailEventData, startClerkStandIn } from "../../src/sandbox/clerk";
import { svixHeaders } from "../../src/sandbox/core/svix-dispatcher";
import { decodePortalUrl, svixApiBaseUrl } from "../../src/sandbox/svix";
import { assertExchangesMatchSpec, recordFetch } from "../support/fetch-recorder";
import { contract, SPECS } from "../support/openapi";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver";

const hooks = contract(SPECS.clerkWebhooks);

let clerk: ClerkStandIn;
let receiver: WebhookReceiver;
let signingSecret: string;
let recorder: ReturnType<typeof recordFetch>;

interface Received<T = unknown> {
  type: string;
  data: T;
  svixId: string;
}

/** Wires an endpoint the way the community recipe does: Svix app → portal URL → token → endpoint. */
async function subscribe(url: string, eventTypes?: string[]): Promise<string> {
  const client = createClerkClient({ secretKey: clerk.secretKey, apiUrl: clerk.url });
  const svixUrl = await client.webhooks
    .createSvixApp()
    .catch(() => client.webhooks.generateSvixAuthURL())
    .then((r) => r.svix_url);
  const key = decodePortalUrl(svixUrl);
  const baseUrl = svixApiBaseUrl(key.region, { SVIX_API_URL: clerk.svix.url });
  const res = await fetch(`${baseUrl}/api/v1/auth/one-time-token/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ oneTimeToken: key.oneTimeToken, appId: key.appId }),
  });
  const { token } = (await res.json()) as { token: string };
  const svix = new Svix(token, { serverUrl: baseUrl });
  const endpoint = await svix.endpoint.create(key.appId, { url, eventTypes });
  return (await svix.endpoint.getSecret(key.appId, endpoint.id)).key;
}

/** Verifies every delivery with Clerk's own `verifyWebhook` and checks it against the webhooks spec. */
async function received(): Promise<Received[]> {
  await clerk.settle();
  const out: Received[] = [];
  for (const hook of receiver.received.filter((h) => h.status < 300)) {
    const event = await verifyWebhook(receiver.asRequest(hook), { signingSecret });
    hooks.assertSchema(hooks.webhookSchema(event.type), JSON.parse(hook.body), event.type);
    out.push({ type: event.type, data: event.data, svixId: String(hook.headers["svix-id"]) });
  }
  return out;
}

function control(path: string, body?: unknown, method = "POST") {
  return fetch(`${clerk.url}/_sandbox/clerk${path}`, {
    method,
    headers: {
      "content-type": "application/json",
      "user-agent":
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/128.0 Safari/537.36",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function controlJson<T>(path: string, body?: unknown, method = "POST"): Promise<T> {
  const res = await control(path, body, method);
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as T;
}

interface UserBody {
  id: string;
  primary_email_address_id: string;
  email_addresses: { id: string; email_address: string; verification: { status: string } }[];
}

beforeEach(async () => {
  clerk = await startClerkStandIn({ timeScale: 0.001 });
  recorder = recordFetch(`${clerk.url}/v1/`);
  receiver = await startWebhookReceiver();
  signingSecret = await subscribe(receiver.url);
});

afterEach(async () => {
  recorder.restore();
  await clerk.close();
  await receiver.close();
  assertExchangesMatchSpec(contract(SPECS.clerkBapi), recorder.exchanges, {
    prefix: "/v1",
    errorComponent: "ClerkErrors",
  });
});

describe("Clerk stand-in flows: sign-up", () => {
  it("emails a verification code before the user exists, then creates the user on verification", async () => {
    const signUp = await controlJson<{
      sign_up_id: string;
      email_address_id: string;
      code: string;
      user: null;
    }>("/sign-ups", { email_address: "new@example.com" });
    expect(signUp.code).toMatch(/^\d{6}$/);
    expect(signUp.user).toBeNull();
    expect(clerk.users()).toHaveLength(0);

    const [created] = await received();
    expect(created?.type).toBe("email.created");
    const email = created?.data as EmailEventData;
    expect(email).toMatchObject({
      object: "email",
      slug: "verification_code",
      from_email_name: "notifications",
      to_email_address: "new@example.com",
      email_address_id: signUp.email_address_id,
      user_id: null,
      status: "queued",
      delivered_by_clerk: true,
      subject: `${signUp.code} is your verification code`,
    });
    expect(email.id).toMatch(/^ema_/);
    expect(email.body).toContain(signUp.code);
    expect(email.body_plain).toContain(signUp.code);
    expect(email.data).toMatchObject({
      otp_code: signUp.code,
      requested_by: "Chrome, OS X",
      app: { name: "Acme" },
      theme: { show_clerk_branding: true },
      user: { public_metadata: {}, public_metadata_fallback: "" },
    });
    expect(email.data.requested_at).toMatch(/^\d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} UTC$/);
    expect(Object.keys(email.data).sort()).toEqual(
      Object.keys((hooks.webhookExample("email.created") as { data: EmailEventData }).data.data).sort(),
    );

    const wrong = await control(`/sign-ups/${signUp.sign_up_id}/verify`, { code: "000000x" });
    expect(wrong.status).toBe(422);
    expect(((await wrong.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe(
      "form_code_incorrect",
    );

    const user = await controlJson<UserBody>(`/sign-ups/${signUp.sign_up_id}/verify`, { code: signUp.code });
    expect(user.primary_email_address_id).toBe(signUp.email_address_id);
    expect(user.email_addresses[0]?.verification.status).toBe("verified");
    const events = await received();
    expect(events.map((e) => e.type)).toEqual(["email.created", "user.created"]);
    expect((events[1]!.data as { id: string }).id).toBe(user.id);
  });

  it("creates the user immediately when asked to, and refuses a taken address", async () => {
    const signUp = await controlJson<{ user: UserBody }>("/sign-ups", {
      email_address: "now@example.com",
      verify: true,
    });
    expect(signUp.user.id).toMatch(/^user_/);
    expect((await received()).map((e) => e.type)).toEqual(["email.created", "user.created"]);
    const taken = await control("/sign-ups", { email_address: "NOW@example.com" });
    expect(taken.status).toBe(422);
    expect(((await taken.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe(
      "form_identifier_exists",
    );
  });
});

describe("Clerk stand-in flows: links and test mode", () => {
  it("signs up by magic link (magic_link_sign_up) and verifies with the link's token", async () => {
    const signUp = await controlJson<{ sign_up_id: string; code: string; email: EmailEventData }>(
      "/sign-ups",
      { email_address: "linked@example.com", strategy: "email_link" },
    );
    expect(signUp.email).toMatchObject({
      slug: "magic_link_sign_up",
      user_id: null,
      subject: "Sign up to Acme",
    });
    expect(String(signUp.email.data.magic_link)).toBe(
      `https://accounts.acme.test/v1/verify?token=${signUp.code}`,
    );
    expect(signUp.email.data).toMatchObject({ ttl_minutes: 10 });
    expect(signUp.email.data).not.toHaveProperty("otp_code");
    expect(signUp.email.body_plain).toContain(String(signUp.email.data.magic_link));
    await controlJson(`/sign-ups/${signUp.sign_up_id}/verify`, { code: signUp.code });
    expect((await received()).map((e) => e.type)).toEqual(["email.created", "user.created"]);
  });

  it("verifies an added address by magic link (magic_link_user_profile)", async () => {
    const { user } = await controlJson<{ user: UserBody }>("/sign-ups", {
      email_address: "ada@example.com",
      verify: true,
    });
    const added = await controlJson<{ email_address_id: string; code: string; email: EmailEventData }>(
      `/users/${user.id}/email-addresses`,
      { email_address: "ada@work.example", strategy: "email_link" },
    );
    expect(added.email).toMatchObject({ slug: "magic_link_user_profile", user_id: user.id });
    expect(String(added.email.data.magic_link)).toContain(added.code);
    const verified = await controlJson<UserBody>(`/email-addresses/${added.email_address_id}/verify`, {
      code: added.code,
    });
    expect(verified.email_addresses.find((e) => e.id === added.email_address_id)?.verification.status).toBe(
      "verified",
    );
  });

  it("gives +clerk_test addresses the code 424242 while test mode is on, and random codes once it is off", async () => {
    const signUp = await controlJson<{ code: string; email: EmailEventData }>("/sign-ups", {
      email_address: "jane+clerk_test@example.com",
      verify: true,
    });
    expect(signUp.code).toBe("424242");
    expect(signUp.email).toMatchObject({
      subject: "424242 is your verification code",
      data: { otp_code: "424242" },
    });
    const reset = await controlJson<{ code: string }>("/password-resets", {
      email_address: "jane+clerk_test@example.com",
    });
    expect(reset.code).toBe("424242");
    const signIn = await controlJson<{ email: EmailEventData }>("/sign-ins", {
      email_address: "jane+clerk_test@example.com",
    });
    expect(signIn.email.data.otp_code).toBe("424242");
    // Only the +clerk_test subaddress is a test address.
    const other = await controlJson<{ code: string }>("/sign-ups", {
      email_address: "jane+clerk_tester@example.com",
    });
    expect(other.code).toMatch(/^\d{6}$/);

    clerk.instance.testMode = false;
    const codes = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const { code } = await controlJson<{ code: string }>("/password-resets", {
        email_address: "jane+clerk_test@example.com",
      });
      codes.add(code);
    }
    // Three random six-digit codes: at least one differs from 424242 (all three matching is 1e-18).
    expect([...codes].some((code) => code !== "424242")).toBe(true);
  });
});

describe("Clerk stand-in flows: existing users", () => {
  async function signedUp(address: string): Promise<UserBody> {
    const { user } = await controlJson<{ user: UserBody }>("/sign-ups", {
      email_address: address,
      verify: true,
    });
    return user;
  }

  it("sends a reset_password_code email addressed to the user", async () => {
    const user = await signedUp("ada@example.com");
    const reset = await controlJson<{ code: string; email: EmailEventData }>("/password-resets", {
      email_address: "ada@example.com",
    });
    expect(reset.email).toMatchObject({
      slug: "reset_password_code",
      user_id: user.id,
      email_address_id: user.primary_email_address_id,
    });
    expect(reset.email.body).toContain(reset.code);
    const unknown = await control("/password-resets", { email_address: "nobody@example.com" });
    expect(unknown.status).toBe(422);
    const last = (await received()).at(-1);
    expect((last!.data as EmailEventData).slug).toBe("reset_password_code");
  });

  it("sends sign-in codes and magic links", async () => {
    await signedUp("ada@example.com");
    const link = await controlJson<{ email: EmailEventData }>("/sign-ins", {
      email_address: "ada@example.com",
      strategy: "email_link",
    });
    expect(link.email.slug).toBe("magic_link_sign_in");
    expect(String(link.email.data.magic_link)).toMatch(/^https:\/\//);
    expect(link.email.body).toContain(String(link.email.data.magic_link));
    const code = await controlJson<{ email: EmailEventData }>("/sign-ins", {
      email_address: "ada@example.com",
    });
    expect(code.email.slug).toBe("verification_code");
    expect(code.email.subject).toBe(`${code.email.data.otp_code} is your verification code`);
    const bad = await control("/sign-ins", { email_address: "ada@example.com", strategy: "password" });
    expect(bad.status).toBe(422);
  });

  it("adds an address (verification_code with user_id), verifies it and makes it primary", async () => {
    const user = await signedUp("ada@example.com");
    const added = await controlJson<{ email_address_id: string; code: string; email: EmailEventData }>(
      `/users/${user.id}/email-addresses`,
      { email_address: "ada@work.example" },
    );
    expect(added.email).toMatchObject({
      slug: "verification_code",
      user_id: user.id,
      email_address_id: added.email_address_id,
      to_email_address: "ada@work.example",
    });
    const early = await control(`/users/${user.id}/primary-email`, {
      email_address_id: added.email_address_id,
    });
    expect(early.status).toBe(422);

    await controlJson(`/email-addresses/${added.email_address_id}/verify`, { code: added.code });
    const primary = await controlJson<UserBody>(`/users/${user.id}/primary-email`, {
      email_address_id: added.email_address_id,
    });
    expect(primary.primary_email_address_id).toBe(added.email_address_id);

    const events = await received();
    expect(events.map((e) => e.type)).toEqual([
      "email.created",
      "user.created",
      "user.updated",
      "email.created",
      "user.updated",
      "user.updated",
      "email.created",
    ]);
    const notice = events.at(-1)?.data as EmailEventData;
    expect(notice).toMatchObject({
      slug: "primary_email_address_changed",
      to_email_address: "ada@example.com",
    });
    expect((events.at(-2)!.data as UserBody).primary_email_address_id).toBe(added.email_address_id);
  });

  it("deletes the account as the user, firing user.deleted", async () => {
    const user = await signedUp("ada@example.com");
    const deleted = await controlJson<{ id: string; deleted: boolean }>(
      `/users/${user.id}`,
      undefined,
      "DELETE",
    );
    expect(deleted).toEqual({ object: "user", id: user.id, deleted: true });
    expect((await received()).at(-1)).toMatchObject({
      type: "user.deleted",
      data: { id: user.id, deleted: true },
    });
    expect(clerk.users()).toHaveLength(0);
  });
});

describe("Clerk stand-in flows: delivery", () => {
  it("records whether Clerk delivered each email, following the template toggle", async () => {
    await controlJson("/sign-ups", { email_address: "one@example.com" });
    await fetch(`${clerk.url}/v1/templates/email/verification_code/toggle_delivery`, {
      method: "POST",
      headers: { authorization: `Bearer ${clerk.secretKey}`, "content-type": "application/json" },
      body: JSON.stringify({ delivered_by_clerk: false }),
    });
    await controlJson("/sign-ups", { email_address: "two@example.com" });
    const listed = await (await control("/emails", undefined, "GET")).json();
    expect(
      (listed as { data: { email: EmailEventData; delivered_by_clerk: boolean }[] }).data.map((e) => [
        e.email.to_email_address,
        e.delivered_by_clerk,
        e.email.delivered_by_clerk,
      ]),
    ).toEqual([
      ["one@example.com", true, true],
      ["two@example.com", false, false],
    ]);
  });

  it("retries failed deliveries with the same svix-id, and Clerk's verifier accepts the retry", async () => {
    receiver.respondWith(500, 502);
    await controlJson("/sign-ups", { email_address: "retry@example.com" });
    await clerk.settle();
    expect(receiver.received.map((r) => r.status)).toEqual([500, 502, 200]);
    expect(new Set(receiver.received.map((r) => r.headers["svix-id"])).size).toBe(1);
    const events = await received();
    expect(events).toHaveLength(1);
    const deliveries = (await (await control("/deliveries", undefined, "GET")).json()) as {
      data: { state: string; attempts: unknown[] }[];
    };
    expect(deliveries.data[0]).toMatchObject({ state: "succeeded" });
    expect(deliveries.data[0]?.attempts).toHaveLength(3);
  });

  it("only delivers the event types an endpoint subscribed to", async () => {
    const onlyEmails = await startWebhookReceiver();
    try {
      await subscribe(onlyEmails.url, ["email.created"]);
      await controlJson("/sign-ups", { email_address: "ada@example.com", verify: true });
      await clerk.settle();
      expect(onlyEmails.received.map((r) => JSON.parse(r.body).type)).toEqual(["email.created"]);
      expect((await received()).map((e) => e.type)).toEqual(["email.created", "user.created"]);
    } finally {
      await onlyEmails.close();
    }
  });

  it("signs so that verifyWebhook rejects a tampered body and a stale timestamp", async () => {
    await controlJson("/sign-ups", { email_address: "ada@example.com" });
    await clerk.settle();
    const hook = receiver.received[0]!;
    await expect(verifyWebhook(receiver.asRequest(hook), { signingSecret })).resolves.toMatchObject({
      type: "email.created",
    });
    const tampered = hook.body.replace("ada@example.com", "eve@example.com");
    await expect(
      verifyWebhook(receiver.asRequest(hook, { body: tampered }), { signingSecret }),
    ).rejects.toThrow(/Unable to verify/);
    const sixMinutesAgo = new Date(Date.now() - 6 * 60_000);
    const stale = svixHeaders(String(hook.headers["svix-id"]), [signingSecret], hook.body, sixMinutesAgo);
    await expect(
      verifyWebhook(receiver.asRequest(hook, { headers: stale }), { signingSecret }),
    ).rejects.toThrow(/too old/);
  });

  it("subscribes an endpoint directly, as a Dashboard user would", async () => {
    const direct = await startWebhookReceiver();
    try {
      const { signingSecret: secret, appId } = clerk.subscribe(direct.url, ["user.created"]);
      expect(appId).toBe(decodePortalUrl(clerk.svix.portalUrl(appId)).appId);
      await controlJson("/users", { email_address: "seeded@example.com" });
      await clerk.settle();
      expect(direct.received).toHaveLength(1);
      const event = await verifyWebhook(direct.asRequest(direct.received[0]!), { signingSecret: secret });
      expect(event.type).toBe("user.created");
    } finally {
      await direct.close();
    }
  });

  it("keeps emitting events without a Svix app, but delivers nothing", async () => {
    await createClerkClient({ secretKey: clerk.secretKey, apiUrl: clerk.url }).webhooks.deleteSvixApp();
    await controlJson("/sign-ups", { email_address: "ada@example.com" });
    await clerk.settle();
    expect(receiver.received).toHaveLength(0);
    expect(clerk.emails()).toHaveLength(1);
    expect(clerk.events().at(-1)).toMatchObject({ type: "email.created", deliveries: [] });
  });
});
