import type * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ClerkEmailDelivery } from "../../infra/providers/clerk-delivery";
import { UNKNOWN } from "../../infra/providers/vendor-http";
import type { ClerkStandIn } from "../../src/sandbox/clerk";
import { checkedInputs, serializedProviderOf } from "../support/serialized-provider";
import { clerkCall, startClerkWorld } from "./world";

let clerk: ClerkStandIn;
let provider: pulumi.dynamic.ResourceProvider;
let declared: Record<string, unknown>;

const SLUGS = ["verification_code", "reset_password_code", "magic_link_sign_in"];

beforeAll(async () => {
  clerk = await startClerkWorld();
  const loaded = await serializedProviderOf(
    () => new ClerkEmailDelivery("cutover", { templates: ["verification_code", "reset_password_code"] }),
  );
  provider = loaded.provider;
  declared = loaded.captured.inputs;
});

afterAll(async () => {
  await clerk?.close();
});

async function setDelivery(slug: string, deliveredByClerk: boolean): Promise<void> {
  const res = await clerkCall(clerk, "POST", `/templates/email/${slug}/toggle_delivery`, {
    delivered_by_clerk: deliveredByClerk,
  });
  expect(res.status).toBe(200);
}

async function deliveredByClerk(slug: string): Promise<boolean> {
  return (await clerkCall(clerk, "GET", `/templates/email/${slug}`)).body.delivered_by_clerk;
}

// Each test starts from Clerk's default: every template delivered by Clerk, except one turned off by hand.
beforeEach(async () => {
  clerk.server.faults.clear();
  for (const slug of SLUGS) await setDelivery(slug, slug !== "reset_password_code");
});

const checked = (news: Record<string, unknown>) => checkedInputs(provider, news);

