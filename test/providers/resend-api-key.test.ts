import type * as pulumi from "@pulumi/pulumi";
import { Resend } from "resend";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ResendApiKey } from "../../infra/providers/resend-api-key";
import { checkedInputs, serializedProviderOf } from "../support/serialized-provider";
import { type ProviderWorld, startProviderWorld } from "./world";

let world: ProviderWorld;
let provider: pulumi.dynamic.ResourceProvider;
let domain: { id: string; name: string };

beforeAll(async () => {
  world = await startProviderWorld();
  const loaded = await serializedProviderOf(
    () =>
      new ResendApiKey("bridge-sending", {
        name: "auth-email-pipeline dev bridge",
        permission: "sending_access",
        domainId: "placeholder",
      }),
  );
  provider = loaded.provider;
});

afterAll(async () => {
  await world?.close();
});

beforeEach(async () => {
  await world.resetResend();
  domain = world.resend.addVerifiedDomain("mail.example.com");
  world.resend.addVerifiedDomain("other.example.com");
});

const declared = () => ({
  name: "auth-email-pipeline dev bridge",
  permission: "sending_access",
  domainId: domain.id,
});
const checked = (news: Record<string, unknown>) => checkedInputs(provider, news);
const send = (key: string, from: string) =>
  new Resend(key, { baseUrl: world.resend.url }).emails.send({
    from,
    to: "delivered@resend.dev",
    subject: "s",
    text: "t",
  });

