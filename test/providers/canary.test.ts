import type * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { canaryEmailCreated, DeliveryCanary } from "../../infra/providers/canary";
import { CANARY_RECIPIENT } from "../../src/bridge/canary";
import { newSigningSecret } from "../../src/sandbox/core/ids";
import { WEBHOOK_SECRET_UNSET } from "../../src/settings/webhook-secret";
import { type Pipeline, startPipeline } from "../bridge/harness";
import { contract, SPECS } from "../support/openapi";
import { checkedInputs, serializedProviderOf } from "../support/serialized-provider";
import { clerkCall } from "./world";

const TEMPLATES = ["verification_code", "magic_link_sign_in"];

let pipeline: Pipeline;
let provider: pulumi.dynamic.ResourceProvider;
let declared: Record<string, unknown>;
const secret = newSigningSecret();

beforeAll(async () => {
  pipeline = await startPipeline();
  pipeline.bridge.setWebhookSecrets({ clerk: [secret] });
  process.env.CLERK_API_URL = pipeline.clerk.url;
  process.env.CLERK_SECRET_KEY = pipeline.clerk.secretKey;
  const loaded = await serializedProviderOf(
    () =>
      new DeliveryCanary("canary", {
        bridgeUrl: `${pipeline.bridge.url}/`,
        signingSecret: secret,
        templates: TEMPLATES,
        fingerprint: "f1",
        timeoutSeconds: 10,
      }),
  );
  provider = loaded.provider;
  declared = loaded.captured.inputs;
});

afterAll(() => pipeline?.close());

// Each test starts cut over (as the pipeline harness leaves Clerk), with no faults and the right secret.
beforeEach(async () => {
  pipeline.resend.server.faults.clear();
  pipeline.clerk.server.faults.clear();
  pipeline.bridge.setWebhookSecrets({ clerk: [secret] });
  for (const slug of TEMPLATES) await setDelivery(slug, false);
});

async function setDelivery(slug: string, byClerk: boolean): Promise<void> {
  const res = await clerkCall(pipeline.clerk, "POST", `/templates/email/${slug}/toggle_delivery`, {
    delivered_by_clerk: byClerk,
  });
  expect(res.status).toBe(200);
}

async function deliveredByClerk(slug: string): Promise<boolean> {
  return (await clerkCall(pipeline.clerk, "GET", `/templates/email/${slug}`)).body.delivered_by_clerk;
}

type Failure = Error & { id: string; properties: Record<string, unknown>; reasons: string[] };

async function failedRun(run: Promise<unknown>): Promise<Failure> {
  const error = (await run.then(
    () => undefined,
    (err: unknown) => err,
  )) as Failure | undefined;
  if (!error) throw new Error("the canary was expected to fail");
  return error;
}

describe("the canary's email.created", () => {
  it("has the shape of Clerk's webhooks spec: a self-delivered email to Resend's test inbox, with no user", () => {
    const event = canaryEmailCreated("ema_canary_00112233445566778899aabb", 1_764_000_000_000);
    const spec = contract(SPECS.clerkWebhooks);
    spec.assertSchema(spec.webhookSchema("email.created"), event, "canary email.created");
    expect(event).toMatchObject({
      type: "email.created",
      data: { to_email_address: CANARY_RECIPIENT, delivered_by_clerk: false, user_id: null },
    });
  });
});

