import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../src/sandbox";
import { LocalCloudControl } from "../../src/sandbox/local-cloud/control";

const FUNCTION = "aws:lambda/function:Function";
const URL_TYPE = "aws:lambda/functionUrl:FunctionUrl";

/** A function's inputs as the engine hands them over: code as an archive of one text asset. */
const functionInputs = (release: string) => ({
  name: "greeter-1234567",
  runtime: "nodejs24.x",
  handler: "app.handler",
  timeout: 3,
  memorySize: 128,
  environment: { variables: { RELEASE: release } },
  code: {
    assets: {
      "app.mjs": {
        text: 'export const handler = async () => ({ statusCode: 200, body: "code " + process.env.RELEASE });',
      },
    },
  },
});

describe("the local cloud's control plane: updates and deletes as AWS does them", () => {
  let sandbox: Sandbox;
  let control: LocalCloudControl;

  beforeAll(async () => {
    sandbox = await startSandbox();
    control = await LocalCloudControl.create({ sandbox });
  });
  afterAll(async () => {
    await control?.close();
    await sandbox?.close();
  });

  it("a function's new code answers behind the same URL; deletes take the URL and the function away", async () => {
    const fn = await control.create(FUNCTION, "greeter", functionInputs("one"));
    const url = await control.create(URL_TYPE, "greeter-url", {
      functionName: fn.realized.id,
      authorizationType: "NONE",
    });
    const address = String(url.realized.state.functionUrl);
    expect(await (await fetch(address)).text()).toBe("code one");

    const updated = await control.update(FUNCTION, "greeter", fn.realized.id, functionInputs("two"));
    expect(updated.id).toBe(fn.realized.id);
    expect(await (await fetch(address)).text()).toBe("code two");

    await control.delete(URL_TYPE, url.realized.id);
    await expect(fetch(address)).rejects.toThrow();
    expect(await control.exists(URL_TYPE, url.realized.id)).toBe(false);
    await control.delete(FUNCTION, fn.realized.id);
    expect(await control.exists(FUNCTION, fn.realized.id)).toBe(false);
  });

  it("queues, parameters and tables exist until deleted; recorded resources likewise", async () => {
    const queue = await control.create("aws:sqs/queue:Queue", "jobs", { name: "jobs-7654321" });
    const parameter = await control.create("aws:ssm/parameter:Parameter", "key", {
      name: "/app/key",
      type: "SecureString",
      value: "re_one",
    });
    const table = await control.create("aws:dynamodb/table:Table", "ledger", {
      name: "ledger-1111111",
      hashKey: "pk",
      attributes: [{ name: "pk", type: "S" }],
      billingMode: "PAY_PER_REQUEST",
    });
    const role = await control.create("aws:iam/role:Role", "role", { name: "role-2222222" });
    const created = [
      ["aws:sqs/queue:Queue", queue.realized.id],
      ["aws:ssm/parameter:Parameter", parameter.realized.id],
      ["aws:dynamodb/table:Table", table.realized.id],
      ["aws:iam/role:Role", role.realized.id],
    ] as const;
    for (const [type, id] of created) expect(await control.exists(type, id), type).toBe(true);

    await control.update("aws:ssm/parameter:Parameter", "key", parameter.realized.id, {
      name: "/app/key",
      type: "SecureString",
      value: "re_two",
    });
    expect(sandbox.aws.ssm.parameters().find((p) => p.name === "/app/key")?.version).toBe(2);

    for (const [type, id] of created) await control.delete(type, id);
    for (const [type, id] of created) expect(await control.exists(type, id), type).toBe(false);
  });
});
