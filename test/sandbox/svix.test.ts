import { Webhook } from "standardwebhooks";
import { ApiException, Svix } from "svix";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodePortalUrl, type SvixStandIn, startSvixStandIn, svixApiBaseUrl } from "../../src/sandbox/svix";
import { eventually } from "../support/eventually";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver";

let svix: SvixStandIn;
let receiver: WebhookReceiver;

beforeEach(async () => {
  svix = await startSvixStandIn({ timeScale: 0.001, region: "eu" });
  receiver = await startWebhookReceiver();
});
afterEach(async () => {
  await svix.close();
  await receiver.close();
});

async function exchange(oneTimeToken: string): Promise<Response> {
  return fetch(`${svix.url}/api/v1/auth/one-time-token/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ oneTimeToken }),
  });
}

/** Logs in the way the community recipe does: portal URL → one-time token → bearer token. */
async function bearer(appId: string): Promise<{ token: string; region: string }> {
  const key = decodePortalUrl(svix.portalUrl(appId));
  const res = await exchange(key.oneTimeToken);
  expect(res.status).toBe(200);
  const { token } = (await res.json()) as { token: string };
  return { token, region: key.region };
}

async function login(appId: string): Promise<Svix> {
  const { token, region } = await bearer(appId);
  return new Svix(token, { serverUrl: svixApiBaseUrl(region, { SVIX_API_URL: svix.url }) });
}

async function apiError(
  promise: Promise<unknown>,
): Promise<ApiException<{ code?: string; detail: unknown }>> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiException);
  return err as ApiException<{ code?: string; detail: unknown }>;
}

describe("Svix stand-in: portal login", () => {
  it("encodes the app, a one-time token and the region in the portal URL fragment", () => {
    const app = svix.createApp("clerk");
    const url = svix.portalUrl(app.id);
    expect(url).toMatch(/^https:\/\/app\.svix\.com\/login#key=/);
    const key = decodePortalUrl(url);
    expect(key.appId).toBe(app.id);
    expect(key.region).toBe("eu");
    expect(key.oneTimeToken).not.toBe(decodePortalUrl(svix.portalUrl(app.id)).oneTimeToken);
  });

  it("maps the region to Svix's regional host unless SVIX_API_URL overrides it", () => {
    expect(svixApiBaseUrl("eu", {})).toBe("https://api.eu.svix.com");
    expect(svixApiBaseUrl("us", {})).toBe("https://api.us.svix.com");
    expect(svixApiBaseUrl("mars", {})).toBe("https://api.svix.com");
    expect(svixApiBaseUrl("eu", { SVIX_API_URL: "http://127.0.0.1:9/" })).toBe("http://127.0.0.1:9");
  });

  it("exchanges a one-time token exactly once", async () => {
    const app = svix.createApp("clerk");
    const { oneTimeToken } = decodePortalUrl(svix.portalUrl(app.id));
    const first = await exchange(oneTimeToken);
    expect(first.status).toBe(200);
    const { token } = (await first.json()) as { token: string };
    expect(token).toMatch(/\.eu$/);
    const second = await exchange(oneTimeToken);
    expect(second.status).toBe(401);
    expect(await second.json()).toMatchObject({ code: "authentication_failed" });
    const missing = await exchange("");
    expect(missing.status).toBe(422);
  });

  it("scopes the bearer token to its own application", async () => {
    const mine = svix.createApp("clerk");
    const other = svix.createApp("someone else");
    const client = await login(mine.id);
    expect((await apiError(client.endpoint.list(other.id))).code).toBe(403);
    const anonymous = new Svix("appsk_unknown.eu", { serverUrl: svix.url });
    const err = await apiError(anonymous.endpoint.list(mine.id));
    expect(err.code).toBe(401);
    expect(err.body.code).toBe("authentication_failed");
  });
});

describe("Svix stand-in: endpoints", () => {
  it("creates, reads, lists, patches, upserts and deletes endpoints", async () => {
    const app = svix.createApp("clerk");
    const client = await login(app.id);
    const created = await client.endpoint.create(app.id, {
      url: receiver.url,
      description: "bridge",
      uid: "email-bridge",
      eventTypes: ["email.created", "user.deleted"],
      metadata: { owner: "infra" },
    });
    expect(created.id).toMatch(/^ep_/);
    expect(created.eventTypes).toEqual(["email.created", "user.deleted"]);
    expect(created.createdAt).toBeInstanceOf(Date);
    expect(Number.isNaN(created.createdAt.getTime())).toBe(false);

    expect((await client.endpoint.get(app.id, "email-bridge")).id).toBe(created.id);
    const second = await client.endpoint.create(app.id, { url: `${receiver.url}/2` });
    const listed = await client.endpoint.list(app.id, { limit: 1 });
    expect(listed.data.map((e) => e.id)).toEqual([second.id]);
    expect(listed.done).toBe(false);
    const rest = await client.endpoint.list(app.id, { limit: 1, iterator: listed.iterator });
    expect(rest.data.map((e) => e.id)).toEqual([created.id]);
    expect(rest.done).toBe(true);

    const patched = await client.endpoint.patch(app.id, created.id, { disabled: true, eventTypes: null });
    expect(patched.disabled).toBe(true);
    expect(patched.eventTypes ?? null).toBeNull();
    expect(patched.description).toBe("bridge");

    const replaced = await client.endpoint.upsert(app.id, created.id, { url: `${receiver.url}/3` });
    expect(replaced.url).toBe(`${receiver.url}/3`);
    expect(replaced.description).toBe("");
    expect(replaced.disabled).toBe(false);

    await client.endpoint.delete(app.id, second.id);
    expect((await apiError(client.endpoint.get(app.id, second.id))).body).toEqual({
      code: "not_found",
      detail: "Entity not found",
    });
    expect(svix.endpoints(app.id).map((e) => e.id)).toEqual([created.id]);
  });

  it("accepts the 1.x `filterTypes` key on the wire and answers both names", async () => {
    const app = svix.createApp("clerk");
    const { token } = await bearer(app.id);
    const res = await fetch(`${svix.url}/api/v1/app/${app.id}/endpoint/`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ url: receiver.url, filterTypes: ["user.created"] }),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { eventTypes: string[]; filterTypes: string[] };
    expect(body.eventTypes).toEqual(["user.created"]);
    expect(body.filterTypes).toEqual(["user.created"]);
  });

  it("rejects invalid input with Svix's error shapes", async () => {
    const app = svix.createApp("clerk");
    const client = await login(app.id);
    const badUrl = await apiError(client.endpoint.create(app.id, { url: "not a url" }));
    expect(badUrl.code).toBe(422);
    expect(badUrl.body.detail).toEqual([expect.objectContaining({ loc: ["body", "url"] })]);
    await client.endpoint.create(app.id, { url: receiver.url, uid: "taken" });
    const conflict = await apiError(client.endpoint.create(app.id, { url: receiver.url, uid: "taken" }));
    expect(conflict.code).toBe(409);
    const badSecret = await apiError(
      client.endpoint.create(app.id, { url: receiver.url, secret: "whsec_short" }),
    );
    expect(badSecret.code).toBe(422);
  });

  it("replays a POST with the same idempotency key instead of creating twice", async () => {
    const app = svix.createApp("clerk");
    const client = await login(app.id);
    const a = await client.endpoint.create(app.id, { url: receiver.url }, { idempotencyKey: "k1" });
    const b = await client.endpoint.create(app.id, { url: receiver.url }, { idempotencyKey: "k1" });
    expect(b.id).toBe(a.id);
    expect(svix.endpoints(app.id)).toHaveLength(1);
  });

  it("returns the signing secret, honours a supplied one and rotates it with a grace period", async () => {
    const app = svix.createApp("clerk");
    const client = await login(app.id);
    const own = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ep = await client.endpoint.create(app.id, { url: receiver.url, secret: own });
    expect((await client.endpoint.getSecret(app.id, ep.id)).key).toBe(own);

    await client.endpoint.rotateSecret(app.id, ep.id);
    const rotated = (await client.endpoint.getSecret(app.id, ep.id)).key;
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(own);

    svix.send(app.id, "user.created", { hello: "world" });
    await svix.settle();
    const hook = receiver.received[0]!;
    const headers = {
      "webhook-id": String(hook.headers["svix-id"]),
      "webhook-timestamp": String(hook.headers["svix-timestamp"]),
      "webhook-signature": String(hook.headers["svix-signature"]),
    };
    // During the grace period both the new and the old secret sign each message.
    expect(new Webhook(rotated).verify(hook.body, headers)).toEqual({ hello: "world" });
    expect(new Webhook(own).verify(hook.body, headers)).toEqual({ hello: "world" });
  });
});

describe("Svix stand-in: delivery", () => {
  it("delivers signed messages to subscribed, enabled endpoints and retries with the same svix-id", async () => {
    const app = svix.createApp("clerk");
    const client = await login(app.id);
    const ep = await client.endpoint.create(app.id, { url: receiver.url, eventTypes: ["email.created"] });
    await client.endpoint.create(app.id, { url: `${receiver.url}/off`, disabled: true });
    const other = await startWebhookReceiver();
    try {
      await client.endpoint.create(app.id, { url: other.url, eventTypes: ["user.deleted"] });
      receiver.respondWith(500, 503);
      svix.send(app.id, "email.created", { n: 1 });
      await svix.settle();
      expect(other.received).toHaveLength(0);
      expect(receiver.received.map((r) => r.status)).toEqual([500, 503, 200]);
      const ids = new Set(receiver.received.map((r) => r.headers["svix-id"]));
      expect(ids.size).toBe(1);
      const secret = (await client.endpoint.getSecret(app.id, ep.id)).key;
      const last = receiver.received[2]!;
      expect(
        new Webhook(secret).verify(last.body, {
          "webhook-id": String(last.headers["svix-id"]),
          "webhook-timestamp": String(last.headers["svix-timestamp"]),
          "webhook-signature": String(last.headers["svix-signature"]),
        }),
      ).toEqual({ n: 1 });
      const delivery = svix.deliveries().find((d) => d.endpointId === ep.id)!;
      expect(delivery.state).toBe("succeeded");
      expect(delivery.attempts).toHaveLength(3);
    } finally {
      await other.close();
    }
  });

  it("only delivers to channel-filtered endpoints when the message is on one of their channels", async () => {
    const app = svix.createApp("clerk");
    const client = await login(app.id);
    await client.endpoint.create(app.id, { url: receiver.url, channels: ["tenant-a"] });
    svix.send(app.id, "user.created", { n: 1 });
    svix.send(app.id, "user.created", { n: 2 }, ["tenant-a"]);
    await svix.settle();
    expect(receiver.received.map((r) => JSON.parse(r.body).n)).toEqual([2]);
  });

  it("forgets an app's endpoints and tokens when the app is deleted", async () => {
    const app = svix.createApp("clerk");
    const client = await login(app.id);
    await client.endpoint.create(app.id, { url: receiver.url });
    expect(svix.deleteApp(app.id)).toBe(true);
    expect((await apiError(client.endpoint.list(app.id))).code).toBe(401);
    expect(() => svix.send(app.id, "user.created", {})).toThrow(/does not exist/);
  });

  it("stops retrying an app's messages when the app is deleted", async () => {
    svix.setTimeScale(1);
    const app = svix.createApp("clerk");
    svix.addEndpoint(app.id, { url: receiver.url });
    receiver.respondWith(500, 500);
    const [delivery] = svix.send(app.id, "user.created", {});
    await eventually(() => receiver.received[0]);
    svix.deleteApp(app.id);
    await svix.settle();
    expect(delivery!.state).toBe("failed");
    expect(receiver.received).toHaveLength(1);
  });
});
