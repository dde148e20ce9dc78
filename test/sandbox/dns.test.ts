import { Resolver } from "node:dns/promises";
import { TCPClient, UDPClient } from "dns2";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DnsStandIn, startDnsStandIn } from "../../src/sandbox/dns";

let dns: DnsStandIn;
let resolver: Resolver;

beforeEach(async () => {
  dns = await startDnsStandIn({ zones: ["example.com", "example.net"] });
  resolver = new Resolver({ timeout: 300, tries: 1 });
  resolver.setServers([dns.address]);
});

afterEach(async () => {
  resolver.cancel();
  await dns.close();
});

const DKIM_HALVES = [
  `p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ${"A".repeat(200)}`,
  `${"B".repeat(120)}IDAQAB`,
];

describe("DNS stand-in answers", () => {
  it("listens on UDP and TCP on the same loopback port", () => {
    expect(dns.host).toBe("127.0.0.1");
    expect(dns.port).toBeGreaterThan(0);
    expect(dns.address).toBe(`127.0.0.1:${dns.port}`);
  });

  it("serves a single-string TXT record", async () => {
    dns.upsert({ name: "send.example.com", type: "TXT", values: ["v=spf1 include:amazonses.com ~all"] });
    expect(await resolver.resolveTxt("send.example.com")).toEqual([["v=spf1 include:amazonses.com ~all"]]);
  });

  it("serves several character-strings as ONE TXT record, the way a split Route53 value is read", async () => {
    dns.upsert({ name: "resend._domainkey.example.com", type: "TXT", values: [DKIM_HALVES] });
    const txt = await resolver.resolveTxt("resend._domainkey.example.com");
    expect(txt).toEqual([DKIM_HALVES]);
    expect(txt[0]!.join("")).toBe(DKIM_HALVES.join(""));
  });

  it("splits a single string over 255 bytes into 255-byte character-strings of one record", async () => {
    const value = `v=DKIM1; p=${"k".repeat(600)}`;
    dns.upsert({ name: "long._domainkey.example.com", type: "TXT", values: [value] });
    const txt = await resolver.resolveTxt("long._domainkey.example.com");
    expect(txt).toHaveLength(1);
    expect(txt[0]!.map((s) => s.length)).toEqual([255, 255, value.length - 510]);
    expect(txt[0]!.join("")).toBe(value);
  });

  it("truncates a UDP answer over 512 bytes and gives the whole answer over TCP", async () => {
    dns.upsert({ name: "big.example.com", type: "TXT", values: ["a".repeat(300), "b".repeat(300)] });
    const viaUdp = await UDPClient({ dns: dns.host, port: dns.port, retryOverTCP: false })(
      "big.example.com",
      "TXT",
    );
    expect(viaUdp.header.tc).toBe(1);
    expect(viaUdp.answers).toHaveLength(0);
    const viaTcp = await TCPClient({ dns: dns.host, port: dns.port })("big.example.com", "TXT");
    expect(viaTcp.answers).toHaveLength(2);
    // Node's resolver follows the TC bit to TCP on the same port by itself.
    expect(await resolver.resolveTxt("big.example.com")).toHaveLength(2);
  });

  it("serves separate TXT records in one RRset", async () => {
    dns.upsert({ name: "example.com", type: "TXT", values: ["one", "two"] });
    const txt = await resolver.resolveTxt("example.com");
    expect(txt.map((r) => r.join("")).sort()).toEqual(["one", "two"]);
  });

  it("serves MX with priorities", async () => {
    dns.upsert({
      name: "send.example.com",
      type: "MX",
      values: [
        { priority: 10, exchange: "feedback-smtp.us-east-1.amazonses.com" },
        { priority: 20, exchange: "backup.example.net." },
      ],
    });
    const mx = await resolver.resolveMx("send.example.com");
    expect(
      mx.sort((a, b) => a.priority - b.priority).map(({ priority, exchange }) => ({ priority, exchange })),
    ).toEqual([
      { priority: 10, exchange: "feedback-smtp.us-east-1.amazonses.com" },
      { priority: 20, exchange: "backup.example.net" },
    ]);
  });

  it("serves CAA with flags, tag and value", async () => {
    dns.upsert({
      name: "example.com",
      type: "CAA",
      values: [
        { flags: 0, tag: "issue", value: "amazon.com" },
        { flags: 128, tag: "iodef", value: "mailto:security@example.com" },
      ],
    });
    const caa = await resolver.resolveCaa("example.com");
    expect(caa).toContainEqual(expect.objectContaining({ critical: 0, issue: "amazon.com" }));
    expect(caa).toContainEqual(
      expect.objectContaining({ critical: 128, iodef: "mailto:security@example.com" }),
    );
  });

  it("serves A, AAAA and NS", async () => {
    dns.upsert({ name: "www.example.com", type: "A", values: ["192.0.2.10", "192.0.2.11"] });
    dns.upsert({ name: "www.example.com", type: "AAAA", values: ["2001:db8::10"] });
    dns.upsert({ name: "example.com", type: "NS", values: ["ns-1.awsdns-01.org"] });
    expect((await resolver.resolve4("www.example.com")).sort()).toEqual(["192.0.2.10", "192.0.2.11"]);
    expect(await resolver.resolve6("www.example.com")).toEqual(["2001:db8::10"]);
    expect(await resolver.resolveNs("example.com")).toEqual(["ns-1.awsdns-01.org"]);
  });

  it("answers an apex NS query with ns1.<apex>, the SOA's server, until NS records are stored", async () => {
    expect(await resolver.resolveNs("example.net")).toEqual(["ns1.example.net"]);
    await expect(resolver.resolveNs("www.example.net")).rejects.toMatchObject({ code: "ENOTFOUND" });
  });

  it("refers a query below a delegation to a zone it does not serve, without the AA bit", async () => {
    dns.upsert({
      name: "child.example.com",
      type: "NS",
      values: ["ns1.child-host.net", "ns2.child-host.net"],
    });
    const udp = UDPClient({ dns: dns.host, port: dns.port });
    for (const name of ["child.example.com", "deep.child.example.com"]) {
      const packet = await udp(name, "NS");
      expect(packet.header).toMatchObject({ rcode: 0, aa: 0 });
      expect(packet.answers).toEqual([]);
      expect(packet.authorities.map((a) => [a.name, a.type, (a as { ns?: string }).ns])).toEqual([
        ["child.example.com", 2, "ns1.child-host.net"],
        ["child.example.com", 2, "ns2.child-host.net"],
      ]);
    }
    // A child the server also serves is answered from the child, as by any server holding both zones.
    dns.addZone("child.example.com");
    dns.upsert({ name: "www.child.example.com", type: "A", values: ["192.0.2.20"] });
    expect(await resolver.resolve4("www.child.example.com")).toEqual(["192.0.2.20"]);
  });

  it("listens on another loopback host at a given port, as a second name server", async () => {
    const second = await startDnsStandIn({ zones: ["example.org"], host: "127.0.0.2", port: dns.port });
    try {
      expect(second.address).toBe(`127.0.0.2:${dns.port}`);
      const other = new Resolver({ timeout: 300, tries: 1 });
      other.setServers([second.address]);
      expect(await other.resolveNs("example.org")).toEqual(["ns1.example.org"]);
    } finally {
      await second.close();
    }
  });

  it("chases a CNAME to an in-zone target and returns the target's RRset", async () => {
    dns.upsert({ name: "links.example.com", type: "CNAME", values: ["target.example.net"] });
    dns.upsert({ name: "target.example.net", type: "TXT", values: ["chased"] });
    dns.upsert({ name: "target.example.net", type: "A", values: ["192.0.2.7"] });
    expect(await resolver.resolveTxt("links.example.com")).toEqual([["chased"]]);
    expect(await resolver.resolve4("links.example.com")).toEqual(["192.0.2.7"]);
    expect(await resolver.resolveCname("links.example.com")).toEqual(["target.example.net"]);

    const udp = UDPClient({ dns: dns.host, port: dns.port });
    const packet = await udp("links.example.com", "TXT");
    expect(packet.answers.map((a) => a.type)).toEqual([5, 16]);
  });

  it("returns only the CNAME when its target is outside the served zones", async () => {
    dns.upsert({ name: "links.example.com", type: "CNAME", values: ["links1.resend-dns.com"] });
    const udp = UDPClient({ dns: dns.host, port: dns.port });
    const packet = await udp("links.example.com", "A");
    expect(packet.header.rcode).toBe(0);
    expect(packet.answers).toHaveLength(1);
    expect(packet.answers[0]).toMatchObject({ type: 5, domain: "links1.resend-dns.com" });
  });

  it("answers NXDOMAIN, with the CNAME, when an in-zone CNAME points at a missing name", async () => {
    dns.upsert({ name: "dangling.example.com", type: "CNAME", values: ["gone.example.net"] });
    const packet = await UDPClient({ dns: dns.host, port: dns.port })("dangling.example.com", "TXT");
    expect(packet.header.rcode).toBe(3);
    expect(packet.answers).toMatchObject([{ type: 5, domain: "gone.example.net" }]);
    expect(packet.authorities[0]).toMatchObject({ type: 6, name: "example.net" });
  });

  it("answers NXDOMAIN with the zone's SOA for an unknown name inside a zone", async () => {
    await expect(resolver.resolveTxt("missing.example.com")).rejects.toMatchObject({ code: "ENOTFOUND" });
    const packet = await UDPClient({ dns: dns.host, port: dns.port })("missing.example.com", "TXT");
    expect(packet.header.rcode).toBe(3);
    expect(packet.header.aa).toBe(1);
    expect(packet.authorities).toHaveLength(1);
    expect(packet.authorities[0]).toMatchObject({ type: 6, name: "example.com", primary: "ns1.example.com" });
  });

  it("answers NOERROR with no records for a known name without that type, and for empty non-terminals", async () => {
    dns.upsert({ name: "resend._domainkey.example.com", type: "TXT", values: ["p=abc"] });
    await expect(resolver.resolveMx("resend._domainkey.example.com")).rejects.toMatchObject({
      code: "ENODATA",
    });
    await expect(resolver.resolveTxt("_domainkey.example.com")).rejects.toMatchObject({ code: "ENODATA" });
  });

  it("refuses names outside every zone", async () => {
    await expect(resolver.resolveTxt("example.org")).rejects.toMatchObject({ code: "EREFUSED" });
    await expect(resolver.resolveTxt("notexample.com")).rejects.toMatchObject({ code: "EREFUSED" });
  });

  it("matches names case-insensitively and ignores a trailing dot", async () => {
    dns.upsert({ name: "Send.Example.COM.", type: "TXT", values: ["mixed"] });
    expect(dns.records()[0]!.name).toBe("send.example.com");
    expect(await resolver.resolveTxt("SEND.example.com")).toEqual([["mixed"]]);
  });

  it("synthesizes an SOA per zone whose serial moves when the zone changes", async () => {
    const before = await resolver.resolveSoa("example.net");
    dns.upsert({ name: "a.example.net", type: "A", values: ["192.0.2.1"] });
    const after = await resolver.resolveSoa("example.net");
    expect(after.nsname).toBe("ns1.example.net");
    expect(after.serial).toBeGreaterThan(before.serial);
  });

  it("answers over TCP exactly as over UDP", async () => {
    dns.upsert({ name: "resend._domainkey.example.com", type: "TXT", values: [DKIM_HALVES] });
    const viaUdp = await UDPClient({ dns: dns.host, port: dns.port })("resend._domainkey.example.com", "TXT");
    const viaTcp = await TCPClient({ dns: dns.host, port: dns.port })("resend._domainkey.example.com", "TXT");
    expect(viaTcp.answers).toEqual(viaUdp.answers);
    expect(viaTcp.answers[0]?.data).toEqual(DKIM_HALVES);
    expect(dns.queries.map((q) => q.transport)).toEqual(["udp", "tcp"]);
  });
});

