import type * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ResendWebhook } from "../../infra/providers/resend-webhook";
import { checkedInputs, loadSerializedProvider, serializedProviderOf } from "../support/serialized-provider";
import { type ProviderWorld, startProviderWorld } from "./world";

const BRIDGE = "https://bridge.example.com/resend";
const EVENTS = ["email.bounced", "email.complained", "email.suppressed"];

let world: ProviderWorld;
let provider: pulumi.dynamic.ResourceProvider;
let declared: Record<string, unknown>;
let providerText: string;

beforeAll(async () => {
  world = await startProviderWorld();
  const loaded = await serializedProviderOf(
    () => new ResendWebhook("bounces", { endpoint: BRIDGE, events: EVENTS }),
  );
  provider = loaded.provider;
  declared = loaded.captured.inputs;
  providerText = loaded.captured.providerText;
});

afterAll(async () => {
  await world?.close();
});

beforeEach(() => world.resetResend());

const checked = (news: Record<string, unknown>) => checkedInputs(provider, news);

describe("ResendWebhook provider, loaded from its serialized form", () => {
  it("creates, reads, updates in place and deletes a webhook, keeping the signing secret", async () => {
    const inputs = await checked(declared);
    const created = await provider.create(inputs);
    expect(created.outs.webhookId).toBe(created.id);
    expect(created.outs.signingSecret).toMatch(/^whsec_/);
    const stored = await world.resendGet(`/webhooks/${created.id}`);
    expect(stored.body).toMatchObject({
      endpoint: BRIDGE,
      events: EVENTS,
      signing_secret: created.outs.signingSecret,
    });

    const read = await provider.read!(created.id, created.outs);
    expect(read.props).toEqual(created.outs);
    // Same events in another order is no change.
    expect(
      await provider.diff!(created.id, read.props, { ...inputs, events: [...EVENTS].reverse() }),
    ).toMatchObject({
      changes: false,
    });

    const moved = await checked({
      endpoint: "https://bridge2.example.com/resend",
      events: ["email.bounced"],
    });
    expect(await provider.diff!(created.id, read.props, moved)).toMatchObject({
      changes: true,
      replaces: [],
    });
    const updated = await provider.update!(created.id, read.props, moved);
    expect(updated.outs).toMatchObject({
      webhookId: created.id,
      endpoint: "https://bridge2.example.com/resend",
      events: ["email.bounced"],
      signingSecret: created.outs.signingSecret,
    });
    const patched = world.resendRequests().find((r) => r.method === "PATCH");
    expect(JSON.parse(patched!.body)).toMatchObject({ endpoint: "https://bridge2.example.com/resend" });

    await provider.delete!(created.id, updated.outs);
    expect((await world.resendGet(`/webhooks/${created.id}`)).status).toBe(404);
    await provider.delete!(created.id, updated.outs);
    expect(await provider.read!(created.id, updated.outs)).toEqual({});
  });

  it("keeps the secret and events from state when GET omits them", async () => {
    const created = await provider.create(await checked(declared));
    await world.resendFault({
      kind: "status",
      status: 200,
      method: "GET",
      path: `^/webhooks/${created.id}$`,
      body: { object: "webhook", id: created.id, status: "enabled", endpoint: BRIDGE, events: null },
    });
    const read = await provider.read!(created.id, created.outs);
    expect(read.props).toMatchObject({ signingSecret: created.outs.signingSecret, events: EVENTS });
  });

  it("does not repeat a create whose answer was lost, since Resend would make a second webhook", async () => {
    await world.resendFault({ kind: "drop", method: "POST", path: "^/webhooks$" });
    await expect(provider.create(await checked(declared))).rejects.toThrow(
      /Resend did not confirm the request to create webhook for https:\/\/bridge\.example\.com\/resend .*not retried/,
    );
    await world.resendFault({ kind: "status", status: 502, method: "POST", path: "^/webhooks$" });
    await expect(provider.create(await checked(declared))).rejects.toThrow(/HTTP 502.*may have been applied/);
    const posts = world.resendRequests().filter((r) => r.method === "POST" && r.path === "/webhooks");
    expect(posts.map((r) => r.status)).toEqual([0, 502]);
  });

  it("re-enables a webhook Resend disabled", async () => {
    const inputs = await checked(declared);
    const created = await provider.create(inputs);
    expect((await world.resendCall("PATCH", `/webhooks/${created.id}`, { status: "disabled" })).status).toBe(
      200,
    );
    const read = await provider.read!(created.id, created.outs);
    expect(read.props?.status).toBe("disabled");
    expect((await provider.diff!(created.id, read.props, inputs)).changes).toBe(true);
    const updated = await provider.update!(created.id, read.props, inputs);
    expect(updated.outs.status).toBe("enabled");
    expect((await world.resendGet(`/webhooks/${created.id}`)).body.status).toBe("enabled");
  });

  it("check rejects a public http endpoint and malformed event lists by field", async () => {
    const plain = await provider.check!({}, { endpoint: "http://bridge.example.com/x", events: [] });
    expect(Object.fromEntries((plain.failures ?? []).map((f) => [f.property, f.reason]))).toMatchObject({
      endpoint: expect.stringContaining("https"),
      events: expect.stringContaining("at least one"),
    });
    const badEvent = await provider.check!({}, { endpoint: "http://127.0.0.1:9/x", events: ["bounced"] });
    expect(badEvent.failures).toEqual([
      { property: "events", reason: expect.stringContaining('["bounced"]') },
    ]);
  });

  it("takes the API key from stack config via configure(), and says how to set it when missing", async () => {
    const key = world.resendKey;
    delete process.env.RESEND_API_KEY;
    try {
      // The key is read at call time, so it never ends up in the serialized provider.
      expect(providerText).not.toContain(key);

      const unconfigured = loadSerializedProvider(providerText);
      await expect(unconfigured.create(await checked(declared))).rejects.toThrow(
        "Missing RESEND_API_KEY: export RESEND_API_KEY, or run `pulumi config set --secret auth-email-pipeline:resendApiKey <value>`.",
      );

      const configured = loadSerializedProvider(providerText);
      const config = new Map([["resendApiKey", key]]);
      await configured.configure!({
        config: { get: (k) => config.get(k), require: (k) => config.get(k) ?? "" },
      });
      const created = await configured.create(await checked(declared));
      expect((await world.resendGet(`/webhooks/${created.id}`)).status).toBe(200);
    } finally {
      process.env.RESEND_API_KEY = key;
    }
  });
});
