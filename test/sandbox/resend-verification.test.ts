import type { CreateDomainResponseSuccess } from "resend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DnsStandIn, startDnsStandIn } from "../../src/sandbox/dns";
import { eventually } from "../support/eventually";
import { expectSpecWebhook, type ResendHarness, startResendHarness } from "./resend-harness";

type ResendRecord = CreateDomainResponseSuccess["records"][number];

let dns: DnsStandIn;
let h: ResendHarness;
const ZONES = ["verify-one.com", "verify-two.com", "verify-three.com", "verify-four.com", "verify-five.com"];

beforeAll(async () => {
  dns = await startDnsStandIn({ zones: ZONES });
  // 72 h → 0.52 s, the 1 h re-check → 7 ms, the first check (10 s) → 20 µs.
  h = await startResendHarness({ dnsServer: dns.address, timeScale: 0.000002 });
  await h.resend.webhooks.create({ endpoint: h.receiver.url, events: ["domain.updated"] });
});
afterAll(async () => {
  await h.close();
  await dns.close();
});

/** Where a record lives: Resend names are apex-relative unless already an FQDN inside the zone. */
function fqdn(record: ResendRecord, zone: string): string {
  return record.name === zone || record.name.endsWith(`.${zone}`) ? record.name : `${record.name}.${zone}`;
}

/** Writes the records Resend asked for, except the skipped kinds; `txt` can reshape TXT values. */
function publish(
  records: ResendRecord[],
  zone: string,
  { skip = [] as string[], txt = (value: string): string[] | string => value } = {},
): void {
  for (const record of records) {
    if (skip.includes(`${record.record}/${record.type}`)) continue;
    const name = fqdn(record, zone);
    if (record.type === "MX") {
      dns.upsert({ name, type: "MX", values: [{ priority: record.priority ?? 10, exchange: record.value }] });
    } else if (record.type === "TXT") {
      dns.upsert({ name, type: "TXT", values: [txt(record.value)] });
    } else {
      dns.upsert({ name, type: record.type as "CNAME", values: [record.value] });
    }
  }
}

async function createDomain(name: string, extra: Record<string, unknown> = {}) {
  const created = await h.resend.domains.create({ name, ...extra });
  expect(created.error).toBeNull();
  return created.data!;
}

const statusOf = async (id: string) => (await h.resend.domains.get(id)).data!;

/** The statuses announced by `domain.updated` for one domain, each payload checked against the OAS. */
function announced(id: string): string[] {
  return h.receiver.received
    .filter((r) => r.body.includes(id))
    .map((r) => expectSpecWebhook(r.body))
    .map((e) => `${e.data.status}`);
}

