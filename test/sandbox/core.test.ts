import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FaultInjector } from "../../src/sandbox/core/faults";
import { WindowRateLimiter } from "../../src/sandbox/core/rate-limit";
import { type ErrorShapes, StandInServer } from "../../src/sandbox/core/server";
import {
  type DispatchEndpoint,
  SVIX_RETRY_SCHEDULE_MS,
  SvixDispatcher,
} from "../../src/sandbox/core/svix-dispatcher";
import { eventually } from "../support/eventually";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver";

const shapes: ErrorShapes = {
  notFound: (req) => ({
    status: 404,
    body: { statusCode: 404, name: "not_found", message: `no ${req.path}` },
  }),
  badJson: () => ({ status: 422, body: { statusCode: 422, name: "invalid_json" } }),
};

describe("StandInServer", () => {
  let server: StandInServer;
  beforeEach(async () => {
    server = new StandInServer("test", shapes);
    server.route("GET", "/domains/:id", (req) => ({
      status: 200,
      body: { id: req.params["id"], limit: req.query.get("limit") },
    }));
    server.route("POST", "/domains/:id/records/:record", (req) => ({
      status: 201,
      body: { params: req.params, json: req.json() },
    }));
    server.route("GET", "/text", () => ({
      status: 200,
      body: "plain",
      headers: { "Content-Type": "text/plain" },
    }));
    server.route("DELETE", "/domains/:id", () => ({ status: 204 }));
    server.route("GET", "/boom", () => {
      throw new Error("handler bug");
    });
    await server.listen();
  });
  afterEach(() => server.close());

  const get = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);

  it("routes by method and path and decodes :params and the query", async () => {
    const res = await get("/domains/a%40b?limit=5");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: "a@b", limit: "5" });
    const trailing = await get("/domains/x/");
    expect(await trailing.json()).toEqual({ id: "x", limit: null });
    const malformed = await get("/domains/%E0%A4%A");
    expect(await malformed.json()).toEqual({ id: "%E0%A4%A", limit: null });
  });

  it("parses JSON bodies and passes several params", async () => {
    const res = await get("/domains/d1/records/r2", { method: "POST", body: JSON.stringify({ a: 1 }) });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ params: { id: "d1", record: "r2" }, json: { a: 1 } });
  });

  it("answers the vendor's 404 shape for unknown paths and for a known path with another method", async () => {
    for (const [method, path] of [
      ["GET", "/nope"],
      ["PUT", "/domains/x"],
      ["GET", "/domains/x/extra"],
    ] as const) {
      const res = await get(path, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await res.json()).toEqual({ statusCode: 404, name: "not_found", message: `no ${path}` });
    }
  });

  it("answers the vendor's bad-JSON shape for a malformed body", async () => {
    const res = await get("/domains/d1/records/r2", { method: "POST", body: "{nope" });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ statusCode: 422, name: "invalid_json" });
  });

  it("answers a failing handler with a 500 instead of leaving the request hanging", async () => {
    const res = await get("/boom");
    expect(res.status).toBe(500);
    expect(JSON.stringify(await res.json())).toContain("handler bug");
    expect((await get("/domains/still-up")).status).toBe(200);
  });

  it("sends content-type exactly application/json (no charset), keeps a handler's own, none without a body", async () => {
    expect((await get("/domains/x")).headers.get("content-type")).toBe("application/json");
    expect((await get("/nope")).headers.get("content-type")).toBe("application/json");
    expect((await get("/text")).headers.get("content-type")).toBe("text/plain");
    const empty = await get("/domains/x", { method: "DELETE" });
    expect(empty.status).toBe(204);
    expect(empty.headers.get("content-type")).toBeNull();
  });

  it("answers methodNotAllowed, when the shapes give one, for a known path asked with another method", async () => {
    const strict = new StandInServer("strict", {
      ...shapes,
      methodNotAllowed: (req) => ({ status: 405, body: { name: "method_not_allowed", path: req.path } }),
    });
    strict.route("GET", "/domains/:id", () => ({ status: 200, body: {} }));
    await strict.listen();
    try {
      const wrongVerb = await fetch(`${strict.url}/domains/d1`, { method: "DELETE" });
      expect(wrongVerb.status).toBe(405);
      expect(await wrongVerb.json()).toEqual({ name: "method_not_allowed", path: "/domains/d1" });
      expect((await fetch(`${strict.url}/domains/d1/x`, { method: "DELETE" })).status).toBe(404);
    } finally {
      await strict.close();
    }
  });

  it("uses the shapes' content type when one is given", async () => {
    const custom = new StandInServer("custom", { ...shapes, contentType: "application/vnd.api+json" });
    custom.route("GET", "/x", () => ({ status: 200, body: { ok: true } }));
    await custom.listen();
    try {
      expect((await fetch(`${custom.url}/x`)).headers.get("content-type")).toBe("application/vnd.api+json");
    } finally {
      await custom.close();
    }
  });

  it("records vendor requests (method, path, status, headers, raw body) but not control requests", async () => {
    await get("/domains/d1/records/r2", {
      method: "POST",
      headers: { authorization: "Bearer re_test" },
      body: '{"raw": true}',
    });
    await get("/nope");
    await get("/_sandbox/requests");
    expect(server.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ["POST", "/domains/d1/records/r2", 201],
      ["GET", "/nope", 404],
    ]);
    expect(server.requests[0]!.body).toBe('{"raw": true}');
    expect(server.requests[0]!.headers.authorization).toBe("Bearer [redacted]");
    expect(JSON.stringify(server.requests)).not.toContain("re_test");
    const listed = (await (await get("/_sandbox/requests")).json()) as { data: { path: string }[] };
    expect(listed.data.map((r) => r.path)).toEqual(["/domains/d1/records/r2", "/nope"]);
  });

  it("keeps only what recordBody returns in the request log", async () => {
    const redacting = new StandInServer("redacting", shapes, { recordBody: () => "[redacted]" });
    redacting.route("POST", "/secret", () => ({ status: 200, body: {} }));
    await redacting.listen();
    try {
      await fetch(`${redacting.url}/secret`, { method: "POST", body: "sk_live_value" });
      expect(redacting.requests[0]!.body).toBe("[redacted]");
    } finally {
      await redacting.close();
    }
  });

  it("adds and clears faults through control routes, which faults never affect", async () => {
    const added = await get("/_sandbox/faults", {
      method: "POST",
      body: JSON.stringify([
        { kind: "status", status: 503, count: 100 },
        { kind: "latency", ms: 1 },
      ]),
    });
    expect(added.status).toBe(201);
    expect(((await added.json()) as { faults: unknown[] }).faults).toHaveLength(2);
    expect((await get("/_sandbox/requests")).status).toBe(200);
    expect((await get("/domains/x")).status).toBe(503);
    const cleared = await get("/_sandbox/faults", { method: "DELETE" });
    expect(await cleared.json()).toEqual({ cleared: true });
    expect(server.faults.list()).toHaveLength(0);
    expect((await get("/domains/x")).status).toBe(200);
  });

  it("answers 400 naming the field for an invalid fault spec", async () => {
    for (const spec of [{ kind: "explode" }, { kind: "status", path: "([" }, { kind: "drop", count: 0 }]) {
      const res = await get("/_sandbox/faults", { method: "POST", body: JSON.stringify(spec) });
      expect(res.status, JSON.stringify(spec)).toBe(400);
      expect(JSON.stringify(await res.json())).toMatch(/kind|path|count/);
    }
    expect(server.faults.list()).toHaveLength(0);
  });

  it("applies a status fault with the vendor body shaper and records it", async () => {
    server.faults.shapeBody = (status) => ({ statusCode: status, name: "internal_server_error" });
    server.faults.add({ kind: "status", status: 502 });
    const res = await get("/domains/x");
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ statusCode: 502, name: "internal_server_error" });
    expect(server.requests.at(-1)?.status).toBe(502);
  });

  it("applies rate_limit as 429 with retry-after, and a given body verbatim", async () => {
    server.faults.add({ kind: "rate_limit", retryAfterSeconds: 7 });
    const limited = await get("/domains/x");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("7");
    expect(await limited.json()).toEqual({ status: 429 });
    server.faults.add({ kind: "rate_limit", body: { errors: [{ code: "too_many_requests" }] } });
    const shaped = await get("/domains/x");
    expect(shaped.headers.get("retry-after")).toBe("1");
    expect(await shaped.json()).toEqual({ errors: [{ code: "too_many_requests" }] });
  });

  it("applies latency and then serves the request normally", async () => {
    server.faults.add({ kind: "latency", ms: 150 });
    const started = performance.now();
    const res = await get("/domains/slow");
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(await res.json()).toEqual({ id: "slow", limit: null });
  });

  it("drops the connection without an answer and logs status 0", async () => {
    server.faults.add({ kind: "drop", path: "^/domains/" });
    await expect(get("/domains/x")).rejects.toThrow();
    expect(server.requests.at(-1)).toMatchObject({ path: "/domains/x", status: 0 });
    expect((await get("/domains/x")).status).toBe(200);
  });

  it("closes while a keep-alive connection is open", async () => {
    await get("/domains/x", { keepalive: true });
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    await expect(get("/domains/x")).rejects.toThrow();
  });

  it("refuses url before listen", () => {
    expect(() => new StandInServer("idle", shapes).url).toThrow(/call listen\(\) first/);
  });
});

