import { type ClerkClient, createClerkClient } from "@clerk/backend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clerkUsersClient } from "../../src/bridge/clerk-users";
import { classifyClerkError } from "../../src/lib/clerk-errors";
import { type ClerkStandIn, startClerkStandIn } from "../../src/sandbox/clerk";
import { assertExchangesMatchSpec, recordFetch } from "../support/fetch-recorder";
import { contract, SPECS } from "../support/openapi";

/** The bridge's three users calls against the Clerk stand-in, side by side with the SDK making the same calls. */
describe("clerkUsersClient", () => {
  let clerk: ClerkStandIn;
  let sdk: ClerkClient;
  let light: ReturnType<typeof clerkUsersClient>;

  beforeAll(async () => {
    clerk = await startClerkStandIn({ secretKey: "sk_test_users_client" });
    sdk = createClerkClient({ secretKey: clerk.secretKey, apiUrl: clerk.url });
    light = clerkUsersClient({ secretKey: clerk.secretKey, apiUrl: `${clerk.url}/` });
  });
  afterAll(() => clerk.close());

  const pick = (u: {
    id: string;
    primaryEmailAddressId: string | null;
    emailAddresses: Array<{ id: string; emailAddress: string }>;
    publicMetadata: unknown;
    updatedAt: number;
  }) => ({
    id: u.id,
    primaryEmailAddressId: u.primaryEmailAddressId,
    emailAddresses: u.emailAddresses.map((e) => ({ id: e.id, emailAddress: e.emailAddress })),
    publicMetadata: u.publicMetadata,
    updatedAt: u.updatedAt,
  });

  it("reads users and finds them by address exactly as the SDK does, over requests the spec accepts", async () => {
    const ada = clerk.instance.createUser({ emailAddress: "ada@example.com" });
    clerk.instance.createUser({ emailAddress: "bob@example.com" });
    const recorder = recordFetch(clerk.url);
    try {
      expect(await light.users.getUser(ada.id)).toEqual(pick(await sdk.users.getUser(ada.id)));
      const found = await light.users.getUserList({ emailAddress: ["ada@example.com"], limit: 10 });
      expect(found.data.map((u) => u.id)).toEqual([ada.id]);
      expect(found.data).toEqual(
        (await sdk.users.getUserList({ emailAddress: ["ada@example.com"], limit: 10 })).data.map(pick),
      );
    } finally {
      recorder.restore();
    }
    assertExchangesMatchSpec(contract(SPECS.clerkBapi), recorder.exchanges, {
      prefix: "/v1",
      errorComponent: "ClerkErrors",
    });
    const sent = clerk.server.requests.filter((r) => r.path.startsWith("/v1/users"));
    expect(sent.every((r) => r.headers["clerk-api-version"] === "2026-05-12")).toBe(true);
  });

  it("merges public metadata: null removes a key, other keys survive", async () => {
    const user = clerk.instance.createUser({ emailAddress: "meta@example.com" });
    await sdk.users.updateUserMetadata(user.id, { publicMetadata: { plan: "pro", email_status: "x" } });
    await light.users.updateUserMetadata(user.id, {
      publicMetadata: { email_status: "undeliverable", email_status_reason: null },
    });
    expect((await light.users.getUser(user.id)).publicMetadata).toEqual({
      plan: "pro",
      email_status: "undeliverable",
    });
  });

  it("throws the SDK's ClerkAPIResponseError, classified the same: not found, rate limited with Retry-After, 5xx", async () => {
    const same = async (
      call: (c: { users: { getUser(id: string): Promise<unknown> } }) => Promise<unknown>,
    ) => {
      const a = classifyClerkError(await call(light).catch((e: unknown) => e));
      const b = classifyClerkError(await call(sdk).catch((e: unknown) => e));
      expect({ ...a, traceId: undefined }).toEqual({ ...b, traceId: undefined });
      return a;
    };
    expect((await same((c) => c.users.getUser("user_missing"))).kind).toBe("not_found");
    clerk.server.faults.add({ kind: "rate_limit", retryAfterSeconds: 7, path: "^/v1/users/", count: 2 });
    const limited = await same((c) => c.users.getUser("user_any"));
    expect(limited).toMatchObject({ kind: "rate_limited", retryAfterMs: 7_000, retryable: true });
    clerk.server.faults.add({ kind: "status", status: 502, path: "^/v1/users/", count: 2 });
    expect((await same((c) => c.users.getUser("user_any"))).kind).toBe("server_error");
    // A dropped connection surfaces as fetch's TypeError, which the directory's backoff retries.
    clerk.server.faults.add({ kind: "drop", path: "^/v1/users/", count: 1 });
    const dropped = classifyClerkError(await light.users.getUser("user_any").catch((e: unknown) => e));
    expect(dropped).toMatchObject({ kind: "network", retryable: true });
    // A Clerk that does not answer in time: the call is given up and retried, not left to hang the batch.
    clerk.server.faults.add({ kind: "latency", ms: 1_000, path: "^/v1/users/", count: 1 });
    const impatient = clerkUsersClient({ secretKey: clerk.secretKey, apiUrl: clerk.url, timeoutMs: 50 });
    const started = Date.now();
    const slow = classifyClerkError(await impatient.users.getUser("user_any").catch((e: unknown) => e));
    expect(Date.now() - started).toBeLessThan(900);
    expect(slow).toMatchObject({ kind: "network", retryable: true });
    const unauthorized = clerkUsersClient({ secretKey: "sk_test_wrong", apiUrl: clerk.url });
    expect(classifyClerkError(await unauthorized.users.getUser("u").catch((e: unknown) => e)).kind).toBe(
      "unauthorized",
    );
  });
});
