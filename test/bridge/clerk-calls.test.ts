import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clerkUserEvent, resendEmailEvent, resendSuppressionEvent } from "./fixtures";
import { type Pipeline, startPipeline } from "./harness";

/** Clerk's Backend API calls the bridge made since `from` (the stand-in records every request). */
function clerkCallsSince(p: Pipeline, from: number) {
  return p.clerk.server.requests
    .slice(from)
    .filter((r) => r.path.startsWith("/v1/users"))
    .map((r) => `${r.method} ${r.path.replace(/user_[A-Za-z0-9]+/, ":id")} ${r.status}`);
}

describe("Clerk calls: what user.* webhooks said is kept, so a bounce costs one write", () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline();
  });
  afterAll(() => p.close());

  it("a bounce tagged with its user's id: one metadata write; the suppression.added after it and the echo of the write: none", async () => {
    const address = "member@mail.example.org";
    const { user } = p.clerk.instance.signUp(address, { verify: true });
    await p.settle();
    expect(p.clerk.instance.user(user!.id).publicMetadata).toEqual({});

    // The user's next sign-in code hard-bounces (Resend also puts the address on its suppression list).
    p.resend.forceOutcome(address, { outcome: "bounced" });
    const from = p.clerk.server.requests.length;
    p.clerk.instance.signIn(address, "email_code");
    await p.settle();

    const sent = p.resend.emails().filter((e) => e.to.includes(address));
    expect(sent.at(-1)?.tags).toContainEqual({ name: "clerk_user_id", value: user!.id });
    expect(p.resend.events().filter((e) => e.type === "suppression.added").length).toBeGreaterThan(0);
    expect(p.clerk.instance.user(user!.id).publicMetadata).toMatchObject({
      email_status: "undeliverable",
      email_status_address: address,
    });
    expect(clerkCallsSince(p, from)).toEqual(["PATCH /v1/users/:id/metadata 200"]);
    // Clerk did echo the write as user.updated; the bridge made no call for it.
    expect(p.clerk.events().filter((e) => e.type === "user.updated").length).toBeGreaterThan(0);
  });

  it("the untagged suppression.added processed before the tagged email.bounced: still one write, no read", async () => {
    const address = "member-race@mail.example.org";
    const { user } = p.clerk.instance.signUp(address, { verify: true });
    await p.settle();
    const from = p.clerk.server.requests.length;
    // Resend sends both at once; here the team-wide one, which names no user, is processed first.
    expect(
      (await p.deliver("resend", resendSuppressionEvent("suppression.added", address, "bounce"))).status,
    ).toBe(202);
    await p.settle();
    const bounce = resendEmailEvent("email.bounced", address, {
      tags: { stack: "e2e", clerk_user_id: user!.id },
    });
    expect((await p.deliver("resend", bounce)).status).toBe(202);
    await p.settle();
    expect(p.clerk.instance.user(user!.id).publicMetadata).toMatchObject({ email_status: "undeliverable" });
    expect(clerkCallsSince(p, from)).toEqual(["PATCH /v1/users/:id/metadata 200"]);
  });

  it("an older snapshot arriving late (a Svix retry) does not replace a newer one", async () => {
    const id = "user_late_snapshot";
    const newer = clerkUserEvent("user.updated", { id, addresses: ["late-b@mail.example.org"] });
    const older = clerkUserEvent("user.updated", { id, addresses: ["late-a@mail.example.org"] });
    (newer.data as { updated_at: number }).updated_at = 2_000_000_000_000;
    (older.data as { updated_at: number }).updated_at = 1_000_000_000_000;
    for (const event of [newer, older]) expect((await p.deliver("clerk", event)).status).toBe(202);
    await p.settle();
    expect(await p.bridge.store.getUserProfile(id)).toMatchObject({
      primaryAddress: "late-b@mail.example.org",
      updatedAtMs: 2_000_000_000_000,
    });
  });

  it("a user Clerk does not know is read once and kept; user.deleted forgets it", async () => {
    const { user } = p.clerk.instance.signUp("unknown-before@mail.example.org", { verify: true });
    await p.settle();
    // As if the bridge had been deployed after the user signed up.
    await p.bridge.store.deleteUserProfile(user!.id);
    const from = p.clerk.server.requests.length;
    expect((await p.bridge.users.getUser(user!.id))?.primaryAddress).toBe("unknown-before@mail.example.org");
    expect((await p.bridge.users.getUser(user!.id))?.primaryAddress).toBe("unknown-before@mail.example.org");
    expect(clerkCallsSince(p, from)).toEqual(["GET /v1/users/:id 200"]);
    p.clerk.instance.deleteUser(user!.id);
    await p.settle();
    expect(await p.bridge.store.getUserProfile(user!.id)).toBeUndefined();
  });
});
