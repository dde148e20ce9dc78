import { createClerkClient } from "@clerk/backend";
import { Resend } from "resend";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../src/sandbox";

describe("startSandbox", () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ timeScale: 0.0001, resendRateLimitPerSecond: 1000 });
  });
  afterAll(() => sandbox?.close());

  it("wires Resend's verification to the DNS stand-in: records written there verify the domain", async () => {
    const resend = new Resend(sandbox.environment.RESEND_API_KEY, {
      baseUrl: sandbox.environment.RESEND_BASE_URL,
    });
    const created = await resend.domains.create({ name: "mail.example.com" });
    expect(created.error).toBeNull();
    const records = created.data!.records;
    for (const r of records) {
      const name = `${r.name}.example.com`;
      if (r.type === "MX") {
        sandbox.dns.upsert({ name, type: "MX", values: [{ priority: r.priority ?? 10, exchange: r.value }] });
      } else if (r.type === "TXT") {
        sandbox.dns.upsert({ name, type: "TXT", values: [[r.value.replace(/^"|"$/g, "")]] });
      }
    }
    await resend.domains.verify(created.data!.id);
    await sandbox.resend.settle();
    const got = await resend.domains.get(created.data!.id);
    expect(got.data?.status).toBe("verified");
  });

  it("exposes the Clerk stand-in to the official SDK with the advertised key", async () => {
    const clerk = createClerkClient({
      secretKey: sandbox.environment.CLERK_SECRET_KEY!,
      apiUrl: sandbox.environment.CLERK_API_URL,
    });
    sandbox.clerk.instance.createUser({ emailAddress: "someone@example.org" });
    const list = await clerk.users.getUserList({ emailAddress: ["someone@example.org"] });
    expect(list.totalCount).toBe(1);
    expect(list.data[0]?.primaryEmailAddress?.emailAddress).toBe("someone@example.org");
  });

  it("points the AWS SDK at local SQS, SSM and DynamoDB through the standard endpoint variables", () => {
    expect(sandbox.environment.AWS_ENDPOINT_URL_SQS).toBe(sandbox.aws.sqs.endpoint);
    expect(sandbox.environment.AWS_ENDPOINT_URL_SSM).toBe(sandbox.aws.ssm.endpoint);
    expect(sandbox.environment.AWS_ENDPOINT_URL_DYNAMODB).toBe(sandbox.aws.dynamodb.endpoint);
  });
});