describe("DNS stand-in changes and faults", () => {
  it("starts with the records it is given", async () => {
    const seeded = await startDnsStandIn({
      zones: ["example.io"],
      records: [{ name: "_dmarc.example.io", type: "TXT", values: ["v=DMARC1; p=none;"] }],
    });
    try {
      const own = new Resolver({ timeout: 300, tries: 1 });
      own.setServers([seeded.address]);
      expect(seeded.port).not.toBe(dns.port);
      expect(await own.resolveTxt("_dmarc.example.io")).toEqual([["v=DMARC1; p=none;"]]);
    } finally {
      await seeded.close();
    }
  });

  it("upsert replaces the whole RRset", async () => {
    dns.upsert({ name: "send.example.com", type: "TXT", values: ["old-1", "old-2"] });
    dns.upsert({ name: "send.example.com", type: "TXT", values: ["new"] });
    expect(await resolver.resolveTxt("send.example.com")).toEqual([["new"]]);
    expect(dns.records()).toHaveLength(1);
  });

  it("remove deletes one type, or every type at a name", async () => {
    dns.upsert({ name: "send.example.com", type: "TXT", values: ["spf"] });
    dns.upsert({
      name: "send.example.com",
      type: "MX",
      values: [{ priority: 10, exchange: "mx.example.net" }],
    });
    dns.remove("send.example.com", "TXT");
    await expect(resolver.resolveTxt("send.example.com")).rejects.toMatchObject({ code: "ENODATA" });
    expect(await resolver.resolveMx("send.example.com")).toHaveLength(1);
    dns.remove("SEND.example.com");
    await expect(resolver.resolveMx("send.example.com")).rejects.toMatchObject({ code: "ENOTFOUND" });
  });

  it("rejects bad records with a message naming the field", () => {
    expect(() => dns.upsert({ name: "x.example.org", type: "TXT", values: ["a"] })).toThrow(
      /outside every served zone/,
    );
    expect(() => dns.upsert({ name: "x.example.com", type: "A", values: ["not-an-ip"] })).toThrow(
      /values\[0\]/,
    );
    expect(() => dns.upsert({ name: "x.example.com", type: "TXT", values: [] })).toThrow(/values must be/);
    expect(() => dns.upsert({ name: "x.example.com", type: "TXT", values: [["a".repeat(256)]] })).toThrow(
      /values\[0\]\[0\] is 256 bytes/,
    );
    expect(() =>
      dns.upsert({
        name: "x.example.com",
        type: "MX",
        values: [{ priority: -1, exchange: "mx.example.com" }],
      }),
    ).toThrow(/values\[0\]\.priority/);
    dns.upsert({ name: "c.example.com", type: "CNAME", values: ["t.example.com"] });
    expect(() => dns.upsert({ name: "c.example.com", type: "TXT", values: ["x"] })).toThrow(/has a CNAME/);
    expect(dns.records()).toHaveLength(1);
  });

  it("fault nxdomain answers ENOTFOUND even for a name with records, until cleared", async () => {
    dns.upsert({ name: "send.example.com", type: "TXT", values: ["spf"] });
    dns.fault("send.example.com", "nxdomain");
    await expect(resolver.resolveTxt("send.example.com")).rejects.toMatchObject({ code: "ENOTFOUND" });
    dns.fault("send.example.com", null);
    expect(await resolver.resolveTxt("send.example.com")).toEqual([["spf"]]);
  });

  it("fault servfail answers ESERVFAIL", async () => {
    dns.fault("send.example.com", "servfail");
    await expect(resolver.resolveTxt("send.example.com")).rejects.toMatchObject({ code: "ESERVFAIL" });
  });

  it("fault timeout never answers, so the resolver gives ETIMEOUT", async () => {
    dns.upsert({ name: "send.example.com", type: "TXT", values: ["spf"] });
    dns.fault("send.example.com", "timeout");
    await expect(resolver.resolveTxt("send.example.com")).rejects.toMatchObject({ code: "ETIMEOUT" });
    expect(dns.queries.at(-1)).toMatchObject({ name: "send.example.com", rcode: "no answer" });
  });

  it("faults apply to one exact name only", async () => {
    dns.upsert({ name: "a.example.com", type: "TXT", values: ["a"] });
    dns.fault("b.example.com", "servfail");
    expect(await resolver.resolveTxt("a.example.com")).toEqual([["a"]]);
  });
});

