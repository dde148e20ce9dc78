import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  ParameterVersionNotFound,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sandboxClientConfig } from "../../src/sandbox/aws/env";
import { type SsmStandIn, startSsmStandIn } from "../../src/sandbox/aws/ssm";

describe("SSM Parameter Store stand-in through @aws-sdk/client-ssm", () => {
  let ssm: SsmStandIn;
  let client: SSMClient;
  const secret = "re_live_9f8e7d6c5b4a";

  beforeAll(async () => {
    ssm = await startSsmStandIn();
    client = new SSMClient(sandboxClientConfig(ssm.endpoint));
  });

  afterAll(async () => {
    client?.destroy();
    await ssm?.close();
  });

  it("returns a SecureString in plain text only WithDecryption", async () => {
    const put = await client.send(
      new PutParameterCommand({ Name: "/bridge/dev/resend-api-key", Value: secret, Type: "SecureString" }),
    );
    expect(put.Version).toBe(1);

    const decrypted = await client.send(
      new GetParameterCommand({ Name: "/bridge/dev/resend-api-key", WithDecryption: true }),
    );
    expect(decrypted.Parameter).toMatchObject({
      Name: "/bridge/dev/resend-api-key",
      Type: "SecureString",
      Value: secret,
      Version: 1,
      ARN: "arn:aws:ssm:us-east-1:000000000000:parameter/bridge/dev/resend-api-key",
    });
    expect(decrypted.Parameter?.LastModifiedDate).toBeInstanceOf(Date);

    const sealed = await client.send(new GetParameterCommand({ Name: "/bridge/dev/resend-api-key" }));
    expect(sealed.Parameter?.Value).toMatch(/^AQICAH/);
    expect(sealed.Parameter?.Value).not.toContain(secret);
  });

  it("returns String parameters as they are, with or without decryption", async () => {
    await client.send(new PutParameterCommand({ Name: "plain-setting", Value: "v1", Type: "String" }));
    const { Parameter } = await client.send(new GetParameterCommand({ Name: "plain-setting" }));
    expect(Parameter?.Value).toBe("v1");
    expect(Parameter?.ARN).toBe("arn:aws:ssm:us-east-1:000000000000:parameter/plain-setting");
  });

  it("versions overwrites, refuses silent overwrites, and serves name:version selectors", async () => {
    const name = "/bridge/dev/clerk-webhook-secret";
    await client.send(new PutParameterCommand({ Name: name, Value: "whsec_old", Type: "SecureString" }));
    await expect(
      client.send(new PutParameterCommand({ Name: name, Value: "whsec_new", Type: "SecureString" })),
    ).rejects.toBeInstanceOf(ParameterAlreadyExists);
    const second = await client.send(
      new PutParameterCommand({
        Name: name,
        Value: "whsec_old whsec_new",
        Type: "SecureString",
        Overwrite: true,
      }),
    );
    expect(second.Version).toBe(2);

    const latest = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    expect(latest.Parameter?.Value).toBe("whsec_old whsec_new");
    const first = await client.send(new GetParameterCommand({ Name: `${name}:1`, WithDecryption: true }));
    expect(first.Parameter).toMatchObject({ Value: "whsec_old", Version: 1, Selector: ":1" });
    await expect(client.send(new GetParameterCommand({ Name: `${name}:9` }))).rejects.toBeInstanceOf(
      ParameterVersionNotFound,
    );
  });

  it("splits GetParameters into found and invalid names", async () => {
    await client.send(new PutParameterCommand({ Name: "/multi/a", Value: "A", Type: "SecureString" }));
    const { Parameters, InvalidParameters } = await client.send(
      new GetParametersCommand({ Names: ["/multi/a", "/multi/missing"], WithDecryption: true }),
    );
    expect(Parameters?.map((p) => [p.Name, p.Value])).toEqual([["/multi/a", "A"]]);
    expect(InvalidParameters).toEqual(["/multi/missing"]);
  });

  it("raises ParameterNotFound for missing and deleted parameters", async () => {
    await expect(client.send(new GetParameterCommand({ Name: "/nope" }))).rejects.toBeInstanceOf(
      ParameterNotFound,
    );
    await client.send(new PutParameterCommand({ Name: "/to-delete", Value: "x", Type: "String" }));
    await client.send(new DeleteParameterCommand({ Name: "/to-delete" }));
    await expect(client.send(new GetParameterCommand({ Name: "/to-delete" }))).rejects.toBeInstanceOf(
      ParameterNotFound,
    );
    await expect(client.send(new DeleteParameterCommand({ Name: "/to-delete" }))).rejects.toBeInstanceOf(
      ParameterNotFound,
    );
  });

  it("validates names the way Parameter Store does", async () => {
    await expect(
      client.send(new PutParameterCommand({ Name: "bridge/no-leading-slash", Value: "x", Type: "String" })),
    ).rejects.toMatchObject({
      name: "ValidationException",
      message: expect.stringContaining("start with /"),
    });
    await expect(
      client.send(new PutParameterCommand({ Name: "/aws/reserved", Value: "x", Type: "String" })),
    ).rejects.toMatchObject({ name: "ValidationException" });
  });

  it("keeps secret values out of the request log and out of inspection", async () => {
    const logged = JSON.stringify(ssm.server.requests);
    expect(logged).toContain("/bridge/dev/resend-api-key");
    expect(logged).not.toContain(secret);
    expect(logged).not.toContain("whsec_old");
    expect(JSON.stringify(ssm.parameters())).not.toContain(secret);
    expect(ssm.parameters().find((p) => p.name === "/bridge/dev/clerk-webhook-secret")?.version).toBe(2);
  });
});
