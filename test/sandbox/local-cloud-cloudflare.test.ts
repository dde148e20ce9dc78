import { describe, expect, it } from "vitest";
import { deployedAndPlayed, expectWholeLoop, TYPES } from "./local-cloud-harness";

describe("npm run sandbox on Cloudflare: the program deployed into the local cloud, then the sign-up loop", () => {
  const deployed = deployedAndPlayed("cloudflare");

  it("publishes Cloudflare's records (full names, one quoted TXT string) so Resend verifies them", async () => {
    const { deployment, facts } = deployed();
    const { sandbox, cloud } = deployment;
    expect(cloud.log.filter((r) => r.type === TYPES.route53Record)).toHaveLength(0);
    const dkim = cloud.find(TYPES.cloudflareRecord, "sending-domain-dkim");
    expect(dkim.state.name).toBe("resend._domainkey.mail.example.com");
    expect(String(dkim.state.content)).toMatch(/^"p=[A-Za-z0-9+/=]+"$/);
    const served = sandbox.dns.records();
    const resendDkim = facts.domain.records.find((r) => r.record === "DKIM") as unknown as { value: string };
    expect(served.find((r) => r.name === "resend._domainkey.mail.example.com")?.values).toEqual([
      resendDkim.value,
    ]);
    expect(served.find((r) => r.name === "send.mail.example.com" && r.type === "TXT")?.values).toEqual([
      "v=spf1 include:amazonses.com ~all",
    ]);
    expect(served.find((r) => r.name === "send.mail.example.com" && r.type === "MX")?.values).toEqual([
      { priority: 10, exchange: "feedback-smtp.us-east-1.amazonses.com" },
    ]);
    expect(served.find((r) => r.name === "_dmarc.mail.example.com")?.values).toEqual([
      "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com;",
    ]);
    expect(facts.domain.records.every((r) => r.status === "verified")).toBe(true);
  });

  it("runs the whole loop: verified domain, webhooks at the bridge, cutover last, code delivered, bounce blocked", async () => {
    const { deployment, facts } = deployed();
    await expectWholeLoop(deployment, facts);
  });
});