describe("ClerkEmailDelivery provider, loaded from its serialized form", () => {
  it("turns Clerk delivery off, remembers each previous value and restores it on delete", async () => {
    const inputs = await checked(declared);
    const created = await provider.create(inputs);
    expect(created.outs.previous).toEqual({ verification_code: true, reset_password_code: false });
    expect(await deliveredByClerk("verification_code")).toBe(false);
    expect(await deliveredByClerk("reset_password_code")).toBe(false);
    // Only the template that was on needed a toggle.
    const toggles = clerk.server.requests.filter(
      (r) => r.path.endsWith("/toggle_delivery") && r.status === 200,
    );
    expect(toggles.map((r) => r.path).at(-1)).toBe("/v1/templates/email/verification_code/toggle_delivery");

    const read = await provider.read!(created.id, created.outs);
    expect(read.props?.current).toEqual({ verification_code: false, reset_password_code: false });
    expect(await provider.diff!(created.id, read.props, inputs)).toMatchObject({ changes: false });

    await provider.delete!(created.id, read.props);
    expect(await deliveredByClerk("verification_code")).toBe(true);
    expect(await deliveredByClerk("reset_password_code")).toBe(false);
  });

  it("update cuts over added templates and restores removed ones", async () => {
    const created = await provider.create(await checked(declared));
    const next = await checked({ templates: ["reset_password_code", "magic_link_sign_in"] });
    expect((await provider.diff!(created.id, created.outs, next)).changes).toBe(true);

    const updated = await provider.update!(created.id, created.outs, next);
    expect(updated.outs.previous).toEqual({ reset_password_code: false, magic_link_sign_in: true });
    expect(await deliveredByClerk("magic_link_sign_in")).toBe(false);
    expect(await deliveredByClerk("verification_code")).toBe(true);
    expect(await deliveredByClerk("reset_password_code")).toBe(false);

    await provider.delete!(created.id, updated.outs);
    expect(await deliveredByClerk("magic_link_sign_in")).toBe(true);
  });

  it("a failed update has switched no added template, whose previous value the kept state would lack", async () => {
    const created = await provider.create(await checked(declared));
    clerk.server.faults.add({
      kind: "status",
      method: "GET",
      path: "/templates/email/verification_code$",
      status: 400,
      body: { errors: [{ message: "bad request", long_message: "bad request", code: "bad_request" }] },
    });
    const next = await checked({ templates: ["verification_code", "magic_link_sign_in"] });
    await expect(provider.update!(created.id, created.outs, next)).rejects.toThrow(/HTTP 400/);
    expect(await deliveredByClerk("magic_link_sign_in")).toBe(true);
    await provider.delete!(created.id, created.outs);
  });

  it("switches a template off again after someone re-enabled Clerk delivery", async () => {
    const inputs = await checked(declared);
    const created = await provider.create(inputs);
    await setDelivery("verification_code", true);
    const read = await provider.read!(created.id, created.outs);
    expect(read.props?.current.verification_code).toBe(true);
    expect((await provider.diff!(created.id, read.props, inputs)).changes).toBe(true);
    const updated = await provider.update!(created.id, read.props, inputs);
    expect(await deliveredByClerk("verification_code")).toBe(false);
    // The value to restore is still the one from before the cutover.
    expect(updated.outs.previous.verification_code).toBe(true);
    await provider.delete!(created.id, updated.outs);
  });

  it("a new domain replaces it delete-first, so Clerk delivers again before the old domain goes", async () => {
    const inputs = await checked({ ...declared, domainId: "dom_old", canaryEmailId: "ema_canary_01" });
    const created = await provider.create(inputs);
    expect(created.outs).toMatchObject({ domainId: "dom_old", canaryEmailId: "ema_canary_01" });
    // What the engine asks when the domain is replaced delete-first: the domain's id is not known yet.
    const unknownDomain = { ...inputs, domainId: UNKNOWN };
    expect(await provider.diff!(created.id, created.outs, unknownDomain)).toEqual({
      changes: true,
      replaces: ["domainId"],
      deleteBeforeReplace: true,
    });
    // The engine deletes it first: Clerk delivers again.
    await provider.delete!(created.id, created.outs);
    expect(await deliveredByClerk("verification_code")).toBe(true);
    // After the new domain's gate and canary it is created again, remembering Clerk's own setting.
    const next = await checked({ ...declared, domainId: "dom_new", canaryEmailId: "ema_canary_02" });
    const recreated = await provider.create(next);
    expect(recreated.outs.previous).toEqual({ verification_code: true, reset_password_code: false });
    expect(await deliveredByClerk("verification_code")).toBe(false);
    await provider.delete!(recreated.id, recreated.outs);
  });

  it("a state written before domainId existed adopts it in place", async () => {
    const created = await provider.create(await checked(declared));
    const next = await checked({ ...declared, domainId: "dom_1" });
    expect(await provider.diff!(created.id, created.outs, next)).toMatchObject({
      changes: true,
      replaces: [],
    });
    await provider.delete!(created.id, created.outs);
  });

  it("a newer passing canary re-applies the cutover a failed canary handed back", async () => {
    const inputs = await checked({ ...declared, domainId: "dom_1", canaryEmailId: "ema_canary_01" });
    const created = await provider.create(inputs);
    // A failed canary turned Clerk delivery back on; the cutover's state does not know yet.
    await setDelivery("verification_code", true);
    const passed = await checked({ ...inputs, canaryEmailId: "ema_canary_02" });
    expect(await provider.diff!(created.id, created.outs, passed)).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    const updated = await provider.update!(created.id, created.outs, passed);
    expect(await deliveredByClerk("verification_code")).toBe(false);
    expect(updated.outs).toMatchObject({
      canaryEmailId: "ema_canary_02",
      previous: { verification_code: true, reset_password_code: false },
    });
    expect(await provider.diff!(created.id, updated.outs, passed)).toMatchObject({ changes: false });
    await provider.delete!(created.id, updated.outs);
  });

  it("waits out Clerk's 429 using Retry-After", async () => {
    clerk.server.faults.add({
      kind: "rate_limit",
      method: "POST",
      path: "toggle_delivery$",
      retryAfterSeconds: 1,
    });
    const started = Date.now();
    const created = await provider.create(await checked(declared));
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await deliveredByClerk("verification_code")).toBe(false);
    const statuses = clerk.server.requests
      .filter((r) => r.path === "/v1/templates/email/verification_code/toggle_delivery")
      .map((r) => r.status);
    expect(statuses.slice(-2)).toEqual([429, 200]);
    await provider.delete!(created.id, created.outs);
  });

  it("an unknown slug fails naming it, and undoes the toggles already made", async () => {
    const attempt = provider.create(await checked({ templates: ["verification_code", "no_such_template"] }));
    await expect(attempt).rejects.toThrow(/Clerk has no email template "no_such_template"/);
    expect(await deliveredByClerk("verification_code")).toBe(true);
  });

  it("check rejects an empty list and malformed slugs", async () => {
    const empty = await provider.check!({}, { templates: [] });
    expect(empty.failures?.[0]?.property).toBe("templates");
    const bad = await provider.check!({}, { templates: ["Verification Code"] });
    expect(bad.failures?.[0]?.reason).toContain('"Verification Code"');
  });
});
