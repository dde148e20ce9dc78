import type * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainVerification } from "../../infra/providers/domain-verification";
import { checkedInputs, serializedProviderOf } from "../support/serialized-provider";
import { type ProviderWorld, startProviderWorld, ZONE } from "./world";

let world: ProviderWorld;
let provider: pulumi.dynamic.ResourceProvider;

beforeAll(async () => {
  world = await startProviderWorld();
  ({ provider } = await serializedProviderOf(
    () =>
      new DomainVerification("gate", {
        domainId: "declared-later",
        timeoutSeconds: 900,
        pollIntervalSeconds: 10,
        recordsFingerprint: "declared",
      }),
  ));
});

afterAll(async () => {
  await world?.close();
});

interface ApiRecord {
  record: string;
  name: string;
  type: string;
  value: string;
  priority?: number;
}

/** A domain registered straight through the API, with the records Resend wants published. */
async function registerDomain(name: string): Promise<{ id: string; records: ApiRecord[] }> {
  const created = await world.resendPost("/domains", { name });
  expect(created.status).toBe(201);
  return { id: created.body.id, records: created.body.records };
}

async function gateInputs(domainId: string, overrides: Record<string, unknown> = {}) {
  return checkedInputs(provider, {
    domainId,
    timeoutSeconds: 10,
    pollIntervalSeconds: 0.05,
    recordsFingerprint: "fp-1",
    ...overrides,
  });
}

const verifyCalls = (id: string) =>
  world.resendRequests().filter((r) => r.method === "POST" && r.path === `/domains/${id}/verify`).length;

describe("DomainVerification provider, loaded from its serialized form", () => {
  it("passes once the records are in DNS, and never verifies a verified domain again", async () => {
    await world.resetResend();
    const domain = await registerDomain(`ok.${ZONE}`);
    world.publish(domain.records);

    const inputs = await gateInputs(domain.id);
    const created = await provider.create(inputs);
    expect(created.id).toBe(domain.id);
    expect(created.outs.status).toBe("verified");
    expect(Date.parse(created.outs.verifiedAt)).not.toBeNaN();
    expect(verifyCalls(domain.id)).toBe(1);
    expect((await world.resendGet(`/domains/${domain.id}`)).body.status).toBe("verified");

    const read = await provider.read!(domain.id, created.outs);
    expect(await provider.diff!(domain.id, read.props, inputs)).toMatchObject({ changes: false });

    // Rewritten DNS (new fingerprint) re-runs the gate, which sees "verified" and does not call verify.
    const rewritten = await gateInputs(domain.id, { recordsFingerprint: "fp-2" });
    expect((await provider.diff!(domain.id, read.props, rewritten)).changes).toBe(true);
    const updated = await provider.update!(domain.id, read.props, rewritten);
    expect(updated.outs).toMatchObject({ status: "verified", verifiedAt: created.outs.verifiedAt });
    expect(verifyCalls(domain.id)).toBe(1);

    const another = await provider.diff!(domain.id, read.props, await gateInputs(`${domain.id}x`));
    expect(another.replaces).toEqual(["domainId"]);
  });

  it("fails fast on a failed domain, naming only the records that failed", async () => {
    await world.resetResend({ failAfterMs: 300 });
    const domain = await registerDomain(`broken.${ZONE}`);
    // Only SPF is published; DKIM never appears.
    world.publish(domain.records.filter((r) => r.record === "SPF"));

    const started = Date.now();
    const error = await provider.create(await gateInputs(domain.id)).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toMatch(
      /Resend could not verify broken\.example\.com \(status (failed|partially_failed)\)/,
    );
    expect(message).toContain("DKIM TXT resend._domainkey.broken (failed)");
    expect(message).not.toContain("SPF MX");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("times out saying which records are still pending and what to check", async () => {
    await world.resetResend();
    const domain = await registerDomain(`slow.${ZONE}`);

    const started = Date.now();
    const error = await provider
      .create(await gateInputs(domain.id, { timeoutSeconds: 0.4, pollIntervalSeconds: 0.1 }))
      .catch((e: Error) => e);
    const elapsed = Date.now() - started;
    const message = (error as Error).message;
    expect(message).toMatch(/slow\.example\.com was not verified within 0\.4 s \(status pending\)/);
    expect(message).toContain("Still pending: DKIM TXT resend._domainkey.slow (pending)");
    expect(message).toContain("raise timeoutSeconds");
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(3_000);
    // Several polls, one verify.
    const polls = world
      .resendRequests()
      .filter((r) => r.method === "GET" && r.path === `/domains/${domain.id}`);
    expect(polls.length).toBeGreaterThanOrEqual(3);
    expect(verifyCalls(domain.id)).toBe(1);
  });

  it("notices on refresh that a record vanished, and re-verifies on the next run", async () => {
    await world.resetResend();
    const domain = await registerDomain(`drift.${ZONE}`);
    world.publish(domain.records);
    const inputs = await gateInputs(domain.id);
    const created = await provider.create(inputs);
    expect(created.outs.status).toBe("verified");

    const dkim = domain.records.find((r) => r.record === "DKIM")!;
    world.dns.remove(`${dkim.name}.${ZONE}`, "TXT");
    await world.resend.recheckVerifiedDomains();
    const read = await provider.read!(domain.id, created.outs);
    expect(read.props?.status).not.toBe("verified");
    expect((await provider.diff!(domain.id, read.props, inputs)).changes).toBe(true);

    world.publish([dkim]);
    const again = await provider.update!(domain.id, read.props, inputs);
    expect(again.outs.status).toBe("verified");
    expect(verifyCalls(domain.id)).toBe(2);
  });

  it("waits out a CNAME-form return path with one CNAME missing, saying both are required", async () => {
    const standIn = await world.resetResend();
    standIn.recordShape = "cname";
    const domain = await registerDomain(`pair.${ZONE}`);
    world.publish(domain.records.filter((r) => !r.name.startsWith("rsend.")));
    const error = await provider
      .create(await gateInputs(domain.id, { timeoutSeconds: 0.5, pollIntervalSeconds: 0.1 }))
      .catch((e: Error) => e);
    expect((error as Error).message).toMatch(
      /pair\.example\.com was not verified within 0\.5 s \(status partially_verified\)\. Still pending: SPF CNAME rsend\.pair \(pending\)\. Both return-path CNAMEs are required\./,
    );
    world.publish(domain.records);
    const passed = await provider.create(await gateInputs(domain.id));
    expect(passed.outs.status).toBe("verified");
  });

  it("check rejects a missing domain id and non-positive durations by name", async () => {
    const result = await provider.check!({}, { domainId: "", timeoutSeconds: 0, pollIntervalSeconds: -1 });
    expect((result.failures ?? []).map((f) => f.property).sort()).toEqual([
      "domainId",
      "pollIntervalSeconds",
      "timeoutSeconds",
    ]);
  });
});