describe("ResendApiKey provider, loaded from its serialized form", () => {
  it("creates a sending key restricted to the domain, renames it in place and deletes it", async () => {
    const created = await provider.create(await checked(declared()));
    expect(created.outs).toEqual({ ...declared(), keyId: created.id, token: expect.stringMatching(/^re_/) });
    expect(world.resend.apiKeys().find((k) => k.id === created.id)).toMatchObject({
      name: "auth-email-pipeline dev bridge",
      permission: "sending_access",
      domainId: domain.id,
    });
    // The token sends from the domain, and from nowhere else; it manages nothing.
    expect((await send(created.outs.token, "auth@mail.example.com")).error).toBeNull();
    expect((await send(created.outs.token, "auth@other.example.com")).error).toMatchObject({
      statusCode: 403,
    });
    const manage = await new Resend(created.outs.token, { baseUrl: world.resend.url }).domains.list();
    expect(manage.error).toMatchObject({ statusCode: 401, name: "restricted_api_key" });

    const read = await provider.read!(created.id, created.outs);
    expect(read.props).toEqual(created.outs);
    expect(await provider.diff!(created.id, read.props, await checked(declared()))).toEqual({
      changes: false,
      replaces: [],
    });

    const renamed = await checked({ ...declared(), name: "bridge (rotated names)" });
    expect(await provider.diff!(created.id, read.props, renamed)).toEqual({ changes: true, replaces: [] });
    const updated = await provider.update!(created.id, read.props, renamed);
    expect(updated.outs).toEqual({ ...created.outs, name: "bridge (rotated names)" });
    expect(world.resend.apiKeys().find((k) => k.id === created.id)?.name).toBe("bridge (rotated names)");
    // The same key, so the same token keeps working.
    expect((await send(created.outs.token, "auth@mail.example.com")).error).toBeNull();

    await provider.delete!(created.id, updated.outs);
    expect(world.resend.apiKeys().map((k) => k.id)).not.toContain(created.id);
    expect((await send(created.outs.token, "auth@mail.example.com")).error).toMatchObject({
      statusCode: 403,
      name: "invalid_api_key",
    });
    // Deleting again (a retried destroy) and refreshing a deleted key both settle quietly.
    await provider.delete!(created.id, updated.outs);
    expect(await provider.read!(created.id, updated.outs)).toEqual({});
  });

  it("replaces the key for a new domain or permission, the old one working until it is retired", async () => {
    const first = await provider.create(await checked({ ...declared(), retireAfterSeconds: 1 }));
    const count = world.resend.apiKeys().length;
    const moved = await checked({
      ...declared(),
      domainId: world.resend.addVerifiedDomain("new.example.com").id,
      retireAfterSeconds: 1,
    });
    const diff = await provider.diff!(first.id, first.outs, moved);
    expect(diff).toEqual({ changes: true, replaces: ["domainId"] });
    // The engine's default replacement order: create the new key, update what uses it, delete the old one.
    expect(diff.deleteBeforeReplace).toBeUndefined();
    const second = await provider.create(moved);
    expect(world.resend.apiKeys()).toHaveLength(count + 1);
    expect((await send(second.outs.token, "auth@new.example.com")).error).toBeNull();

    // While the old key is being retired, a send that started with it still goes out; then it is gone.
    const retiring = provider.delete!(first.id, first.outs);
    expect((await send(first.outs.token, "auth@mail.example.com")).error).toBeNull();
    await retiring;
    expect(world.resend.apiKeys().map((k) => k.id)).not.toContain(first.id);
    expect((await send(first.outs.token, "auth@mail.example.com")).error).toMatchObject({ statusCode: 403 });
    expect((await send(second.outs.token, "auth@new.example.com")).error).toBeNull();
    expect(
      (await provider.diff!(second.id, second.outs, { ...moved, permission: "full_access" })).replaces,
    ).toEqual(["permission"]);
  });

  it("changes the retirement delay in place, without calling Resend", async () => {
    const created = await provider.create(await checked(declared()));
    const slower = await checked({ ...declared(), retireAfterSeconds: 90 });
    expect(await provider.diff!(created.id, created.outs, slower)).toEqual({ changes: true, replaces: [] });
    const before = world.resendRequests().length;
    const updated = await provider.update!(created.id, created.outs, slower);
    expect(updated.outs).toEqual({ ...created.outs, retireAfterSeconds: 90 });
    expect(world.resendRequests()).toHaveLength(before);
  });

  it("finds its key on a later page of the list", async () => {
    const created = await provider.create(await checked(declared()));
    for (let i = 0; i < 101; i++) await world.resendPost("/api-keys", { name: `filler ${i}` });
    const read = await provider.read!(created.id, created.outs);
    expect(read.props).toEqual(created.outs);
    // The request log keeps paths without their query: two list calls, the second for the next page.
    const lists = world.resendRequests().filter((r) => r.method === "GET" && r.path === "/api-keys");
    expect(lists).toHaveLength(2);
  });

  it("does not repeat a create whose answer was lost, since the token of that key cannot be had again", async () => {
    await world.resendFault({ kind: "drop", method: "POST", path: "^/api-keys$" });
    await expect(provider.create(await checked(declared()))).rejects.toThrow(
      /Resend did not confirm the request to create API key "auth-email-pipeline dev bridge" .*not retried/,
    );
    const posts = world.resendRequests().filter((r) => r.method === "POST" && r.path === "/api-keys");
    expect(posts).toHaveLength(1);
  });

  it("names a refused domain without the credential", async () => {
    const unknown = { ...declared(), domainId: "00000000-0000-4000-8000-000000000000" };
    const error = await provider.create(await checked(unknown)).catch((err: Error) => err);
    expect(String(error)).toMatch(
      /Resend refused to create API key "auth-email-pipeline dev bridge": HTTP 404 not_found/,
    );
    expect(String(error)).not.toContain(world.resendKey);
  });

  it("check names each bad field", async () => {
    const result = await provider.check!(
      {},
      { name: "x".repeat(51), permission: "read_access", domainId: "", retireAfterSeconds: -1 },
    );
    expect(Object.fromEntries((result.failures ?? []).map((f) => [f.property, f.reason]))).toEqual({
      name: expect.stringContaining("1-50 characters"),
      permission: expect.stringContaining("full_access, sending_access"),
      domainId: expect.stringContaining("Resend domain id"),
      retireAfterSeconds: expect.stringContaining("0-900 seconds"),
    });
    const fullWithDomain = await provider.check!({}, { ...declared(), permission: "full_access" });
    expect(fullWithDomain.failures).toEqual([
      { property: "domainId", reason: expect.stringContaining("only sending_access keys") },
    ]);
  });
});
