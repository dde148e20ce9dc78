import { describe, expect, it } from "vitest";
import { deployedAndPlayed, expectWholeLoop, TYPES } from "./local-cloud-harness";

describe("npm run sandbox on Route53: the program deployed into the local cloud, then the sign-up loop", () => {
  const deployed = deployedAndPlayed("route53");

  it("publishes Route53's record sets (unquoted TXT the provider quotes, MX with its preference)", async () => {
    const { deployment, facts } = deployed();
    const { sandbox, cloud } = deployment;
    expect(cloud.log.filter((r) => r.type === TYPES.cloudflareRecord)).toHaveLength(0);
    const spfMx = cloud.find(TYPES.route53Record, "sending-domain-spf-mx");
    expect(spfMx.state.records).toEqual(["10 feedback-smtp.us-east-1.amazonses.com"]);
    const served = sandbox.dns.records();
    const resendDkim = facts.domain.records.find((r) => r.record === "DKIM") as unknown as { value: string };
    // One record of character-strings, each within 255 bytes, that join back into Resend's value.
    const dkim = served.find((r) => r.name === "resend._domainkey.mail.example.com")?.values as string[][];
    expect(dkim).toHaveLength(1);
    expect(dkim[0]?.every((s) => Buffer.byteLength(s) <= 255)).toBe(true);
    expect(dkim[0]?.join("")).toBe(resendDkim.value);
    expect(served.find((r) => r.name === "send.mail.example.com" && r.type === "TXT")?.values).toEqual([
      ["v=spf1 include:amazonses.com ~all"],
    ]);
    expect(served.find((r) => r.name === "send.mail.example.com" && r.type === "MX")?.values).toEqual([
      { priority: 10, exchange: "feedback-smtp.us-east-1.amazonses.com" },
    ]);
    expect(facts.domain.records.every((r) => r.status === "verified")).toBe(true);
  });

  it("runs the whole loop: verified domain, webhooks at the bridge, cutover last, code delivered, bounce blocked", async () => {
    const { deployment, facts } = deployed();
    await expectWholeLoop(deployment, facts);
  });
});