describe("FaultInjector", () => {
  it("affects exactly `count` matching requests, then removes the fault", () => {
    const faults = new FaultInjector();
    const fault = faults.add({ kind: "status", status: 500, count: 2 });
    expect(faults.take("GET", "/a")?.response?.status).toBe(500);
    expect(fault).toMatchObject({ remaining: 1, hits: 1 });
    expect(faults.take("POST", "/b")?.response?.status).toBe(500);
    expect(faults.take("GET", "/a")).toBeUndefined();
    expect(faults.list()).toHaveLength(0);
  });

  it("defaults count to 1 and status to 500", () => {
    const faults = new FaultInjector();
    faults.add({ kind: "status" });
    expect(faults.take("GET", "/")?.response).toEqual({ status: 500, body: { status: 500 } });
    expect(faults.take("GET", "/")).toBeUndefined();
  });

  it("matches path as a regular expression and method case-insensitively", () => {
    const faults = new FaultInjector();
    faults.add({ kind: "drop", method: "post", path: "^/emails$", count: 10 });
    expect(faults.take("POST", "/emails/123")).toBeUndefined();
    expect(faults.take("GET", "/emails")).toBeUndefined();
    expect(faults.take("POST", "/emails")?.kind).toBe("drop");
  });

  it("takes the first matching fault in the order added", () => {
    const faults = new FaultInjector();
    faults.add({ kind: "latency", ms: 5, path: "/domains" });
    faults.add({ kind: "status", status: 503 });
    expect(faults.take("GET", "/emails")?.response?.status).toBe(503);
    expect(faults.take("GET", "/domains")).toEqual({ kind: "latency", latencyMs: 5 });
  });

  it("rejects unknown kinds, bad regular expressions and counts below 1", () => {
    const faults = new FaultInjector();
    expect(() => faults.add({ kind: "boom" as never })).toThrow(/kind/);
    expect(() => faults.add({ kind: "drop", path: "(" })).toThrow(/path/);
    expect(() => faults.add({ kind: "drop", count: 0 })).toThrow(/count/);
    expect(() => faults.add({ kind: "drop", count: 1.5 })).toThrow(/count/);
    expect(faults.list()).toHaveLength(0);
  });
});

