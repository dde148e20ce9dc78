import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { resolverLookup } from "../../src/doctor/dns-lookup";
import { exitCode, formatJson, formatText } from "../../src/doctor/report";
import { runDoctor } from "../../src/doctor/run";
import { useDoctorWorld } from "./use-world";
import { closedPortUrl, DOMAIN, type DoctorWorld, find, problems, withFault, ZONE } from "./world";

let world: DoctorWorld;
useDoctorWorld((started) => {
  world = started;
});

const RESEND_SPF = "v=spf1 include:amazonses.com ~all";
const DKIM_NAME = `resend._domainkey.${DOMAIN}`;
const SPF_NAME = `send.${DOMAIN}`;
const DMARC_NAME = `_dmarc.${DOMAIN}`;
const HEALTHY_DMARC = "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com;";

function republish(name: string, values: string[] | string[][]) {
  return () => world.sandbox.dns.upsert({ name, type: "TXT", values });
}

const dkimValue = () =>
  (world.sandbox.dns.records().find((r) => r.name === DKIM_NAME && r.type === "TXT")?.values[0] as string) ??
  "";

/** Runs the doctor with the TXT at `name` replaced by `values`, then puts the healthy record back. */
async function withTxt(
  name: string,
  values: string[] | string[][],
  healthy: string[],
  settings = world.settings(),
) {
  return withFault(republish(name, values), republish(name, healthy), () =>
    runDoctor(world.inputs({ settings })),
  );
}

describe("doctor against a healthy stack", () => {
  it("passes every check, in a fixed order of ids, and exits 0", async () => {
    const report = await runDoctor(world.inputs());
    expect(problems(report.results)).toEqual([]);
    expect(exitCode(report)).toBe(0);
    expect(report.results.map((r) => r.check)).toEqual([
      "dns.delegation",
      "dns.record-profile",
      "dns.dkim-txt",
      "dns.dkim-key",
      "dns.spf-mx",
      "dns.spf-txt",
      "dns.spf-lookups",
      "dns.spf-syntax",
      "dns.spf-all",
      "dns.dmarc.record",
      "dns.dmarc.policy",
      "dns.dmarc.rua",
      "dns.dmarc.alignment",
      "dns.dmarc.pct",
      "dns.dmarc.enforcement",
      "resend.api-key",
      "resend.domain",
      "resend.tracking",
      "resend.reputation",
      "resend.webhook",
      "resend.webhook.enabled",
      "resend.webhook.events",
      "clerk.secret-key",
      "clerk.template.verification_code",
      "clerk.template.reset_password_code",
      "clerk.svix-app",
      "clerk.webhook-endpoint",
      "bridge.health",
      "bridge.signature",
      "bridge.dead-letters",
    ]);
    expect(find(report.results, "dns.spf-lookups").message).toContain("needs 1 of 10");
    expect(find(report.results, "bridge.health").message).toBe(`${world.bridge.url}/health answered 200`);
    expect(formatText(report)).toContain("0 failed: healthy");
  });

  it("never prints a credential, in text or JSON", async () => {
    const inputs = world.inputs({ settings: world.settings({}, { RESEND_API_KEY: "re_not_the_key_12345" }) });
    const report = await runDoctor(inputs);
    expect(find(report.results, "resend.api-key").status).toBe("fail");
    for (const output of [formatText(report), formatJson(report)]) {
      expect(output).not.toContain("re_not_the_key_12345");
      expect(output).not.toContain(world.sandbox.clerk.secretKey);
      expect(output).not.toMatch(/ott_|appsk_/); // Svix portal tokens
    }
  });
});