describe("Resend stand-in: domain verification against the DNS stand-in", () => {
  it("goes pending at once, then verified when DNS serves every record (quoted TXT included)", async () => {
    const domain = await createDomain("mail.verify-one.com");
    expect(domain.records.map((r) => fqdn(r, "verify-one.com"))).toEqual([
      "resend._domainkey.mail.verify-one.com",
      "send.mail.verify-one.com",
      "send.mail.verify-one.com",
    ]);
    // Some DNS APIs store TXT with its quotes; a verifier reads through them.
    publish(domain.records, "verify-one.com", { txt: (v) => (v.startsWith("v=spf1") ? `"${v}"` : v) });
    await h.resend.domains.verify(domain.id);
    expect((await statusOf(domain.id)).status).toBe("pending");
    await h.standIn.settle();
    const verified = await statusOf(domain.id);
    expect(verified.status).toBe("verified");
    expect(verified.records.map((r) => r.status)).toEqual(["verified", "verified", "verified"]);
    expect(announced(domain.id)).toEqual(["pending", "verified"]);

    const sent = await h.resend.emails.send({
      from: "a@mail.verify-one.com",
      to: "delivered@resend.dev",
      subject: "s",
      text: "t",
    });
    expect(sent.error).toBeNull();

    // Verify again: even a verified domain goes back to pending first.
    await h.resend.domains.verify(domain.id);
    expect((await statusOf(domain.id)).status).toBe("pending");
    await h.standIn.settle();
    expect((await statusOf(domain.id)).status).toBe("verified");
  });

  it("verifies a DKIM key split into several TXT strings (Route53 style) by joining them", async () => {
    const domain = await createDomain("verify-two.com");
    publish(domain.records, "verify-two.com", {
      txt: (v) => (v.startsWith("p=") ? [v.slice(0, 100), v.slice(100)] : v),
    });
    await h.resend.domains.verify(domain.id);
    await h.standIn.settle();
    expect((await statusOf(domain.id)).status).toBe("verified");
  });

  it("fails every record after the 72 h window when nothing is published", async () => {
    const domain = await createDomain("verify-three.com");
    const started = Date.now();
    await h.resend.domains.verify(domain.id);
    await h.standIn.settle();
    // 72 h of vendor time at this scale.
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    const failed = await statusOf(domain.id);
    expect(failed.status).toBe("failed");
    expect(failed.records.map((r) => r.status)).toEqual(["failed", "failed", "failed"]);
    expect(announced(domain.id)).toEqual(["pending", "failed"]);
    const refused = await h.resend.emails.send({
      from: "a@verify-three.com",
      to: "x@verify-one.com",
      subject: "s",
      text: "t",
    });
    expect(refused.error).toMatchObject({ statusCode: 403, name: "validation_error" });
  });

  it("is partially verified while the tracking CNAME is missing, then partially failed", async () => {
    const domain = await createDomain("verify-four.com", { trackingSubdomain: "links" });
    publish(domain.records, "verify-four.com", { skip: ["Tracking/CNAME"] });
    await h.resend.domains.verify(domain.id);
    await eventually(async () =>
      (await statusOf(domain.id)).status === "partially_verified" ? true : undefined,
    );
    // Sending works as soon as its own records are verified.
    const sent = await h.resend.emails.send({
      from: "a@verify-four.com",
      to: "delivered@resend.dev",
      subject: "s",
      text: "t",
    });
    expect(sent.error).toBeNull();
    await h.standIn.settle();
    const final = await statusOf(domain.id);
    expect(final.status).toBe("partially_failed");
    expect(final.records.find((r) => r.record === "Tracking")?.status).toBe("failed");
    expect(announced(domain.id)).toEqual(["pending", "partially_verified", "partially_failed"]);
  });

  it("marks a verified record that disappears temporary_failure, recovers it, and fails it after the window", async () => {
    const domain = await createDomain("verify-five.com");
    publish(domain.records, "verify-five.com");
    await h.resend.domains.verify(domain.id);
    await h.standIn.settle();
    expect((await statusOf(domain.id)).status).toBe("verified");

    dns.remove("send.verify-five.com", "MX");
    const lapsed = await eventually(async () => {
      const d = await statusOf(domain.id);
      return d.records.some((r) => r.status === "temporary_failure") ? d : undefined;
    });
    expect(lapsed.records.map((r) => `${r.record}/${r.type}:${r.status}`)).toEqual([
      "DKIM/TXT:verified",
      "SPF/MX:temporary_failure",
      "SPF/TXT:verified",
    ]);
    // Still within the re-check window: the domain stays verified and can send.
    expect(lapsed.status).toBe("verified");

    publish(domain.records, "verify-five.com");
    await eventually(async () =>
      (await statusOf(domain.id)).records.every((r) => r.status === "verified") ? true : undefined,
    );

    dns.remove("send.verify-five.com", "MX");
    const failed = await eventually(async () => {
      const d = await statusOf(domain.id);
      return d.status === "failed" ? d : undefined;
    });
    expect(failed.records.find((r) => r.type === "MX")?.status).toBe("failed");
    const refused = await h.resend.emails.send({
      from: "a@verify-five.com",
      to: "x@verify-one.com",
      subject: "s",
      text: "t",
    });
    expect(refused.error).toMatchObject({ statusCode: 403 });
    await h.standIn.settle();
    const statuses = announced(domain.id);
    expect(statuses[0]).toBe("pending");
    expect(statuses.at(-1)).toBe("failed");
  });
});
