import { request } from "node:http";
import { Resend } from "resend";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startResendStandIn } from "../../src/sandbox/resend";
import {
  expectResendError,
  expectSpecSuccess,
  type ResendHarness,
  startResendHarness,
} from "./resend-harness";

let h: ResendHarness;

beforeAll(async () => {
  h = await startResendHarness({ apiKeys: ["re_first_key", "re_second_key"] });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.standIn.rateLimitPerSecond = 10_000;
  h.standIn.server.faults.clear();
});

const raw = (path: string, headers: Record<string, string>, init: RequestInit = {}) =>
  fetch(`${h.standIn.url}${path}`, { ...init, headers });

describe("Resend stand-in: authentication and errors", () => {
  it("answers 401 missing_api_key without a key and 403 invalid_api_key for an unknown one", async () => {
    const missing = await raw("/domains", { "user-agent": "test" });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ statusCode: 401, name: "missing_api_key" });

    const unknown = new Resend("re_not_a_key", { baseUrl: h.standIn.url });
    expectResendError(await unknown.domains.list(), 403, "invalid_api_key");

    // Every configured key works.
    const second = new Resend("re_second_key", { baseUrl: h.standIn.url });
    expect((await second.domains.list()).error).toBeNull();
  });

  it("refuses a request without User-Agent with Cloudflare's 403 error 1010 (plain text)", async () => {
    // fetch always adds a User-Agent, so this goes through node:http, which adds none.
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${h.standIn.url}/domains`, {
        headers: { authorization: `Bearer ${h.standIn.apiKey}` },
      });
      req.on("response", (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString("utf8");
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(403);
    expect(body).toBe("error code: 1010");
  });

  it("answers unknown paths 404 not_found and wrong methods 405 method_not_allowed, in Resend's shape", async () => {
    const auth = { authorization: `Bearer ${h.standIn.apiKey}`, "user-agent": "test" };
    const missing = await raw("/nope", auth);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ statusCode: 404, name: "not_found" });
    const wrongVerb = await raw("/domains", auth, { method: "PUT" });
    expect(wrongVerb.status).toBe(405);
    expect(await wrongVerb.json()).toMatchObject({ statusCode: 405, name: "method_not_allowed" });
  });

  it("answers malformed JSON with 400 validation_error", async () => {
    const res = await raw(
      "/domains",
      {
        authorization: `Bearer ${h.standIn.apiKey}`,
        "user-agent": "test",
        "content-type": "application/json",
      },
      { method: "POST", body: "{not json" },
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ statusCode: 400, name: "validation_error" });
  });

  it("shapes injected 5xx and 429 faults like Resend's errors", async () => {
    h.standIn.server.faults.add({ kind: "status", status: 503, path: "^/domains$" });
    expectResendError(await h.resend.domains.list(), 503, "service_unavailable");
    h.standIn.server.faults.add({ kind: "rate_limit", path: "^/domains$", retryAfterSeconds: 3 });
    const limited = await h.resend.domains.list();
    expectResendError(limited, 429, "rate_limit_exceeded", /10000 requests per second/);
    expect(limited.headers?.["retry-after"]).toBe("3");
    h.standIn.server.faults.add({ kind: "status", status: 500, path: "^/domains$" });
    expectResendError(await h.resend.domains.list(), 500, "application_error");
  });
});

describe("Resend stand-in: team rate limit", () => {
  it("defaults to 2 requests per second across all keys, with ratelimit-* headers and a 429", async () => {
    const standIn = await startResendStandIn({ dnsServer: "127.0.0.1:9", apiKeys: ["re_a", "re_b"] });
    try {
      const a = new Resend("re_a", { baseUrl: standIn.url });
      const b = new Resend("re_b", { baseUrl: standIn.url });
      const first = await a.domains.list();
      expectSpecSuccess(first, "GET", "/domains");
      expect(first.headers).toMatchObject({ "ratelimit-limit": "2", "ratelimit-remaining": "1" });
      expect(Number(first.headers?.["ratelimit-reset"])).toBeGreaterThanOrEqual(1);
      const second = await b.domains.list();
      expect(second.headers?.["ratelimit-remaining"]).toBe("0");
      const third = await a.domains.list();
      expectResendError(third, 429, "rate_limit_exceeded", /2 requests per second/);
      expect(Number(third.headers?.["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(third.headers?.["ratelimit-remaining"]).toBe("0");
      // The window resets after a second.
      await new Promise((r) => setTimeout(r, 1_050));
      expect((await b.domains.list()).error).toBeNull();
    } finally {
      await standIn.close();
    }
  });

  it("takes a new limit at runtime through the control route", async () => {
    const put = await fetch(`${h.standIn.url}/_sandbox/resend/rate-limit`, {
      method: "PUT",
      body: JSON.stringify({ perSecond: 3 }),
    });
    expect(put.status).toBe(200);
    const statuses: number[] = [];
    const limits: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await h.resend.domains.list();
      statuses.push(res.error ? (res.error as { statusCode: number }).statusCode : 200);
      limits.push(res.headers?.["ratelimit-limit"] ?? "");
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(limits).toEqual(["3", "3", "3", "3"]);
    const got = await (await fetch(`${h.standIn.url}/_sandbox/resend/rate-limit`)).json();
    expect(got).toEqual({ perSecond: 3 });
    const bad = await fetch(`${h.standIn.url}/_sandbox/resend/rate-limit`, {
      method: "PUT",
      body: JSON.stringify({ perSecond: 0 }),
    });
    expect(bad.status).toBe(400);
  });
});