describe("doctor: DNS records", () => {
  it("missing DKIM fails with the record to publish and pulumi up --refresh", async () => {
    const dkim = dkimValue();
    const report = await withFault(
      () => world.sandbox.dns.remove(DKIM_NAME, "TXT"),
      republish(DKIM_NAME, [dkim]),
      () => runDoctor(world.inputs()),
    );
    const result = find(report.results, "dns.dkim-txt");
    expect(result).toMatchObject({
      status: "fail",
      code: "missing",
      message: `DKIM TXT ${DKIM_NAME} is missing`,
    });
    expect(result.fix).toMatch(new RegExp(`^publish TXT ${DKIM_NAME.replace(/\./g, "\\.")} = p=`));
    expect(result.fix).toContain("name resend._domainkey.mail in zone example.com");
    expect(result.fix).toContain("pulumi up --refresh");
    expect(result.details).toEqual({ expected: dkim });
    expect(exitCode(report)).toBe(1);
  });

  it("a record published at the doubled zone suffix is named as that mistake, with the name to enter", async () => {
    const dkim = dkimValue();
    const doubled = `${DKIM_NAME}.${ZONE}`;
    const report = await withFault(
      () => {
        world.sandbox.dns.remove(DKIM_NAME, "TXT");
        world.sandbox.dns.upsert({ name: doubled, type: "TXT", values: [dkim] });
      },
      () => {
        world.sandbox.dns.remove(doubled);
        world.sandbox.dns.upsert({ name: DKIM_NAME, type: "TXT", values: [dkim] });
      },
      () => runDoctor(world.inputs()),
    );
    const result = find(report.results, "dns.dkim-txt");
    expect(result).toMatchObject({
      status: "fail",
      code: "doubled-suffix",
      message: `DKIM TXT ${DKIM_NAME} is missing, but a TXT record sits at ${doubled}: the zone name was added twice (the DNS host appends ${ZONE} to the name it is given)`,
      fix: `delete the TXT at ${doubled} and create it with the name resend._domainkey.mail (the host appends ${ZONE}), so it lands at ${DKIM_NAME}; pulumi up --refresh publishes it there`,
      details: { expectedName: DKIM_NAME, foundAt: doubled, enterName: "resend._domainkey.mail" },
    });
  });

  it("a DKIM selector delegated by CNAME to Resend's key passes", async () => {
    const dkim = dkimValue();
    const target = `dkim-host.${ZONE}`;
    const report = await withFault(
      () => {
        world.sandbox.dns.remove(DKIM_NAME, "TXT");
        world.sandbox.dns.upsert({ name: target, type: "TXT", values: [dkim] });
        world.sandbox.dns.upsert({ name: DKIM_NAME, type: "CNAME", values: [target] });
      },
      () => {
        world.sandbox.dns.remove(DKIM_NAME, "CNAME");
        world.sandbox.dns.remove(target);
        world.sandbox.dns.upsert({ name: DKIM_NAME, type: "TXT", values: [dkim] });
      },
      () => runDoctor(world.inputs()),
    );
    expect(find(report.results, "dns.dkim-txt")).toMatchObject({
      status: "pass",
      message: `DKIM TXT ${DKIM_NAME} is a CNAME to ${target}, which holds Resend's key`,
    });
    expect(find(report.results, "dns.dkim-key").status).toBe("pass");
  });

  it("a key split across two TXT records fails with the fix to make it one record of two strings", async () => {
    const dkim = dkimValue();
    const report = await withTxt(DKIM_NAME, [dkim.slice(0, 120), dkim.slice(120)], [dkim]);
    const result = find(report.results, "dns.dkim-txt");
    expect(result).toMatchObject({ status: "fail", code: "split-key" });
    expect(result.message).toBe(
      `DKIM TXT ${DKIM_NAME}: Resend's key is split across 2 TXT records; receivers read one record, so they see half a key`,
    );
    expect(result.fix).toContain(`publish ONE TXT at ${DKIM_NAME} holding the whole key`);
    expect(result.details).toEqual({ expected: dkim, published: [dkim.slice(0, 120), dkim.slice(120)] });
  });

  it("a key published as one record of two strings passes", async () => {
    const dkim = dkimValue();
    const report = await withTxt(DKIM_NAME, [[dkim.slice(0, 200), dkim.slice(200)]], [dkim]);
    expect(find(report.results, "dns.dkim-txt").status).toBe("pass");
  });

  it("a stale key says where it differs from Resend's; --json carries both keys whole", async () => {
    const dkim = dkimValue();
    const stale = `p=${generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "der", type: "spki" }).toString("base64")}`;
    const report = await withTxt(DKIM_NAME, [stale], [dkim]);
    const result = find(report.results, "dns.dkim-txt");
    expect(result).toMatchObject({ status: "fail", code: "mismatch" });
    let i = 0;
    while (stale[i] === dkim[i]) i++;
    expect(result.message).toContain(
      `the keys differ from character ${i - 1} of ${dkim.length - 2}: published `,
    );
    expect(result.message).toContain("a stale key from an earlier domain?");
    const json = JSON.parse(formatJson(report)) as { results: { check: string; details?: unknown }[] };
    expect(json.results.find((r) => r.check === "dns.dkim-txt")?.details).toEqual({
      expected: dkim,
      published: [stale],
    });
  });

  it("a DNS server failure on one name is a warning, not a failure", async () => {
    const report = await withFault(
      () => world.sandbox.dns.fault(DKIM_NAME, "servfail"),
      () => world.sandbox.dns.fault(DKIM_NAME, null),
      () => runDoctor(world.inputs()),
    );
    expect(find(report.results, "dns.dkim-txt")).toMatchObject({ status: "warn", code: "lookup-failed" });
    expect(find(report.results, "dns.dkim-txt").message).toContain("ESERVFAIL");
  });

  it("an unreachable resolver turns every DNS check into a warning", async () => {
    const port = new URL(await closedPortUrl()).port;
    const report = await runDoctor(
      world.inputs({ dns: resolverLookup({ server: `127.0.0.1:${port}`, timeoutMs: 200 }) }),
    );
    // The record shape is read from Resend, not from DNS, so it still passes.
    expect(find(report.results, "dns.record-profile").status).toBe("pass");
    const dns = report.results.filter((r) => r.area === "dns" && r.check !== "dns.record-profile");
    expect(dns.map((r) => [r.check, r.status])).toEqual([
      ["dns.delegation", "warn"],
      ["dns.dkim-txt", "warn"],
      ["dns.spf-mx", "warn"],
      ["dns.spf-txt", "warn"],
      ["dns.dmarc.record", "warn"],
    ]);
    expect(exitCode(report)).toBe(0);
  });
});

