import { describe, expect, it } from "vitest";
import type { Sandbox } from "../../src/sandbox";
import {
  type DnsChoice,
  deploy,
  deployedAndPlayed,
  expectWholeLoop,
  failedDeployment,
  resendGet,
  TYPES,
} from "./local-cloud-harness";

type ApiRecord = { record: string; type: string; name: string; value: string; status: string };

/** The domain's records as Resend lists them now, with FQDNs (the sandbox zone is example.com). */
async function resendRecords(sandbox: Sandbox, domainId: unknown): Promise<(ApiRecord & { fqdn: string })[]> {
  const body = (await resendGet(sandbox, `/domains/${domainId}`)) as { records: ApiRecord[] };
  return body.records.map((r) => ({ ...r, fqdn: `${r.name}.example.com` }));
}

/** What the DNS stand-in serves at a name, by type. */
function servedAt(sandbox: Sandbox, name: string): Record<string, unknown> {
  return Object.fromEntries(
    sandbox.dns.records().flatMap((r) => (r.name === name ? [[r.type, r.values]] : [])),
  );
}

const RETURN_PATH_CNAMES = {
  "send.mail.example.com": { CNAME: ["rp.us-east-1.resend-dns.com"] },
  "rsend.mail.example.com": { CNAME: ["rrp.us-east-1.resend-dns.com"] },
};

describe.each<[DnsChoice, Record<string, unknown>, Record<string, unknown>]>([
  [
    "cloudflare",
    {
      type: "CNAME",
      content: "rp.us-east-1.resend-dns.com",
      proxied: false,
      settings: { flattenCname: false },
    },
    {
      type: "CNAME",
      content: "rrp.us-east-1.resend-dns.com",
      proxied: false,
      settings: { flattenCname: false },
    },
  ],
  [
    "route53",
    { type: "CNAME", records: ["rp.us-east-1.resend-dns.com"] },
    { type: "CNAME", records: ["rrp.us-east-1.resend-dns.com"] },
  ],
])("the cname profile on %s, deployed into the local cloud, then the sign-up loop", (dns, spfMx, spfTxt) => {
  const deployed = deployedAndPlayed(dns, { declared: "cname" });
  const recordType = dns === "cloudflare" ? TYPES.cloudflareRecord : TYPES.route53Record;

  it("writes the return-path CNAME pair in the adapter's encoding, and Resend verifies every record", async () => {
    const { deployment, facts } = deployed();
    const { sandbox, cloud } = deployment;
    expect(cloud.find(recordType, "sending-domain-spf-mx").state).toMatchObject(spfMx);
    expect(cloud.find(recordType, "sending-domain-spf-txt").state).toMatchObject(spfTxt);
    for (const [name, served] of Object.entries(RETURN_PATH_CNAMES)) {
      expect(servedAt(sandbox, name), name).toEqual(served);
    }
    expect(Object.keys(servedAt(sandbox, "resend._domainkey.mail.example.com"))).toEqual(["TXT"]);
    expect(facts.domain.records.map((r) => `${r.record} ${r.type} ${r.status}`)).toEqual([
      "DKIM TXT verified",
      "SPF CNAME verified",
      "SPF CNAME verified",
    ]);
  });

  it("runs the whole loop: verified domain, webhooks at the bridge, cutover last, code delivered, bounce blocked", async () => {
    const { deployment, facts } = deployed();
    await expectWholeLoop(deployment, facts);
  });
});

describe("CNAME-form DKIM: the selectors Resend picked, written by each adapter", () => {
  it.each<[DnsChoice, "classic-dkim-cname" | "cname-dkim-cname"]>([
    ["route53", "cname-dkim-cname"],
    ["cloudflare", "classic-dkim-cname"],
  ])(
    "%s with %s: three DKIM CNAMEs at Resend's names, and the gate passes",
    async (dns, profile) => {
      const deployment = await deploy(dns, undefined, { declared: profile });
      try {
        const { sandbox, outputs } = deployment;
        expect(outputs.domainStatus).toBe("verified");
        const dkim = (await resendRecords(sandbox, outputs.domainId)).filter((r) => r.record === "DKIM");
        expect(dkim).toHaveLength(3);
        for (const record of dkim) {
          expect(record.status).toBe("verified");
          expect(servedAt(sandbox, record.fqdn)).toEqual({ CNAME: [record.value.replace(/\.$/, "")] });
        }
        const written = (outputs.dnsRecords as { name: string; type: string }[]).filter((r) =>
          r.name.includes("._domainkey."),
        );
        expect(written.map((r) => `${r.type} ${r.name}`)).toEqual(dkim.map((r) => `CNAME ${r.fqdn}`).sort());
      } finally {
        await deployment.close();
      }
    },
    90_000,
  );
});

describe("a stack whose profile is not the shape Resend issued", () => {
  it("stops after creating the domain, before any DNS record, naming the setting; Clerk keeps delivering", async () => {
    const { error, sandbox, realizedTypes } = await failedDeployment(
      "cloudflare",
      (_type, _name, inputs) => inputs,
      {
        issued: "cname",
        declared: "classic",
      },
    );
    try {
      expect(error.message).toMatch(/have the "cname" shape, but resendRecordProfile is "classic"/);
      expect(error.message).toContain("fix: pulumi config set resendRecordProfile cname --stack sandbox");
      expect(realizedTypes).toContain(TYPES.domain);
      expect(realizedTypes).not.toContain(TYPES.cloudflareRecord);
      expect(realizedTypes).not.toContain(TYPES.gate);
      expect(sandbox.dns.records().filter((r) => r.name.endsWith("mail.example.com"))).toEqual([]);
      expect(sandbox.clerk.instance.templates.email("verification_code").deliveredByClerk).toBe(true);
    } finally {
      await sandbox.close();
    }
  }, 60_000);

  it("a flattened return-path CNAME answers an address, so the gate fails on it", async () => {
    const { error, sandbox, realizedTypes } = await failedDeployment(
      "cloudflare",
      (type, name, inputs) =>
        type === TYPES.cloudflareRecord && name === "sending-domain-spf-txt"
          ? { ...inputs, settings: { flattenCname: true } }
          : inputs,
      { declared: "cname" },
    );
    try {
      expect(error.message).toMatch(
        /could not verify mail\.example\.com \(status failed\).*SPF CNAME rsend\.mail/,
      );
      expect(servedAt(sandbox, "rsend.mail.example.com")).toEqual({ A: ["192.0.2.53"] });
      expect(realizedTypes).not.toContain(TYPES.delivery);
    } finally {
      await sandbox.close();
    }
  }, 60_000);
});
