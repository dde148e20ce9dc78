import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DnsStandIn, startDnsStandIn } from "../../src/sandbox/dns";
import { DnsPublisher } from "../../src/sandbox/local-cloud/dns-publisher";
import { zoneIdFor } from "../../src/sandbox/local-cloud/dns-records";

describe("the DNS providers' API rules in the local cloud", () => {
  let dns: DnsStandIn;
  const served = (name: string, type: string) =>
    dns.records().find((r) => r.name === name && r.type === type)?.values;

  beforeAll(async () => {
    dns = await startDnsStandIn({ zones: ["example.com"] });
  });
  afterAll(() => dns?.close());

  const cloudflareTxt = (name: string, content: string) => ({
    zoneId: zoneIdFor("cloudflare", "example.com"),
    name,
    type: "TXT",
    ttl: 300,
    content,
  });
  const route53Txt = (name: string, value: string) => ({
    zoneId: zoneIdFor("route53", "example.com"),
    name,
    type: "TXT",
    ttl: 300,
    records: [value],
  });

  it("Cloudflare: refuses a second identical record (81058), accepts a second value under one name", () => {
    const publisher = new DnsPublisher(dns);
    const spf = publisher.create("cloudflare", cloudflareTxt("cf.example.com", '"v=spf1 -all"'));
    expect(spf.id).toMatch(/^[0-9a-f]{32}$/);
    expect(() => publisher.create("cloudflare", cloudflareTxt("cf.example.com", '"v=spf1 -all"'))).toThrow(
      /cloudflare error 81058: An identical record already exists \(TXT cf\.example\.com\)/,
    );
    publisher.create("cloudflare", cloudflareTxt("cf.example.com", '"site-verification=1"'));
    expect(served("cf.example.com", "TXT")).toEqual(["v=spf1 -all", "site-verification=1"]);
  });

  it("Route53: refuses to create a record set that exists", () => {
    const publisher = new DnsPublisher(dns);
    const dkim = publisher.create("route53", route53Txt("r53.example.com", "p=one"));
    expect(dkim.id).toBe(`${zoneIdFor("route53", "example.com")}_r53.example.com_TXT`);
    expect(() => publisher.create("route53", route53Txt("r53.example.com", "p=two"))).toThrow(
      /route53 InvalidChangeBatch: Tried to create resource record set \[name='r53\.example\.com\.', type='TXT'\] but it already exists/,
    );
    expect(served("r53.example.com", "TXT")).toEqual([["p=one"]]);
  });

  it("an update serves the record's new value in place; a delete removes only that record's value", () => {
    const publisher = new DnsPublisher(dns);
    const a = publisher.create("cloudflare", cloudflareTxt("upd.example.com", '"one"'));
    const b = publisher.create("cloudflare", cloudflareTxt("upd.example.com", '"two"'));
    publisher.update("cloudflare", a.id, cloudflareTxt("moved.example.com", '"one"'));
    expect(served("upd.example.com", "TXT")).toEqual(["two"]);
    expect(served("moved.example.com", "TXT")).toEqual(["one"]);
    publisher.delete(b.id);
    expect(served("upd.example.com", "TXT")).toBeUndefined();
    expect(publisher.exists(b.id)).toBe(false);
    expect(publisher.exists(a.id)).toBe(true);
  });

  it("a replacement (new record before the old one goes) leaves only the new record served", () => {
    const publisher = new DnsPublisher(dns);
    const old = publisher.create("route53", route53Txt("rep.example.com", "p=key"));
    const replacement = publisher.create("route53", route53Txt("rep2.example.com", "p=key"));
    publisher.delete(old.id);
    expect(served("rep.example.com", "TXT")).toBeUndefined();
    expect(served("rep2.example.com", "TXT")).toEqual([["p=key"]]);
    expect(publisher.exists(replacement.id)).toBe(true);
  });
});