describe("doctor: the zone the world resolves", () => {
  it("passes when the parent zone delegates to the name servers the zone lists", async () => {
    const report = await runDoctor(world.inputs());
    expect(find(report.results, "dns.delegation")).toMatchObject({
      status: "pass",
      message: `com delegates ${ZONE} to ns1.${ZONE}, the name servers the zone lists`,
      details: {
        parent: "com",
        askedServer: "a.gtld-servers.com",
        delegatedTo: [`ns1.${ZONE}`],
        zoneNs: [`ns1.${ZONE}`],
      },
    });
  });

  it("fails when the parent delegates to other name servers than the managed zone's", async () => {
    const report = await withFault(
      () =>
        world.registry.upsert({
          name: ZONE,
          type: "NS",
          values: ["ns-old.dns-host.net", "ns-old2.dns-host.net"],
        }),
      () => world.registry.upsert({ name: ZONE, type: "NS", values: [`ns1.${ZONE}`] }),
      () => runDoctor(world.inputs()),
    );
    expect(find(report.results, "dns.delegation")).toMatchObject({
      status: "fail",
      code: "mismatch",
      message: `the parent zone com delegates ${ZONE} to ns-old.dns-host.net, ns-old2.dns-host.net, but the zone's NS records name ns1.${ZONE}: resolvers follow the delegation, so records published in the other zone are never seen`,
      fix: `at the registrar, set the name servers of ${ZONE} to the managed zone's (ns1.${ZONE}: Cloudflare shows the zone's assigned name servers, Route53 the hosted zone's NS record); if ns-old.dns-host.net, ns-old2.dns-host.net serve the live zone instead, point dnsZoneId at that zone and pulumi up --refresh`,
    });
    expect(exitCode(report)).toBe(1);
  });

  it("warns when no server of the parent zone answers", async () => {
    const report = await withFault(
      () => world.sandbox.dns.upsert({ name: "a.gtld-servers.com", type: "A", values: ["127.0.0.3"] }),
      () => world.sandbox.dns.upsert({ name: "a.gtld-servers.com", type: "A", values: ["127.0.0.2"] }),
      () => runDoctor(world.inputs()),
    );
    const result = find(report.results, "dns.delegation");
    expect(result).toMatchObject({ status: "warn", code: "lookup-failed" });
    expect(result.message).toMatch(
      /^the delegation of example\.com could not be read: no server of com answered \(a\.gtld-servers\.com: /,
    );
    expect(exitCode(report)).toBe(0);
  });

  it("fails when the parent does not delegate the zone at all", async () => {
    const report = await withFault(
      () => world.registry.remove(ZONE, "NS"),
      () => world.registry.upsert({ name: ZONE, type: "NS", values: [`ns1.${ZONE}`] }),
      () => runDoctor(world.inputs()),
    );
    expect(find(report.results, "dns.delegation")).toMatchObject({ status: "fail", code: "not-delegated" });
  });
});

describe("doctor: SPF", () => {
  it("a wrong SPF value fails with Resend's value", async () => {
    const report = await withTxt(SPF_NAME, ["v=spf1 ip4:192.0.2.1 -all"], [RESEND_SPF]);
    const result = find(report.results, "dns.spf-txt");
    expect(result).toMatchObject({ status: "fail", code: "mismatch" });
    expect(result.message).toBe(
      `SPF TXT ${SPF_NAME}: it is "v=spf1 ip4:192.0.2.1 -all" but Resend expects "${RESEND_SPF}"`,
    );
    expect(result.fix).toContain(`publish TXT ${SPF_NAME} = ${RESEND_SPF}`);
  });

  it("+all fails and ?all warns, though Resend's include is there", async () => {
    const open = await withTxt(SPF_NAME, ["v=spf1 include:amazonses.com +all"], [RESEND_SPF]);
    expect(find(open.results, "dns.spf-txt").status).toBe("pass");
    expect(find(open.results, "dns.spf-all")).toMatchObject({
      status: "fail",
      code: "pass-all",
      message: `SPF at ${SPF_NAME} ends in +all: every server on the internet may send as this domain, so filters distrust it`,
      fix: `end the TXT at ${SPF_NAME} with ~all (as Resend publishes it) or -all; pulumi up --refresh restores Resend's record`,
    });
    expect(exitCode(open)).toBe(1);

    const neutral = await withTxt(SPF_NAME, ["v=spf1 include:amazonses.com ?all"], [RESEND_SPF]);
    expect(find(neutral.results, "dns.spf-all")).toMatchObject({ status: "warn", code: "neutral-all" });
    expect(exitCode(neutral)).toBe(0);
  });

  it("a syntax error is a permerror, named by mailauth's parser", async () => {
    const report = await withTxt(SPF_NAME, ["v=spf1 include:amazonses.com ip4:999.1.1.1 ~all"], [RESEND_SPF]);
    expect(find(report.results, "dns.spf-syntax")).toMatchObject({
      status: "fail",
      code: "permerror",
      message: `SPF at ${SPF_NAME} is a permerror for receivers: Invalid "ip4" term`,
    });
  });

  it("an SPF record needing more than 10 lookups fails, even though it holds Resend's include", async () => {
    const includes = Array.from({ length: 10 }, (_, i) => `s${i}.example.com`);
    for (const [i, name] of includes.entries()) {
      world.sandbox.dns.upsert({ name, type: "TXT", values: [`v=spf1 ip4:192.0.2.${i} -all`] });
    }
    const merged = `v=spf1 include:amazonses.com ${includes.map((n) => `include:${n}`).join(" ")} ~all`;
    const report = await withTxt(SPF_NAME, [merged], [RESEND_SPF]);
    expect(find(report.results, "dns.spf-txt").status).toBe("pass");
    const limit = find(report.results, "dns.spf-lookups");
    expect(limit).toMatchObject({ status: "fail", code: "too-many" });
    expect(limit.message).toContain(`SPF at ${SPF_NAME} needs 11 DNS lookups (limit 10)`);
    expect(limit.fix).toContain(`remove includes from the TXT at ${SPF_NAME}`);
  });

  it("two SPF records on one name fail and say to merge them", async () => {
    const report = await withTxt(
      SPF_NAME,
      [RESEND_SPF, "v=spf1 include:amazonses.com ip4:192.0.2.9 ~all"],
      [RESEND_SPF],
    );
    const result = find(report.results, "dns.spf-txt");
    expect(result).toMatchObject({ status: "fail", code: "duplicate" });
    expect(result.message).toContain("has 2 v=spf1 records");
    expect(result.fix).toBe(`merge them into one TXT at ${SPF_NAME} (keep ${RESEND_SPF})`);
  });
});

describe("doctor: DMARC", () => {
  it("missing DMARC fails with the record the stack's stage needs", async () => {
    const report = await withFault(
      () => world.sandbox.dns.remove(DMARC_NAME),
      republish(DMARC_NAME, [HEALTHY_DMARC]),
      () => runDoctor(world.inputs()),
    );
    expect(find(report.results, "dns.dmarc.record")).toMatchObject({
      status: "fail",
      code: "missing",
      fix: `publish TXT ${DMARC_NAME} = "${HEALTHY_DMARC}" (pulumi up --refresh restores it)`,
    });
  });

  it("a malformed record is reported as malformed, not as missing", async () => {
    const report = await withTxt(
      DMARC_NAME,
      ["v=DMARC1 p=none rua=mailto:dmarc-reports@example.com"],
      [HEALTHY_DMARC],
    );
    expect(report.results.filter((r) => r.check.startsWith("dns.dmarc"))).toEqual([
      expect.objectContaining({
        check: "dns.dmarc.record",
        status: "fail",
        code: "malformed",
        message: `${DMARC_NAME} = "v=DMARC1 p=none rua=mailto:dmarc-reports@example.com" is malformed: it must start with exactly "v=DMARC1;"`,
      }),
    ]);
    const twice = await withTxt(DMARC_NAME, ["v=DMARC1; p=none; p=reject"], [HEALTHY_DMARC]);
    expect(find(twice.results, "dns.dmarc.record").message).toContain("a tag appears twice");
  });

  it("an invalid p= or sp= fails, and the fix never repeats the misspelling", async () => {
    const p = await withTxt(
      DMARC_NAME,
      ["v=DMARC1; p=rejct; rua=mailto:dmarc-reports@example.com"],
      [HEALTHY_DMARC],
    );
    const policy = find(p.results, "dns.dmarc.policy");
    expect(policy).toMatchObject({
      status: "fail",
      code: "invalid-p",
      message: "p=rejct is not none, quarantine or reject: receivers treat the record as p=none",
      fix: `publish TXT ${DMARC_NAME} = "${HEALTHY_DMARC}" (pulumi up --refresh restores it)`,
    });
    const sp = await withTxt(DMARC_NAME, ["v=DMARC1; p=none; sp=block"], [HEALTHY_DMARC]);
    expect(find(sp.results, "dns.dmarc.policy")).toMatchObject({ status: "fail", code: "invalid-sp" });
    expect(find(sp.results, "dns.dmarc.policy").message).toContain("receivers apply no DMARC at all");
  });

  it("rua without mailto: fails; aspf=s warns that Resend's return path only aligns relaxed", async () => {
    const rua = await withTxt(
      DMARC_NAME,
      ["v=DMARC1; p=none; rua=dmarc-reports@example.com"],
      [HEALTHY_DMARC],
    );
    expect(find(rua.results, "dns.dmarc.rua")).toMatchObject({
      status: "fail",
      code: "invalid-uri",
      message:
        "rua=dmarc-reports@example.com: dmarc-reports@example.com is not a mailto: URI, so no report reaches it (RFC 9989 §4.8)",
    });
    const strict = await withTxt(DMARC_NAME, [`${HEALTHY_DMARC} aspf=s;`], [HEALTHY_DMARC]);
    expect(find(strict.results, "dns.dmarc.alignment")).toMatchObject({ status: "warn", code: "strict-spf" });
    expect(exitCode(strict)).toBe(0);
  });

  it("an inherited organizational record is found by the RFC 9989 tree walk and warns", async () => {
    const report = await withFault(
      () => {
        world.sandbox.dns.remove(DMARC_NAME);
        world.sandbox.dns.upsert({
          name: `_dmarc.${ZONE}`,
          type: "TXT",
          values: ["v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com"],
        });
      },
      () => {
        world.sandbox.dns.remove(`_dmarc.${ZONE}`);
        world.sandbox.dns.upsert({ name: DMARC_NAME, type: "TXT", values: [HEALTHY_DMARC] });
      },
      () => runDoctor(world.inputs()),
    );
    expect(find(report.results, "dns.dmarc.record")).toMatchObject({ status: "warn", code: "inherited" });
    expect(find(report.results, "dns.dmarc.policy").status).toBe("pass"); // sp=none applies
  });

  it("a policy other than the stack's stage fails; p=none in prod warns", async () => {
    const staged = await runDoctor(world.inputs({ settings: world.settings({ dmarcPolicy: "quarantine" }) }));
    const policy = find(staged.results, "dns.dmarc.policy");
    expect(policy).toMatchObject({ status: "fail", code: "mismatch" });
    expect(policy.message).toBe(`DMARC policy is p=none but the stack's dmarcPolicy stage is "quarantine"`);
    expect(policy.fix).toContain("pulumi config set dmarcPolicy none");

    const prod = await runDoctor(world.inputs({ stack: "prod" }));
    expect(find(prod.results, "dns.dmarc.enforcement")).toMatchObject({
      status: "warn",
      code: "not-enforcing",
    });
    expect(exitCode(prod)).toBe(0);
  });

  it("while DKIM is missing no fix offers an enforcing policy", async () => {
    const dkim = dkimValue();
    const [staged, published] = await withFault(
      () => world.sandbox.dns.remove(DKIM_NAME, "TXT"),
      republish(DKIM_NAME, [dkim]),
      async () => [
        await runDoctor(world.inputs({ settings: world.settings({ dmarcPolicy: "reject" }) })),
        await withTxt(
          DMARC_NAME,
          ["v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.com"],
          [HEALTHY_DMARC],
        ),
      ],
    );
    const stagedPolicy = find(staged.results, "dns.dmarc.policy");
    expect(stagedPolicy.status).toBe("fail");
    expect(stagedPolicy.fix).toBe(
      `publish TXT ${DMARC_NAME} = "${HEALTHY_DMARC}" (pulumi up --refresh restores it), or if none is intended: pulumi config set dmarcPolicy none && pulumi up; keep p=none until DKIM passes (the stack's stage "reject" would reject mail that only SPF can vouch for, and Resend's SPF never aligns strictly)`,
    );
    const publishedPolicy = find(published.results, "dns.dmarc.policy");
    expect(publishedPolicy.message).toBe(
      `DMARC policy is p=reject but the stack's dmarcPolicy stage is "none"`,
    );
    expect(publishedPolicy.fix).not.toContain("dmarcPolicy reject");
    expect(publishedPolicy.fix).toContain(`publish TXT ${DMARC_NAME} = "${HEALTHY_DMARC}"`);
  });
});

describe("doctor: the record profile", () => {
  it("names a profile that is not the shape Resend issued, and still checks the CNAME-form records", async () => {
    world.sandbox.resend.recordShape = "cname";
    try {
      await world.createDomain("cnames.example.com");
    } finally {
      world.sandbox.resend.recordShape = "classic";
    }
    await world.sandbox.resend.settle();
    const settings = world.settings({ sendingDomain: "cnames.example.com" });
    const report = await runDoctor(world.inputs({ stack: "dev", settings }));
    expect(find(report.results, "dns.record-profile")).toEqual({
      area: "dns",
      check: "dns.record-profile",
      status: "fail",
      code: "mismatch",
      message:
        'Resend\'s records for cnames.example.com have the "cname" shape (DKIM TXT resend._domainkey.cnames.example.com; ' +
        "SPF CNAME send.cnames.example.com; SPF CNAME rsend.cnames.example.com) but resendRecordProfile is " +
        '"classic", so pulumi up stops before writing any record',
      fix: "pulumi config set resendRecordProfile cname --stack dev (Resend picks the shape when it creates a domain; the setting follows it)",
    });
    expect(exitCode(report)).toBe(1);
    const spf = report.results.filter((r) => r.check === "dns.spf-cname");
    expect(spf.map((r) => [r.status, r.message])).toEqual([
      ["pass", "SPF CNAME send.cnames.example.com points to rp.us-east-1.resend-dns.com"],
      ["pass", "SPF CNAME rsend.cnames.example.com points to rrp.us-east-1.resend-dns.com"],
    ]);
    expect(find(report.results, "resend.domain").status).toBe("pass");
  });
});