describe("WindowRateLimiter", () => {
  it("allows `limit` requests per window per key, then denies until the window resets", () => {
    let now = 1_000;
    const limiter = new WindowRateLimiter(2, 1_000, () => now);
    expect(limiter.take("team")).toEqual({ allowed: true, remaining: 1, resetMs: 1_000 });
    now += 400;
    expect(limiter.take("team")).toEqual({ allowed: true, remaining: 0, resetMs: 600 });
    expect(limiter.take("team")).toEqual({ allowed: false, remaining: 0, resetMs: 600 });
    expect(limiter.take("other").allowed).toBe(true);
    now += 600;
    expect(limiter.take("team")).toEqual({ allowed: true, remaining: 1, resetMs: 1_000 });
  });

  it("does not count denied requests and starts over after reset()", () => {
    let now = 0;
    const limiter = new WindowRateLimiter(1, 10_000, () => now);
    limiter.take();
    for (let i = 0; i < 5; i++) expect(limiter.take().allowed).toBe(false);
    now += 10_000;
    expect(limiter.take().allowed).toBe(true);
    limiter.reset();
    expect(limiter.take().allowed).toBe(true);
  });
});

describe("SvixDispatcher", () => {
  const SECRET = `whsec_${Buffer.from("a-24-byte-test-secret!!!").toString("base64")}`;
  const OLD_SECRET = `whsec_${Buffer.from("the-previous-secret-key!").toString("base64")}`;
  let receiver: WebhookReceiver;
  let endpoints: DispatchEndpoint[];
  let dispatcher: SvixDispatcher;

  beforeEach(async () => {
    receiver = await startWebhookReceiver();
    endpoints = [{ id: "ep_1", url: receiver.url, secrets: [SECRET], eventTypes: null }];
    dispatcher = new SvixDispatcher(() => endpoints, { timeScale: 0.0001 });
  });
  afterEach(async () => {
    dispatcher.close();
    await receiver.close();
  });

  /** standardwebhooks reads `webhook-*`; Svix sends the same values as `svix-*`. */
  const verify = (secret: string, hook: { headers: Record<string, unknown>; body: string }) =>
    new Webhook(secret).verify(hook.body, {
      "webhook-id": String(hook.headers["svix-id"]),
      "webhook-timestamp": String(hook.headers["svix-timestamp"]),
      "webhook-signature": String(hook.headers["svix-signature"]),
    });

  it("delivers the JSON payload with svix headers whose signature verifies", async () => {
    const [delivery] = dispatcher.dispatch("email.bounced", { type: "email.bounced", data: { id: "e1" } });
    await dispatcher.settle();
    expect(receiver.received).toHaveLength(1);
    const hook = receiver.received[0]!;
    expect(hook.headers["content-type"]).toBe("application/json");
    expect(hook.headers["svix-id"]).toBe(delivery!.msgId);
    expect(delivery!.msgId).toMatch(/^msg_[0-9A-Za-z]{27}$/);
    expect(Math.abs(Number(hook.headers["svix-timestamp"]) - Date.now() / 1000)).toBeLessThan(5);
    expect(verify(SECRET, hook)).toEqual({ type: "email.bounced", data: { id: "e1" } });
    expect(() => verify(OLD_SECRET, hook)).toThrow(/No matching signature/);
    expect(() => verify(SECRET, { ...hook, body: hook.body.replace("e1", "e2") })).toThrow();
    expect(delivery!.state).toBe("succeeded");
  });

  it("signs with every secret during a rotation, each verifying on its own", async () => {
    endpoints[0]!.secrets = [SECRET, OLD_SECRET];
    dispatcher.dispatch("user.updated", { n: 1 });
    await dispatcher.settle();
    const hook = receiver.received[0]!;
    expect(String(hook.headers["svix-signature"]).split(" ")).toHaveLength(2);
    expect(verify(SECRET, hook)).toEqual({ n: 1 });
    expect(verify(OLD_SECRET, hook)).toEqual({ n: 1 });
  });

  it("retries non-2xx answers with the same svix-id on the Svix schedule, and stops at the first 2xx", async () => {
    receiver.respondWith(500, 404, 503);
    const [delivery] = dispatcher.dispatch("email.created", { id: 1 });
    await dispatcher.settle();
    expect(receiver.received.map((h) => h.status)).toEqual([500, 404, 503, 200]);
    expect(new Set(receiver.received.map((h) => h.headers["svix-id"]))).toEqual(new Set([delivery!.msgId]));
    for (const hook of receiver.received) expect(verify(SECRET, hook)).toEqual({ id: 1 });
    expect(delivery!.attempts.map((a) => a.status)).toEqual([500, 404, 503, 200]);
    expect(delivery!.state).toBe("succeeded");

    const times = delivery!.attempts.map((a) => Date.parse(a.at));
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // Scheduled delays scaled by 0.0001: 0.5 ms, 30 ms, 180 ms.
    expect(gaps[1]).toBeGreaterThanOrEqual(SVIX_RETRY_SCHEDULE_MS[2]! * 0.0001 - 2);
    expect(gaps[2]).toBeGreaterThanOrEqual(SVIX_RETRY_SCHEDULE_MS[3]! * 0.0001 - 2);
    expect(gaps[2]!).toBeGreaterThan(gaps[1]!);
  });

  it("gives up as failed after the whole schedule, counting unreachable endpoints as failures", async () => {
    dispatcher.timeScale = 0.00001;
    endpoints = [
      { id: "ep_dead", url: "http://127.0.0.1:9/unreachable", secrets: [SECRET], eventTypes: null },
    ];
    const [delivery] = dispatcher.dispatch("email.created", {});
    await dispatcher.settle();
    expect(delivery!.state).toBe("failed");
    expect(delivery!.attempts).toHaveLength(SVIX_RETRY_SCHEDULE_MS.length);
    expect(delivery!.attempts.every((a) => a.status === null && a.error)).toBe(true);
  });

  it("sends only subscribed event types and skips disabled endpoints", async () => {
    const other = await startWebhookReceiver();
    const off = await startWebhookReceiver();
    try {
      endpoints = [
        { id: "ep_bounces", url: receiver.url, secrets: [SECRET], eventTypes: ["email.bounced"] },
        { id: "ep_all", url: other.url, secrets: [SECRET], eventTypes: [] },
        { id: "ep_off", url: off.url, secrets: [SECRET], eventTypes: null, disabled: true },
      ];
      const created = dispatcher.dispatch("email.created", { a: 1 });
      const bounced = dispatcher.dispatch("email.bounced", { a: 2 });
      await dispatcher.settle();
      expect(created.map((d) => d.endpointId)).toEqual(["ep_all"]);
      expect(bounced.map((d) => d.endpointId)).toEqual(["ep_bounces", "ep_all"]);
      expect(receiver.received.map((h) => JSON.parse(h.body))).toEqual([{ a: 2 }]);
      expect(other.received).toHaveLength(2);
      expect(off.received).toHaveLength(0);
      expect(dispatcher.deliveries).toHaveLength(3);
    } finally {
      await Promise.all([other.close(), off.close()]);
    }
  });

  it("retries only to an endpoint that still exists and is enabled", async () => {
    dispatcher.timeScale = 0.01; // first retry after 50 ms
    receiver.respondWith(500, 500);
    const [removed] = dispatcher.dispatch("a", {});
    await eventually(() => removed!.attempts[0]);
    endpoints = [];
    await dispatcher.settle();
    expect(removed!.state).toBe("failed");
    expect(removed!.attempts).toHaveLength(1);

    endpoints = [{ id: "ep_1", url: receiver.url, secrets: [SECRET], eventTypes: null }];
    const [disabled] = dispatcher.dispatch("b", {});
    await eventually(() => disabled!.attempts[0]);
    endpoints[0]!.disabled = true;
    await dispatcher.settle();
    expect(disabled!.state).toBe("failed");
    expect(disabled!.attempts).toHaveLength(1);
    expect(receiver.received).toHaveLength(2);
  });

  it("sends a message to an endpoint that names channels only when it is on one of them", async () => {
    endpoints[0]!.channels = ["tenant-a"];
    expect(dispatcher.dispatch("a", { n: 1 })).toHaveLength(0);
    expect(dispatcher.dispatch("a", { n: 2 }, ["tenant-b"])).toHaveLength(0);
    expect(dispatcher.dispatch("a", { n: 3 }, ["tenant-b", "tenant-a"])).toHaveLength(1);
    await dispatcher.settle();
    expect(receiver.received.map((h) => JSON.parse(h.body))).toEqual([{ n: 3 }]);
  });

  it("settle() waits for every queued delivery, including retries", async () => {
    receiver.respondWith(500, 500);
    const deliveries = [...dispatcher.dispatch("a", { i: 1 }), ...dispatcher.dispatch("b", { i: 2 })];
    expect(deliveries.every((d) => d.state === "pending")).toBe(true);
    await dispatcher.settle();
    expect(deliveries.map((d) => d.state)).toEqual(["succeeded", "succeeded"]);
    expect(receiver.received).toHaveLength(4);
  });

  it("close() ends pending retries as failed", async () => {
    receiver.respondWith(500, 500, 500);
    const [delivery] = dispatcher.dispatch("a", {});
    dispatcher.close();
    await dispatcher.settle();
    expect(delivery!.state).toBe("failed");
    expect(delivery!.attempts).toHaveLength(1);
  });

  it("close() aborts an attempt whose endpoint has not answered yet", async () => {
    const hung = createServer(() => undefined);
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    try {
      endpoints = [
        {
          id: "ep_hung",
          url: `http://127.0.0.1:${(hung.address() as AddressInfo).port}/`,
          secrets: [SECRET],
          eventTypes: null,
        },
      ];
      const requested = new Promise((resolve) => hung.once("request", resolve));
      const [delivery] = dispatcher.dispatch("a", {});
      await requested;
      const closedAt = Date.now();
      dispatcher.close();
      await dispatcher.settle();
      // The endpoint had 15 s to answer; settle() must not have waited for that.
      expect(Date.now() - closedAt).toBeLessThan(1_000);
      expect(delivery!.state).toBe("failed");
      expect(delivery!.attempts.map((a) => a.status)).toEqual([null]);
    } finally {
      hung.closeAllConnections();
      await new Promise((resolve) => hung.close(resolve));
    }
  });

  it("close() cuts a real-time retry wait short instead of leaving its timer running", async () => {
    dispatcher.timeScale = 1;
    receiver.respondWith(500);
    const [delivery] = dispatcher.dispatch("a", {});
    await eventually(() => delivery!.attempts[0]);
    const closedAt = Date.now();
    dispatcher.close();
    await dispatcher.settle();
    // The next attempt was due 5 s later; settle() must not have waited for it.
    expect(Date.now() - closedAt).toBeLessThan(1_000);
    expect(delivery!.state).toBe("failed");
    expect(delivery!.attempts).toHaveLength(1);
  });
});
