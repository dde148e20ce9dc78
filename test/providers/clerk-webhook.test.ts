import type * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClerkWebhookEndpoint } from "../../infra/providers/clerk-webhook";
import type { ClerkStandIn } from "../../src/sandbox/clerk";
import { decodePortalUrl } from "../../src/sandbox/svix";
import { checkedInputs, serializedProviderOf } from "../support/serialized-provider";
import { startClerkWorld } from "./world";

const BRIDGE = "https://bridge.example.com/clerk";
const EVENTS = ["email.created", "user.updated"];

let clerk: ClerkStandIn;
let provider: pulumi.dynamic.ResourceProvider;
let declared: Record<string, unknown>;

beforeAll(async () => {
  clerk = await startClerkWorld();
  const loaded = await serializedProviderOf(
    () =>
      new ClerkWebhookEndpoint("clerk-events", {
        url: BRIDGE,
        eventTypes: EVENTS,
        description: "email bridge",
      }),
  );
  provider = loaded.provider;
  declared = loaded.captured.inputs;
});

afterAll(async () => {
  await clerk?.close();
});

const checked = (news: Record<string, unknown>) => checkedInputs(provider, news);

const svixAppId = () => clerk.instance.svixAppId!;
const endpoint = (id: string) => clerk.svix.endpoints(svixAppId()).find((e) => e.id === id);
const portalLogins = () => clerk.server.requests.filter((r) => r.path === "/v1/webhooks/svix_url").length;

/** Rotates an endpoint's secret out of band, the way someone in the Svix portal would. */
async function rotateInPortal(endpointId: string): Promise<void> {
  const key = decodePortalUrl(clerk.svix.portalUrl(svixAppId()));
  const login = await fetch(`${clerk.svix.url}/api/v1/auth/one-time-token/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ oneTimeToken: key.oneTimeToken }),
  });
  const { token } = (await login.json()) as { token: string };
  const rotated = await fetch(
    `${clerk.svix.url}/api/v1/app/${key.appId}/endpoint/${endpointId}/secret/rotate`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: "{}",
    },
  );
  expect(rotated.status).toBe(204);
}

describe("ClerkWebhookEndpoint provider, loaded from its serialized form", () => {
  it("manages the endpoint through Clerk's Svix portal: create, read, update, delete", async () => {
    const inputs = await checked(declared);
    const created = await provider.create(inputs);

    // The Clerk instance now has its Svix app, holding one endpoint as declared.
    const stored = endpoint(created.id)!;
    expect(stored).toMatchObject({ url: BRIDGE, eventTypes: EVENTS, description: "email bridge" });
    expect(stored.uid).toMatch(/^auth-email-pipeline-[0-9a-f]{8}$/);
    expect(created.outs.signingSecret).toBe(stored.secrets[0]?.key);
    expect(created.outs.signingSecret).toMatch(/^whsec_/);
    // The exchanged Svix token is a credential: it is not part of the state.
    expect(Object.keys(created.outs).sort()).toEqual([
      "appId",
      "description",
      "endpointId",
      "eventTypes",
      "signingSecret",
      "uid",
      "url",
    ]);

    const read = await provider.read!(created.id, created.outs);
    expect(read.props).toEqual(created.outs);
    expect(await provider.diff!(created.id, read.props, inputs)).toMatchObject({ changes: false });

    const changed = await checked({
      ...inputs,
      url: "https://bridge2.example.com/clerk",
      eventTypes: ["email.created"],
    });
    expect((await provider.diff!(created.id, read.props, changed)).changes).toBe(true);
    const updated = await provider.update!(created.id, read.props, changed);
    expect(endpoint(created.id)).toMatchObject({
      url: "https://bridge2.example.com/clerk",
      eventTypes: ["email.created"],
    });
    expect(updated.outs).toMatchObject({ endpointId: created.id, signingSecret: created.outs.signingSecret });

    await provider.delete!(created.id, updated.outs);
    expect(endpoint(created.id)).toBeUndefined();
    // The Svix app stays with the Clerk instance; deleting again and refreshing both see "gone".
    expect(clerk.instance.svixAppId).toBeDefined();
    await provider.delete!(created.id, updated.outs);
    expect(await provider.read!(created.id, updated.outs)).toEqual({});
  });

  it("mints a fresh portal login per operation and tolerates an existing Svix app", async () => {
    const before = portalLogins();
    const a = await provider.create(await checked({ ...declared, url: "https://a.example.com/clerk" }));
    const b = await provider.create(await checked({ ...declared, url: "https://b.example.com/clerk" }));
    expect(portalLogins() - before).toBe(2);
    const ensured = clerk.server.requests.filter((r) => r.path === "/v1/webhooks/svix").map((r) => r.status);
    expect(ensured.at(-1)).toBe(400);
    expect(endpoint(a.id)?.url).toBe("https://a.example.com/clerk");
    expect(endpoint(b.id)?.url).toBe("https://b.example.com/clerk");
    expect(a.outs.signingSecret).not.toBe(b.outs.signingSecret);
    await provider.delete!(a.id, a.outs);
    await provider.delete!(b.id, b.outs);
  });

  it("a retried create finds its endpoint by uid instead of adding a second one", async () => {
    const inputs = await checked({ ...declared, url: "https://retry.example.com/clerk" });
    const first = await provider.create(inputs);
    const second = await provider.create(inputs);
    expect(second.id).toBe(first.id);
    expect(
      clerk.svix.endpoints(svixAppId()).filter((e) => e.url === "https://retry.example.com/clerk"),
    ).toHaveLength(1);
    await provider.delete!(first.id, first.outs);
  });

  it("a refresh picks up a secret rotated in the portal", async () => {
    const created = await provider.create(
      await checked({ ...declared, url: "https://rotate.example.com/clerk" }),
    );
    await rotateInPortal(created.id);
    const read = await provider.read!(created.id, created.outs);
    expect(read.props?.signingSecret).not.toBe(created.outs.signingSecret);
    expect(read.props?.signingSecret).toBe(endpoint(created.id)?.secrets[0]?.key);
    await provider.delete!(created.id, created.outs);
  });

  it("check names a bad url and bad event types", async () => {
    const result = await provider.check!(
      {},
      { url: "ftp://x", eventTypes: ["emailcreated"], description: "d" },
    );
    expect((result.failures ?? []).map((f) => f.property).sort()).toEqual(["eventTypes", "url"]);
  });

  it("check refuses the misspelled emails.created, naming email.created", async () => {
    const result = await provider.check!(
      {},
      { url: BRIDGE, eventTypes: ["emails.created", "user.updated"], description: "d" },
    );
    expect(result.failures).toEqual([
      {
        property: "eventTypes",
        reason: `eventTypes has "emails.created", which is not an event: use "email.created" (Clerk's template guide misspells it)`,
      },
    ]);
  });
});
