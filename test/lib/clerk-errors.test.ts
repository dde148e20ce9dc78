import { createClerkClient } from "@clerk/backend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backoffDelayMs, parseRetryAfter } from "../../src/lib/backoff";
import { classifyClerkError, withClerkBackoff } from "../../src/lib/clerk-errors";
import { StandInServer } from "../../src/sandbox/core/server";

const clerkErrors = (errors: unknown[]) => ({ errors, clerk_trace_id: "trace_1" });

describe("Clerk error classification against real SDK errors", () => {
  const server = new StandInServer("clerk-errors", {
    notFound: () => ({
      status: 404,
      body: clerkErrors([{ code: "resource_not_found", message: "not found", long_message: "No user" }]),
    }),
    badJson: () => ({ status: 400, body: clerkErrors([]) }),
    contentType: "application/json",
  });
  let calls = 0;
  let clerk: ReturnType<typeof createClerkClient>;

  beforeAll(async () => {
    server.route("GET", "/v1/users/:id", (req) => {
      calls++;
      if (req.params.id === "user_busy" && calls < 3) {
        return {
          status: 429,
          headers: { "retry-after": "1" },
          body: clerkErrors([
            {
              code: "too_many_requests",
              message: "Too many requests",
              long_message: "Too many requests, retry later",
            },
          ]),
        };
      }
      if (req.params.id === "user_broken") return { status: 503, body: clerkErrors([]) };
      return {
        status: 200,
        body: { object: "user", id: req.params.id, email_addresses: [], public_metadata: {} },
      };
    });
    server.route("POST", "/v1/users", () => ({
      status: 422,
      body: clerkErrors([
        {
          code: "form_password_not_strong_enough",
          message: "Given password is not strong enough.",
          long_message: "Given password is not strong enough. Use a longer password.",
          meta: {
            param_name: "password",
            zxcvbn: { suggestions: [{ code: "anotherWord", message: "Add another word or two." }] },
          },
        },
      ]),
    }));
    clerk = createClerkClient({ secretKey: "sk_test_x", apiUrl: await server.listen() });
  });
  afterAll(() => server.close());

  it("reads code, messages, param and zxcvbn suggestions from a 422", async () => {
    const err = await clerk.users
      .createUser({ emailAddress: ["a@x.test"], password: "abc" })
      .catch((e: unknown) => e);
    const c = classifyClerkError(err);
    expect(c).toMatchObject({
      kind: "weak_password",
      status: 422,
      code: "form_password_not_strong_enough",
      paramName: "password",
      passwordSuggestions: ["Add another word or two."],
      retryable: false,
      traceId: "trace_1",
    });
    expect(c.longMessage).toContain("Use a longer password");
  });

  it("turns Retry-After into retryAfterMs and retries a 429 until it passes", async () => {
    calls = 0;
    const err = await clerk.users.getUser("user_busy").catch((e: unknown) => e);
    expect(classifyClerkError(err)).toMatchObject({
      kind: "rate_limited",
      retryAfterMs: 1000,
      retryable: true,
    });
    const waits: number[] = [];
    const user = await withClerkBackoff(() => clerk.users.getUser("user_busy"), {
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    expect(user.id).toBe("user_busy");
    expect(waits).toEqual([1000]);
  });

  it("gives up after the bounded attempts and rethrows the real error", async () => {
    const waits: number[] = [];
    const err = await withClerkBackoff(() => clerk.users.getUser("user_broken"), {
      policy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
      sleep: async (ms) => {
        waits.push(ms);
      },
    }).catch((e: unknown) => e);
    expect(classifyClerkError(err)).toMatchObject({ kind: "server_error", status: 503 });
    expect(waits).toHaveLength(2);
  });

  it("does not retry a 404 and treats connection failures as retryable", async () => {
    const err = await clerk.users.getUser("user_missing/extra").catch((e: unknown) => e);
    expect(classifyClerkError(err).kind).toBe("not_found");
    expect(classifyClerkError(new TypeError("fetch failed"))).toMatchObject({
      kind: "network",
      retryable: true,
    });
  });

  it("classifies the SDK's own error for a refused connection as a retryable network failure", async () => {
    const closed = new StandInServer("closed", {
      notFound: () => ({ status: 404 }),
      badJson: () => ({ status: 400 }),
    });
    const apiUrl = await closed.listen();
    await closed.close();
    const unreachable = createClerkClient({ secretKey: "sk_test_x", apiUrl });
    const err = await unreachable.users.getUser("user_1").catch((e: unknown) => e);
    expect(classifyClerkError(err)).toMatchObject({ kind: "network", status: undefined, retryable: true });
    let attempts = 0;
    await withClerkBackoff(
      () => {
        attempts++;
        return unreachable.users.getUser("user_1");
      },
      { policy: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } },
    ).catch(() => undefined);
    expect(attempts).toBe(3);
  });
});

describe("backoff", () => {
  it("prefers the server's Retry-After, caps it, and grows otherwise", () => {
    const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelayMs(1, 300, policy)).toBe(300);
    expect(backoffDelayMs(1, 60_000, policy)).toBe(1000);
    expect(backoffDelayMs(3, undefined, policy, () => 1)).toBe(400);
    expect(backoffDelayMs(10, undefined, policy, () => 1)).toBe(1000);
    expect(parseRetryAfter("2")).toBe(2000);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString(), Date.now())).toBeGreaterThan(3000);
    expect(parseRetryAfter("soon")).toBeUndefined();
  });
});