describe("DeliveryCanary provider, loaded from its serialized form", () => {
  it("passes once the bridge reports Resend accepted its send to delivered@resend.dev, touching no template", async () => {
    const inputs = await checkedInputs(provider, declared);
    const togglesBefore = pipeline.clerk.server.requests.filter((r) =>
      r.path.endsWith("/toggle_delivery"),
    ).length;
    const created = await provider.create(inputs);
    expect(created.id).toBe("delivery-canary");
    const sent = pipeline.resend
      .emails()
      .find((e) => e.headers["X-Entity-Ref-ID"] === created.outs.clerkEmailId);
    expect(created.outs).toEqual({
      bridgeUrl: `${pipeline.bridge.url}/`,
      templates: TEMPLATES,
      fingerprint: "f1",
      timeoutSeconds: 10,
      clerkEmailId: expect.stringMatching(/^ema_canary_[0-9a-f]{24}$/),
      status: "passed",
      resendEmailId: sent?.id,
      passedAt: expect.stringMatching(/^\d{4}-/),
    });
    // The secret stays out of the state.
    expect(JSON.stringify(created.outs)).not.toContain(secret);
    expect(sent?.to).toEqual([CANARY_RECIPIENT]);
    expect(sent?.tags).toContainEqual({ name: "canary", value: "true" });
    const togglesAfter = pipeline.clerk.server.requests.filter((r) =>
      r.path.endsWith("/toggle_delivery"),
    ).length;
    expect(togglesAfter).toBe(togglesBefore);
    for (const slug of TEMPLATES) expect(await deliveredByClerk(slug)).toBe(false);

    expect((await provider.diff!(created.id, created.outs, inputs)).changes).toBe(false);
    expect((await provider.diff!(created.id, created.outs, { ...inputs, fingerprint: "f2" })).changes).toBe(
      true,
    );
  });

  it("fails on a rejected signature, hands delivery back to Clerk first, and keeps a failed state that runs again", async () => {
    pipeline.bridge.setWebhookSecrets({ clerk: [newSigningSecret()] });
    const inputs = await checkedInputs(provider, declared);
    const error = await failedRun(provider.create(inputs));
    expect(error.message).toBe(
      "The delivery canary failed: signature rejected (bad_signature): the bridge's Clerk webhook secret is not " +
        "the one this stack signs with. Delivery of verification_code, magic_link_sign_in was handed back to " +
        "Clerk (delivered_by_clerk=true) until a canary passes: fix the cause and run `pulumi up` again.",
    );
    for (const slug of TEMPLATES) expect(await deliveredByClerk(slug)).toBe(true);
    // The failed state is kept by the engine (a partial create), with the provider the host needs later.
    expect(error.id).toBe("delivery-canary");
    expect(error.properties).toMatchObject({
      status: "failed",
      handedBack: TEMPLATES,
      reason: expect.stringMatching(/^signature rejected/),
      __provider: inputs.__provider,
    });
    expect(error.reasons).toEqual([error.properties.reason]);
    expect(JSON.stringify(error.properties)).not.toContain(secret);
    const failedState = error.properties as never;
    expect((await provider.diff!(error.id, failedState, inputs)).changes).toBe(true);

    // Fixed: the next run passes (the cutover's own update then switches the templates off again).
    pipeline.bridge.setWebhookSecrets({ clerk: [secret] });
    const updated = await provider.update!(error.id, failedState, inputs);
    expect(updated.outs?.status).toBe("passed");
  });

  it("names Resend's refusal of a revoked key, handing back only templates Clerk was not delivering", async () => {
    await setDelivery("magic_link_sign_in", true);
    pipeline.resend.server.faults.add({
      kind: "status",
      method: "POST",
      path: "^/emails$",
      status: 403,
      // A revoked key is refused every time: the worker's in-process retries of a key refusal meet it too.
      count: 50,
      body: { statusCode: 403, name: "invalid_api_key", message: "API key is invalid" },
    });
    const error = await failedRun(provider.create(await checkedInputs(provider, declared)));
    expect(error.message).toBe(
      "The delivery canary failed: Resend refused: HTTP 403 invalid_api_key: API key is invalid. Delivery of " +
        "verification_code was handed back to Clerk (delivered_by_clerk=true) until a canary passes: fix the " +
        "cause and run `pulumi up` again.",
    );
    expect(error.properties.handedBack).toEqual(["verification_code"]);
    for (const slug of TEMPLATES) expect(await deliveredByClerk(slug)).toBe(true);
  });

  it("says when handing delivery back failed too, and what to do in the Dashboard", async () => {
    pipeline.bridge.setWebhookSecrets({ clerk: [newSigningSecret()] });
    pipeline.clerk.server.faults.add({
      kind: "status",
      method: "POST",
      path: "toggle_delivery$",
      status: 403,
      count: 10,
      body: {
        errors: [
          {
            message: "locked",
            long_message: "Template is locked",
            code: "email_template_customization_locked",
          },
        ],
      },
    });
    const error = await failedRun(provider.create(await checkedInputs(provider, declared)));
    expect(error.message).toMatch(
      /^The delivery canary failed: signature rejected .*\. Handing delivery back to Clerk failed as well \(Clerk refused to restore Clerk delivery of email template "verification_code": HTTP 403 email_template_customization_locked: Template is locked \[email_template_customization_locked\]\.\): turn "Delivered by Clerk" on for verification_code, magic_link_sign_in in the Clerk Dashboard now/,
    );
    expect(error.message).not.toContain(pipeline.clerk.secretKey);
  });

  it("gives up when the worker never records a verdict, saying where to look", async () => {
    pipeline.bridge.queue.stop();
    try {
      const inputs = await checkedInputs(provider, { ...declared, timeoutSeconds: 5 });
      const error = await failedRun(provider.create(inputs));
      expect(error.properties.reason).toBe(
        "no verdict from the bridge within 5 s: the worker never recorded it (read the worker's logs and the " +
          "queue's dead-letter queue)",
      );
    } finally {
      pipeline.bridge.queue.start(pipeline.bridge.worker);
      await pipeline.settle();
    }
  });

  it("check names each unusable input and its fix, never echoing the secret", async () => {
    const result = await provider.check!(
      {},
      {
        ...declared,
        bridgeUrl: "http://bridge.example.com/",
        signingSecret: "whsec_c2hvcnQ=",
        templates: [],
        fingerprint: "",
      },
    );
    expect(JSON.stringify(result.failures)).not.toContain("c2hvcnQ");
    expect(result.failures?.map((f) => f.property)).toEqual([
      "bridgeUrl",
      "signingSecret",
      "templates",
      "fingerprint",
    ]);
    expect(result.failures?.[1]?.reason).toBe(
      "signingSecret must hold a key of at least 24 bytes (it holds 5): use the Clerk endpoint's Signing " +
        "Secret (two, new first, during a rotation)",
    );
  });

  it("check takes the secret as the bridge's parameter holds it: a rotation pair, never the unset marker", async () => {
    const pair = `${newSigningSecret()} ${secret}`;
    expect((await provider.check!({}, { ...declared, signingSecret: pair })).failures).toEqual([]);
    const unset = await provider.check!({}, { ...declared, signingSecret: WEBHOOK_SECRET_UNSET });
    expect(unset.failures).toEqual([
      {
        property: "signingSecret",
        reason:
          "signingSecret is the bridge's unset marker, not a secret: register the Clerk endpoint and set " +
          "clerkWebhookSigningSecret first; no canary runs and Clerk is not cut over until then",
      },
    ]);
    const halfValid = await provider.check!({}, { ...declared, signingSecret: `${secret} whsec_c2hvcnQ=` });
    expect(halfValid.failures?.[0]?.reason).toMatch(/^signingSecret secret 2 must hold a key of at least 24/);
    expect(JSON.stringify(halfValid.failures)).not.toContain(secret);
  });

  it("passes during a rotation: signed with the new and the old secret, the bridge still holding the old one", async () => {
    const pair = `${newSigningSecret()} ${secret}`;
    const inputs = await checkedInputs(provider, { ...declared, signingSecret: pair });
    const created = await provider.create(inputs);
    expect(created.outs.status).toBe("passed");
    expect(JSON.stringify(created.outs)).not.toContain(secret);
    for (const slug of TEMPLATES) expect(await deliveredByClerk(slug)).toBe(false);
  });
});
