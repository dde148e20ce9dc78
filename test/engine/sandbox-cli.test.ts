import { expect, it } from "vitest";
import { describeWithEngine } from "../support/pulumi-engine";
import { sandboxCli } from "../support/sandbox-cli";

describeWithEngine("npm run sandbox with the Pulumi CLI", () => {
  it("deploys with the real engine, says so, and plays the scenario to the end", async () => {
    const { code, stdout, stderr } = await sandboxCli(["--engine", "pulumi", "--dns", "route53"]);
    expect(stderr).not.toMatch(/sandbox failed/);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^Engine: the Pulumi CLI v\d+\.\d+\.\d+ \(.*\.tools\/pulumi\/v[\d.]+\/bin\), local aws and cloudflare providers attached$/m,
    );
    // Each AWS and DNS resource as the local providers created it, then pulumi up's own summary.
    expect(stdout).toMatch(/^ {2}\+ aws:route53\/record:Record +sending-domain-dkim {2}\(dns, \d+ ms\)$/m);
    expect(stdout).toMatch(
      /^ {2}\+ aws:lambda\/functionUrl:FunctionUrl +bounce-bridge-url {2}\(aws, \d+ ms\)$/m,
    );
    expect(stdout).toMatch(/^Resources:\n {4}\+ 42 created\nDuration: /m);
    expect(stdout.trim().split("\n").at(-1)).toBe("The sandbox stack works end to end.");
  }, 300_000);
});