describe("DNS stand-in HTTP admin API", () => {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${dns.admin.url}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("adds a zone, upserts, lists and deletes records, and the DNS answers follow", async () => {
    expect((await call("POST", "/_sandbox/dns/zones", { apex: "Example.ORG." })).status).toBe(201);
    const put = await call("PUT", "/_sandbox/dns/records", {
      name: "_dmarc.example.org",
      type: "TXT",
      values: ["v=DMARC1; p=none;"],
    });
    expect(put.status).toBe(200);
    expect(await resolver.resolveTxt("_dmarc.example.org")).toEqual([["v=DMARC1; p=none;"]]);

    const list = await call("GET", "/_sandbox/dns/records");
    expect(list.body["zones"]).toContain("example.org");
    expect(list.body["data"]).toEqual([
      { name: "_dmarc.example.org", type: "TXT", ttl: 300, values: ["v=DMARC1; p=none;"] },
    ]);

    const del = await call("DELETE", "/_sandbox/dns/records?name=_dmarc.example.org&type=TXT");
    expect(del.body).toEqual({ removed: 1 });
    await expect(resolver.resolveTxt("_dmarc.example.org")).rejects.toMatchObject({ code: "ENOTFOUND" });
  });

  it("sets and clears faults", async () => {
    dns.upsert({ name: "send.example.com", type: "TXT", values: ["spf"] });
    expect(
      (await call("POST", "/_sandbox/dns/faults", { name: "send.example.com", fault: "servfail" })).status,
    ).toBe(200);
    await expect(resolver.resolveTxt("send.example.com")).rejects.toMatchObject({ code: "ESERVFAIL" });
    await call("POST", "/_sandbox/dns/faults", { name: "send.example.com", fault: null });
    expect(await resolver.resolveTxt("send.example.com")).toEqual([["spf"]]);
  });

  it("answers 400 naming the field for bad input", async () => {
    const cases: [string, string, unknown, RegExp][] = [
      [
        "PUT",
        "/_sandbox/dns/records",
        { name: "x.example.com", type: "SRV", values: ["a"] },
        /^type must be one of/,
      ],
      ["PUT", "/_sandbox/dns/records", { type: "TXT", values: ["a"] }, /^name must be/],
      [
        "PUT",
        "/_sandbox/dns/records",
        { name: "x.example.com", type: "TXT", ttl: -5, values: ["a"] },
        /^ttl must/,
      ],
      ["PUT", "/_sandbox/dns/records", "{not json", /not valid JSON/],
      ["DELETE", "/_sandbox/dns/records?type=TXT", undefined, /^name query parameter/],
      ["DELETE", "/_sandbox/dns/records?name=a.example.com&type=BOGUS", undefined, /^type must/],
      ["POST", "/_sandbox/dns/zones", {}, /^apex must/],
      ["POST", "/_sandbox/dns/faults", { name: "a.example.com" }, /^fault is required/],
      ["POST", "/_sandbox/dns/faults", { name: "a.example.com", fault: "slow" }, /^fault must be one of/],
    ];
    for (const [method, path, body, message] of cases) {
      const res = await call(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(res.body["message"], `${method} ${path}`).toMatch(message);
    }
    expect(dns.records()).toEqual([]);
  });

  it("answers 404 for unknown admin routes", async () => {
    const res = await call("GET", "/_sandbox/dns/nothing");
    expect(res.status).toBe(404);
    expect(res.body["error"]).toBe("not_found");
  });
});
