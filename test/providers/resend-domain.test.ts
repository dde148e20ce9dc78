import type * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { normalizeRecords, ResendDomain } from "../../infra/providers/resend-domain";
import { checkedInputs, serializedProviderOf } from "../support/serialized-provider";
import { type ProviderWorld, resendDomainArgs, startProviderWorld } from "./world";

let world: ProviderWorld;
let provider: pulumi.dynamic.ResourceProvider;
let declaredInputs: Record<string, unknown>;

beforeAll(async () => {
  world = await startProviderWorld();
  const loaded = await serializedProviderOf(
    () => new ResendDomain("sending", resendDomainArgs({ name: "Mail.Example.com" })),
  );
  provider = loaded.provider;
  declaredInputs = loaded.captured.inputs;
});

afterAll(async () => {
  await world?.close();
});

beforeEach(() => world.resetResend());

const checked = (news: Record<string, unknown>) => checkedInputs(provider, news);

describe("ResendDomain provider, loaded from its serialized form", () => {
  it("runs check → create → read → diff → update → delete against the Resend stand-in", async () => {
    const inputs = await checked(declaredInputs);
    expect(inputs.name).toBe("mail.example.com");

    const created = await provider.create(inputs);
    const domain = await world.resendGet(`/domains/${created.id}`);
    expect(domain.status).toBe(200);
    expect(domain.body.name).toBe("mail.example.com");
    expect(created.outs.domainId).toBe(created.id);
    expect(created.outs.region).toBe("eu-west-1");
    const recordKeys = created.outs.records.map(
      (r: { record: string; type: string }) => `${r.record}/${r.type}`,
    );
    expect(recordKeys).toEqual(["DKIM/TXT", "SPF/MX", "SPF/TXT"]);
    expect(created.outs.records.find((r: { type: string }) => r.type === "MX").priority).toBe(10);

    // Refresh: GET omits custom_return_path; the prior value stays and records keep their order and values.
    const read = await provider.read!(created.id, created.outs);
    expect(read.id).toBe(created.id);
    expect(read.props?.customReturnPath).toBe("bounces");
    expect(read.props?.records.map((r: { value: string }) => r.value)).toEqual(
      created.outs.records.map((r: { value: string }) => r.value),
    );

    const same = await provider.diff!(created.id, read.props, inputs);
    expect(same.changes).toBe(false);

    const enforced = await checked({ ...declaredInputs, tls: "enforced", clickTracking: true });
    const diff = await provider.diff!(created.id, read.props, enforced);
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    const updated = await provider.update!(created.id, read.props, enforced);
    expect(updated.outs).toMatchObject({ tls: "enforced", clickTracking: true, customReturnPath: "bounces" });
    const after = await world.resendGet(`/domains/${created.id}`);
    expect(after.body).toMatchObject({ click_tracking: true });

    await provider.delete!(created.id, updated.outs);
    expect((await world.resendGet(`/domains/${created.id}`)).status).toBe(404);
    // Deleting what is already gone succeeds, and a refresh reports it gone.
    await provider.delete!(created.id, updated.outs);
    expect(await provider.read!(created.id, updated.outs)).toEqual({});
  });

  it("check names each invalid field and how to fix it", async () => {
    const result = await provider.check!(
      {},
      { ...declaredInputs, name: "not a domain", region: "mars-1", customReturnPath: "1bad", tls: "always" },
    );
    const byField = Object.fromEntries((result.failures ?? []).map((f) => [f.property, f.reason]));
    expect(Object.keys(byField).sort()).toEqual(["customReturnPath", "name", "region", "tls"]);
    expect(byField.region).toContain("eu-west-1");
    expect(byField.tls).toContain("enforced");
  });

  it("replaces on name, region or return path, deleting first when the name stays", async () => {
    const inputs = await checked(declaredInputs);
    const created = await provider.create(inputs);

    const renamed = await provider.diff!(
      created.id,
      created.outs,
      await checked({ ...declaredInputs, name: "auth.example.com" }),
    );
    expect(renamed).toMatchObject({ changes: true, replaces: ["name"], deleteBeforeReplace: false });

    const moved = await checked({ ...declaredInputs, region: "us-east-1" });
    const regionDiff = await provider.diff!(created.id, created.outs, moved);
    expect(regionDiff).toMatchObject({ changes: true, replaces: ["region"], deleteBeforeReplace: true });
    const returnPathDiff = await provider.diff!(
      created.id,
      created.outs,
      await checked({ ...declaredInputs, customReturnPath: "mx" }),
    );
    expect(returnPathDiff.replaces).toEqual(["customReturnPath"]);

    // The engine's delete-before-replace: the old domain goes, the new one is created in the new region.
    await provider.delete!(created.id, created.outs);
    const replacement = await provider.create(moved);
    expect(replacement.id).not.toBe(created.id);
    expect((await world.resendGet(`/domains/${replacement.id}`)).body.region).toBe("us-east-1");
    await provider.delete!(replacement.id, replacement.outs);
  });

  it("adopts a domain the team registered already only when adoptExisting is set", async () => {
    const existing = await world.resendPost("/domains", {
      name: "mail.example.com",
      region: "eu-west-1",
      custom_return_path: "bounces",
      open_tracking: true,
    });
    expect(existing.status).toBe(201);

    const refused = provider.create(await checked(declaredInputs));
    await expect(refused).rejects.toThrow(/registered already.*adoptExisting: true/);
    await expect(provider.create(await checked(declaredInputs))).rejects.not.toThrow(world.resendKey);

    const adopted = await provider.create(await checked({ ...declaredInputs, adoptExisting: true }));
    expect(adopted.id).toBe(existing.body.id);
    expect(adopted.outs.adopted).toBe(true);
    expect(adopted.outs.records.length).toBeGreaterThan(0);
    // Adoption brings the settings in line with the inputs (open tracking was on).
    expect((await world.resendGet(`/domains/${adopted.id}`)).body.open_tracking).toBe(false);
  });

  it("adopts a domain Resend gave the CNAME-form return path with its own records, in a stable order", async () => {
    world.resend.recordShape = "cname";
    const existing = await world.resendPost("/domains", {
      name: "mail.example.com",
      region: "eu-west-1",
      custom_return_path: "bounces",
    });
    const adopted = await provider.create(await checked({ ...declaredInputs, adoptExisting: true }));
    expect(adopted.id).toBe(existing.body.id);
    const shape = (records: { record: string; type: string; name: string; value: string }[]) =>
      records.map((r) => `${r.record} ${r.type} ${r.name} ${r.record === "DKIM" ? "" : r.value}`.trim());
    expect(shape(adopted.outs.records)).toEqual([
      "DKIM TXT resend._domainkey.mail",
      "SPF CNAME bounces.mail rp.eu-west-1.resend-dns.com",
      "SPF CNAME rbounces.mail rrp.eu-west-1.resend-dns.com",
    ]);
    const read = await provider.read!(adopted.id, adopted.outs);
    expect(read.props?.records).toEqual(adopted.outs.records);
  });

  it("spells TXT values one way: quotes stripped, several quoted strings joined", () => {
    const txt = (value: string) => ({
      record: "DKIM",
      name: "resend._domainkey",
      type: "TXT",
      value,
      ttl: "Auto",
    });
    expect(
      normalizeRecords([txt('"p=MIIB" "IjAN"'), txt("p=MIIBIjAN"), txt(' "p=MIIBIjAN" ')])?.map(
        (r) => r.value,
      ),
    ).toEqual(["p=MIIBIjAN", "p=MIIBIjAN", "p=MIIBIjAN"]);
  });

  it("after an unanswered create, takes the domain that attempt made instead of failing", async () => {
    // The first attempt was applied but its answer was lost (here: the domain exists, the answer is a 503).
    const applied = await world.resendPost("/domains", { name: "mail.example.com", region: "eu-west-1" });
    await world.resendFault({ kind: "status", status: 503, method: "POST", path: "^/domains$" });
    const created = await provider.create(await checked(declaredInputs));
    expect(created.id).toBe(applied.body.id);
    expect(created.outs.adopted).toBe(true);
  });

  it("refuses to adopt a domain whose create-only settings differ", async () => {
    await world.resendPost("/domains", { name: "mail.example.com", region: "us-east-1" });
    const attempt = provider.create(await checked({ ...declaredInputs, adoptExisting: true }));
    await expect(attempt).rejects.toThrow(/region "us-east-1" but region is\s+"eu-west-1"/);
  });

  it("waits out 429s (retry-after) and 5xx, and fails 4xx with Resend's message but never the key", async () => {
    const inputs = await checked(declaredInputs);
    await world.resendFault([
      { kind: "rate_limit", method: "POST", path: "^/domains$", retryAfterSeconds: 1 },
      { kind: "status", status: 503, method: "POST", path: "^/domains$" },
    ]);
    const started = Date.now();
    const created = await provider.create(inputs);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const posts = world.resendRequests().filter((r) => r.method === "POST" && r.path === "/domains");
    expect(posts.map((r) => r.status)).toEqual([429, 503, 201]);

    await world.resendFault({
      kind: "status",
      status: 422,
      method: "PATCH",
      body: { statusCode: 422, name: "invalid_parameter", message: `bad tls for key ${world.resendKey}` },
    });
    const error = await provider.update!(created.id, created.outs, { ...inputs, tls: "enforced" }).catch(
      (e) => e,
    );
    expect(error.message).toMatch(
      /Resend refused to update domain mail\.example\.com: HTTP 422 invalid_parameter/,
    );
    expect(error.message).toContain("bad tls for key [redacted]");
    expect(error.message).not.toContain(world.resendKey);
    await expect(
      provider.update!(created.id, created.outs, { ...inputs, tls: "enforced" }),
    ).resolves.toBeDefined();
  });

  it("stays under the stand-in's rate limit by pacing and honouring its 429s", async () => {
    world.resendRatePerSecond(2);
    const inputs = await checked(declaredInputs);
    const created = await provider.create(inputs);
    const reads = await Promise.all([1, 2, 3, 4, 5].map(() => provider.read!(created.id, created.outs)));
    expect(reads.every((r) => r.id === created.id)).toBe(true);
    const limited = world.resendRequests().filter((r) => r.status === 429).length;
    expect(limited).toBeGreaterThan(0);
  });

  it("check lets values that are unknown during preview through without judging them", async () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const result = await provider.check!({}, { ...declaredInputs, name: unknown, region: unknown });
    expect(result.failures).toEqual([]);
    expect(result.inputs).toMatchObject({ name: unknown, region: unknown, tls: "opportunistic" });
  });
});
