import type { CreateDomainResponseSuccess } from "resend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DnsStandIn, startDnsStandIn } from "../../src/sandbox/dns";
import { eventually } from "../support/eventually";
import {
  expectSpecSuccess,
  expectSpecWebhook,
  type ResendHarness,
  startResendHarness,
} from "./resend-harness";

type ResendRecord = CreateDomainResponseSuccess["records"][number];

const ZONE = "shapes.com";
let dns: DnsStandIn;
let h: ResendHarness;

beforeAll(async () => {
  dns = await startDnsStandIn({ zones: [ZONE] });
  // 72 h → 0.52 s, the first check (10 s) → 20 µs.
  h = await startResendHarness({ dnsServer: dns.address, timeScale: 0.000002 });
  await h.resend.webhooks.create({ endpoint: h.receiver.url, events: ["domain.created", "domain.updated"] });
});
afterAll(async () => {
  await h.close();
  await dns.close();
});

async function setShape(shape: unknown): Promise<Response> {
  return fetch(`${h.standIn.url}/_sandbox/resend/record-shape`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ shape }),
  });
}

async function create(
  name: string,
  extra: Record<string, unknown> = {},
): Promise<CreateDomainResponseSuccess> {
  return expectSpecSuccess(await h.resend.domains.create({ name, ...extra }), "POST", "/domains", 201);
}

const shapeOf = (records: ResendRecord[]) => records.map((r) => [r.record, r.type, r.name, r.value]);
const fqdn = (record: ResendRecord) => `${record.name}.${ZONE}`;

function publish(records: ResendRecord[]): void {
  for (const r of records) {
    if (r.type !== "CNAME" && r.type !== "TXT") throw new Error(`unexpected ${r.type} in this test`);
    dns.upsert({ name: fqdn(r), type: r.type, values: [r.value] });
  }
}

describe("Resend stand-in: the record shape it issues", () => {
  it("issues the CNAME-form return path to new domains once told, and an existing domain keeps its shape", async () => {
    const classic = await create(`old.${ZONE}`);
    expect((await setShape("cname")).status).toBe(200);
    const cname = await create(`mail.${ZONE}`, { customReturnPath: "bounce", region: "eu-west-1" });
    expect(shapeOf(cname.records)).toEqual([
      ["DKIM", "TXT", "resend._domainkey.mail", expect.stringMatching(/^p=[A-Za-z0-9+/]+={0,2}$/)],
      ["SPF", "CNAME", "bounce.mail", "rp.eu-west-1.resend-dns.com"],
      ["SPF", "CNAME", "rbounce.mail", "rrp.eu-west-1.resend-dns.com"],
    ]);
    expect(cname.records.every((r) => r.ttl === "Auto" && r.status === "not_started")).toBe(true);
    const got = expectSpecSuccess(await h.resend.domains.get(classic.id), "GET", "/domains/{domain_id}");
    expect(got.records.map((r) => `${r.record}/${r.type}`)).toEqual(["DKIM/TXT", "SPF/MX", "SPF/TXT"]);
    const announced = h.receiver.received
      .map((r) => expectSpecWebhook(r.body))
      .filter((e) => e.data.id === cname.id);
    expect(announced.map((e) => e.type)).toEqual(["domain.created"]);
    expect(announced[0]?.data.records).toHaveLength(3);
    expect(await (await fetch(`${h.standIn.url}/_sandbox/resend/record-shape`)).json()).toEqual({
      shape: "cname",
    });
  });

  it("issues CNAME-form DKIM as three SES selectors with a trailing dot, beside either return path", async () => {
    await setShape("classic-dkim-cname");
    const domain = await create(`dkim.${ZONE}`);
    const dkim = domain.records.filter((r) => r.record === "DKIM");
    expect(dkim).toHaveLength(3);
    for (const record of dkim) {
      const selector = /^([a-z2-7]{32})\._domainkey\.dkim$/.exec(record.name)?.[1];
      expect(selector, record.name).toBeDefined();
      expect(record).toMatchObject({ type: "CNAME", value: `${selector}.dkim.amazonses.com.` });
    }
    expect(new Set(dkim.map((r) => r.name)).size).toBe(3);
    expect(domain.records.filter((r) => r.record === "SPF").map((r) => r.type)).toEqual(["MX", "TXT"]);
    await setShape("cname-dkim-cname");
    const both = await create(`both.${ZONE}`);
    expect(both.records.map((r) => `${r.record}/${r.type}`)).toEqual([
      "DKIM/CNAME",
      "DKIM/CNAME",
      "DKIM/CNAME",
      "SPF/CNAME",
      "SPF/CNAME",
    ]);
  });

  it("refuses an unknown shape on the control route", async () => {
    const res = await setShape("mx");
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "`shape` must be one of classic, cname, classic-dkim-cname, cname-dkim-cname",
    });
    expect(h.standIn.recordShape).toBe("cname-dkim-cname");
  });

  it("is partially verified with one return-path CNAME, and verified (able to send) once both resolve", async () => {
    await setShape("cname");
    const domain = await create(`pair.${ZONE}`);
    const [dkim, returnPath, sibling] = domain.records as [ResendRecord, ResendRecord, ResendRecord];
    publish([dkim, returnPath]);
    await h.resend.domains.verify(domain.id);
    await eventually(async () =>
      (await h.resend.domains.get(domain.id)).data?.status === "partially_verified" ? true : undefined,
    );
    const half = (await h.resend.domains.get(domain.id)).data!;
    expect(half.records.map((r) => r.status)).toEqual(["verified", "verified", "pending"]);
    const refused = await h.resend.emails.send({
      from: `a@pair.${ZONE}`,
      to: "delivered@resend.dev",
      subject: "s",
      text: "t",
    });
    expect(refused.error).toMatchObject({ statusCode: 403, name: "validation_error" });

    publish([sibling]);
    await h.standIn.settle();
    expect((await h.resend.domains.get(domain.id)).data?.status).toBe("verified");
    const sent = await h.resend.emails.send({
      from: `a@pair.${ZONE}`,
      to: "delivered@resend.dev",
      subject: "s",
      text: "t",
    });
    expect(sent.error).toBeNull();
  });

  it("fails a CNAME that DNS answers with something else (a flattened or proxied name answers A records)", async () => {
    await setShape("cname");
    const domain = await create(`flat.${ZONE}`);
    const [dkim, returnPath, sibling] = domain.records as [ResendRecord, ResendRecord, ResendRecord];
    publish([dkim, returnPath]);
    dns.upsert({ name: fqdn(sibling), type: "A", values: ["192.0.2.10"] });
    await h.resend.domains.verify(domain.id);
    await h.standIn.settle();
    const failed = (await h.resend.domains.get(domain.id)).data!;
    expect(failed.records.map((r) => r.status)).toEqual(["verified", "verified", "failed"]);
    expect(failed.status).toBe("failed");
  });
});
