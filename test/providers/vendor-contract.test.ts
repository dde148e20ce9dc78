import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClerkEmailDelivery } from "../../infra/providers/clerk-delivery";
import { ResendApiKey } from "../../infra/providers/resend-api-key";
import { ResendDomain } from "../../infra/providers/resend-domain";
import { ResendWebhook } from "../../infra/providers/resend-webhook";
import type { ClerkStandIn } from "../../src/sandbox/clerk";
import type { RecordedRequest } from "../../src/sandbox/core/server";
import { contract, SPECS } from "../support/openapi";
import { checkedInputs, serializedProviderOf } from "../support/serialized-provider";
import { type ProviderWorld, resendDomainArgs, startClerkWorld, startProviderWorld } from "./world";

let world: ProviderWorld;
let clerk: ClerkStandIn;

beforeAll(async () => {
  world = await startProviderWorld();
  clerk = await startClerkWorld();
});

afterAll(async () => {
  await world?.close();
  await clerk?.close();
});

/** The spec's path template a concrete request path belongs to (`/domains/abc` → `/domains/{domain_id}`). */
function specPath(templates: string[], path: string): string {
  const found = templates.find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path));
  if (!found) throw new Error(`no spec path matches ${path}`);
  return found;
}

function assertRequestBodies(
  file: (typeof SPECS)[keyof typeof SPECS],
  requests: RecordedRequest[],
  prefix = "",
) {
  const spec = contract(file);
  const templates = Object.keys(spec.spec.paths as object);
  const withBody = requests.filter((r) => r.body !== "" && r.status < 400);
  for (const r of withBody) {
    const template = specPath(templates, r.path.slice(prefix.length));
    spec.assertSchema(spec.requestSchema(r.method, template), JSON.parse(r.body), `${r.method} ${template}`);
  }
  return withBody.map((r) => `${r.method} ${specPath(templates, r.path.slice(prefix.length))}`);
}

describe("what the providers send matches the vendors' OpenAPI request schemas", () => {
  it("Resend: domain, webhook and API key create/update bodies", async () => {
    const loaded = await serializedProviderOf(() => new ResendDomain("d", resendDomainArgs()));
    const domain = loaded.provider;
    const inputs = await checkedInputs(domain, loaded.captured.inputs);
    const created = await domain.create(inputs);
    await domain.update!(created.id, created.outs, { ...inputs, tls: "enforced", openTracking: true });

    const hook = (
      await serializedProviderOf(
        () => new ResendWebhook("w", { endpoint: "https://h.example.com/r", events: ["email.bounced"] }),
      )
    ).provider;
    const hookInputs = await checkedInputs(hook, {
      endpoint: "https://h.example.com/r",
      events: ["email.bounced"],
    });
    const made = await hook.create(hookInputs);
    await hook.update!(made.id, made.outs, { ...hookInputs, events: ["email.bounced", "email.complained"] });

    const keyArgs = { name: "bridge", permission: "sending_access", domainId: created.id };
    const key = (await serializedProviderOf(() => new ResendApiKey("k", keyArgs))).provider;
    const keyInputs = await checkedInputs(key, keyArgs);
    const minted = await key.create(keyInputs);
    await key.update!(minted.id, minted.outs, { ...keyInputs, name: "bridge renamed" });

    const checked = assertRequestBodies(SPECS.resend, world.resendRequests());
    expect(new Set(checked)).toEqual(
      new Set([
        "POST /domains",
        "PATCH /domains/{domain_id}",
        "POST /webhooks",
        "PATCH /webhooks/{webhook_id}",
        "POST /api-keys",
        "PATCH /api-keys/{api_key_id}",
      ]),
    );
  });

  it("Clerk: the toggle_delivery body", async () => {
    const delivery = (
      await serializedProviderOf(() => new ClerkEmailDelivery("c", { templates: ["verification_code"] }))
    ).provider;
    const created = await delivery.create(
      await checkedInputs(delivery, { templates: ["verification_code"] }),
    );
    await delivery.delete!(created.id, created.outs);
    const checked = assertRequestBodies(SPECS.clerkBapi, clerk.server.requests, "/v1");
    expect(new Set(checked)).toEqual(new Set(["POST /templates/{template_type}/{slug}/toggle_delivery"]));
  });
});
