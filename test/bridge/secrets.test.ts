import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsJsonClient } from "../../src/bridge/aws/client";
import { SecretsError, ssmSecretSource } from "../../src/bridge/secrets";
import { StandInServer } from "../../src/sandbox/core/server";

/** A loopback SSM that speaks the AWS JSON 1.1 protocol for GetParameters, called by the bridge's SSM client. */
describe("ssmSecretSource through the signed-fetch SSM client", () => {
  const params: Record<string, string> = {
    "/bridge/resend": "re_live_secret",
    "/bridge/clerk": "sk_live_secret",
    "/bridge/clerk-wh": "whsec_AAAA whsec_BBBB",
    "/bridge/resend-wh": "whsec_CCCC\n",
  };
  const calls: Array<{ names: string[]; decrypt: boolean }> = [];
  const ssm = new StandInServer("ssm", {
    notFound: () => ({ status: 400, body: { __type: "UnknownOperationException" } }),
    badJson: () => ({ status: 400, body: { __type: "SerializationException" } }),
    contentType: "application/x-amz-json-1.1",
  });
  let client: AwsJsonClient;

  beforeAll(async () => {
    ssm.route("POST", "/", (req) => {
      const input = req.json() as { Names: string[]; WithDecryption: boolean };
      calls.push({ names: input.Names, decrypt: input.WithDecryption });
      return {
        status: 200,
        body: {
          Parameters: input.Names.filter((n) => n in params).map((n) => ({
            Name: n,
            Type: "SecureString",
            Value: params[n],
          })),
          InvalidParameters: input.Names.filter((n) => !(n in params)),
        },
      };
    });
    client = new AwsJsonClient("ssm", {
      endpoint: await ssm.listen(),
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
  });
  afterAll(() => ssm.close());

  it("reads all parameters in one decrypted call, splits rotation secrets, and caches", async () => {
    const source = ssmSecretSource(client, {
      resendApiKey: "/bridge/resend",
      clerkSecretKey: "/bridge/clerk",
      clerkWebhookSecret: "/bridge/clerk-wh",
      resendWebhookSecret: "/bridge/resend-wh",
    });
    const first = await source();
    const second = await source();
    expect(first).toEqual({
      resendApiKey: "re_live_secret",
      clerkSecretKey: "sk_live_secret",
      clerkWebhookSecrets: ["whsec_AAAA", "whsec_BBBB"],
      resendWebhookSecrets: ["whsec_CCCC"],
    });
    expect(second).toBe(first);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.decrypt).toBe(true);
  });

  it("names a missing parameter without revealing any value, and retries on the next call", async () => {
    const source = ssmSecretSource(client, {
      resendApiKey: "/bridge/missing",
      clerkSecretKey: "/bridge/clerk",
      clerkWebhookSecret: "",
      resendWebhookSecret: "",
    });
    const err = await source().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretsError);
    expect(String(err)).toContain("/bridge/missing");
    expect(String(err)).not.toContain("sk_live_secret");
    params["/bridge/missing"] = "re_late";
    expect((await source()).resendApiKey).toBe("re_late");
  });
});
