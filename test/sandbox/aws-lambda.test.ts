import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsSandboxEnvironment } from "../../src/sandbox/aws/env";
import {
  type FunctionUrl,
  LambdaInvocationError,
  type LocalLambda,
  type LocalLambdaOptions,
  startFunctionUrl,
  startLocalLambda,
} from "../../src/sandbox/aws/lambda";
import { type SsmStandIn, startSsmStandIn } from "../../src/sandbox/aws/ssm";
import { buildTestBundle, type TestBundle } from "../support/lambda-bundle";

const PROBE = `
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
let invocationsInThisEnvironment = 0;
// Read once per execution environment, as the bridge caches its secrets.
const coldStartVersion = process.env.SECRETS_VERSION ?? null;
export const handler = async (event, context) => {
  invocationsInThisEnvironment += 1;
  switch (event.action) {
    case "cached":
      return { coldStartVersion, invocationsInThisEnvironment };
    case "env":
      return {
        env: Object.fromEntries(event.names.map((n) => [n, process.env[n] ?? null])),
        context: {
          functionName: context.functionName,
          functionVersion: context.functionVersion,
          invokedFunctionArn: context.invokedFunctionArn,
          memoryLimitInMB: context.memoryLimitInMB,
          awsRequestId: context.awsRequestId,
          logGroupName: context.logGroupName,
          remaining: context.getRemainingTimeInMillis(),
        },
        invocationsInThisEnvironment,
      };
    case "sleep":
      await new Promise((r) => setTimeout(r, event.ms));
      return "woke";
    case "throw":
      throw new TypeError("recipient is not a string");
    case "crash":
      setTimeout(() => { throw new RangeError("escaped the handler"); }, 0);
      await new Promise((r) => setTimeout(r, 200));
      return "unreachable";
    case "log":
      console.log("processing", event.id);
      return null;
    case "ssm": {
      const ssm = new SSMClient({});
      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: event.name, WithDecryption: true }));
      return { length: Parameter.Value.length, startsWith: Parameter.Value.slice(0, 3) };
    }
    default:
      return undefined;
  }
};
`;

const HTTP = `
export const handler = async (event) => {
  switch (event.rawPath) {
    case "/echo": return { statusCode: 200, body: JSON.stringify(event) };
    case "/plain": return "hello (world)";
    case "/object": return { message: "hi" };
    case "/binary":
      return {
        statusCode: 201,
        headers: { "Content-Type": "application/octet-stream", "X-Custom": "yes" },
        cookies: ["a=1; Path=/", "b=2"],
        body: Buffer.from([0, 255, 1]).toString("base64"),
        isBase64Encoded: true,
      };
    case "/fail": throw new Error("boom");
    default: return { statusCode: 404, body: "" };
  }
};
`;

function httpRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string | string[]>; body?: Buffer | string } = {},
) {
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
  }>((resolve, reject) => {
    const req = request(url, { method: init.method ?? "GET", headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

describe("local Lambda runner", () => {
  let bundle: TestBundle;
  let ssm: SsmStandIn;
  const lambdas: LocalLambda[] = [];
  const start = async (...args: Parameters<typeof startLocalLambda>) => {
    const fn = await startLocalLambda(...args);
    lambdas.push(fn);
    return fn;
  };
  const probe = (name: string, overrides: Partial<LocalLambdaOptions> = {}) =>
    start({
      name,
      bundleFile: bundle.file("probe"),
      handler: "probe.handler",
      timeoutSeconds: 5,
      ...overrides,
    });

  beforeAll(async () => {
    bundle = await buildTestBundle({
      probe: PROBE,
      http: HTTP,
      release2: `export const handler = async () => "release 2";`,
    });
    ssm = await startSsmStandIn();
  });

  afterAll(async () => {
    await Promise.all(lambdas.map((l) => l.close()));
    await ssm?.close();
    await bundle?.remove();
  });

  it("gives each function exactly its own environment plus Lambda's reserved variables", async () => {
    process.env["HOST_ONLY_MARKER"] = "must-not-leak";
    const aws = awsSandboxEnvironment({ ssm: ssm.endpoint });
    const a = await probe("fn-a", {
      environment: { BRIDGE_FROM_NAME: "A", ONLY_A: "1" },
      memoryMb: 256,
      awsEnvironment: aws,
    });
    const b = await probe("fn-b", { environment: { BRIDGE_FROM_NAME: "B" }, awsEnvironment: aws });
    const names = [
      "BRIDGE_FROM_NAME",
      "ONLY_A",
      "HOST_ONLY_MARKER",
      "AWS_LAMBDA_FUNCTION_NAME",
      "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
      "AWS_REGION",
      "AWS_ENDPOINT_URL_SSM",
      "_HANDLER",
    ];
    const [ra, rb] = (await Promise.all([
      a.invoke({ action: "env", names }),
      b.invoke({ action: "env", names }),
    ])) as { env: Record<string, string | null>; context: Record<string, unknown> }[];
    delete process.env["HOST_ONLY_MARKER"];

    expect(ra!.env).toEqual({
      BRIDGE_FROM_NAME: "A",
      ONLY_A: "1",
      HOST_ONLY_MARKER: null,
      AWS_LAMBDA_FUNCTION_NAME: "fn-a",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "256",
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_SSM: ssm.endpoint,
      _HANDLER: "probe.handler",
    });
    expect(rb!.env).toMatchObject({ BRIDGE_FROM_NAME: "B", ONLY_A: null, AWS_LAMBDA_FUNCTION_NAME: "fn-b" });
    expect(ra!.context).toMatchObject({
      functionName: "fn-a",
      functionVersion: "$LATEST",
      invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:fn-a",
      memoryLimitInMB: "256",
      logGroupName: "/aws/lambda/fn-a",
    });
    expect(ra!.context["awsRequestId"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ra!.context["remaining"]).toBeGreaterThan(4000);
    expect(ra!.context["remaining"]).toBeLessThanOrEqual(5000);
  });

  it("resolves the runtime-provided AWS SDK and reaches stand-ins through AWS_ENDPOINT_URL_*", async () => {
    ssm.putParameter("/bridge/test/resend-api-key", "re_test_123456", "SecureString");
    const fn = await probe("fn-ssm", {
      timeoutSeconds: 10,
      awsEnvironment: awsSandboxEnvironment({ ssm: ssm.endpoint }),
    });
    expect(await fn.invoke({ action: "ssm", name: "/bridge/test/resend-api-key" })).toEqual({
      length: 14,
      startsWith: "re_",
    });
  });

  it("reuses a warm environment and cold-starts a new one for concurrent invocations", async () => {
    const fn = await probe("fn-warm");
    const first = (await fn.invoke({ action: "env", names: [] })) as { invocationsInThisEnvironment: number };
    const second = (await fn.invoke({ action: "env", names: [] })) as {
      invocationsInThisEnvironment: number;
    };
    expect([first.invocationsInThisEnvironment, second.invocationsInThisEnvironment]).toEqual([1, 2]);
    await Promise.all([fn.invoke({ action: "sleep", ms: 50 }), fn.invoke({ action: "sleep", ms: 50 })]);
    expect(fn.coldStarts).toBe(2);
  });

  it("retires warm environments on a configuration update, busy ones once their invocation ends", async () => {
    const fn = await probe("fn-update", { environment: { SECRETS_VERSION: "1" } });
    expect(await fn.invoke({ action: "cached" })).toEqual({
      coldStartVersion: "1",
      invocationsInThisEnvironment: 1,
    });
    expect(await fn.invoke({ action: "cached" })).toEqual({
      coldStartVersion: "1",
      invocationsInThisEnvironment: 2,
    });

    // One invocation is in flight (on the warm environment) while the configuration changes.
    const inFlight = fn.invoke({ action: "sleep", ms: 300 });
    await fn.update({ environment: { SECRETS_VERSION: "2" } });
    expect(fn.environment).toEqual({ SECRETS_VERSION: "2" });
    expect(await fn.invoke({ action: "cached" })).toEqual({
      coldStartVersion: "2",
      invocationsInThisEnvironment: 1,
    });
    expect(await inFlight).toBe("woke");
    // The environment that was busy during the update is not reused afterwards.
    const after = await Promise.all([fn.invoke({ action: "cached" }), fn.invoke({ action: "cached" })]);
    expect(after.map((r) => (r as { coldStartVersion: string }).coldStartVersion)).toEqual(["2", "2"]);
    expect(fn.coldStarts).toBe(3);
    expect(fn.updates).toBe(1);
  });

  it("refuses a configuration update AWS would refuse and keeps the warm environment", async () => {
    const fn = await probe("fn-bad-update", { environment: { SECRETS_VERSION: "1" } });
    await fn.invoke({ action: "cached" });
    await expect(fn.update({ environment: { AWS_REGION: "eu-west-1" } })).rejects.toThrow(
      /reserved keys AWS_REGION/,
    );
    await expect(fn.update({ timeoutSeconds: 901 })).rejects.toThrow(/timeoutSeconds/);
    expect(await fn.invoke({ action: "cached" })).toEqual({
      coldStartVersion: "1",
      invocationsInThisEnvironment: 2,
    });
    expect(fn.updates).toBe(0);
  });

  it("a code update runs the new bundle behind the same ARN; an invocation already running finishes", async () => {
    const fn = await probe("fn-code-update");
    expect(await fn.invoke({ action: "cached" })).toMatchObject({ invocationsInThisEnvironment: 1 });
    const running = fn.invoke({ action: "sleep", ms: 300 });
    await fn.update({ bundleFile: bundle.file("release2"), handler: "release2.handler" });
    expect(await fn.invoke({})).toBe("release 2");
    expect(await running).toBe("woke");
    expect(fn.arn).toBe("arn:aws:lambda:us-east-1:000000000000:function:fn-code-update");
    await expect(
      fn.update({ bundleFile: `${bundle.dir}/missing.mjs`, handler: "missing.handler" }),
    ).rejects.toThrow(/bundle file .*missing\.mjs does not exist/);
    expect(await fn.invoke({})).toBe("release 2");
    expect(fn.updates).toBe(1);
  });

  it("turns a thrown error into an invocation failure and keeps serving", async () => {
    const fn = await probe("fn-throw");
    const failure = await fn.invoke({ action: "throw" }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(LambdaInvocationError);
    expect(failure).toMatchObject({ errorType: "TypeError", errorMessage: "recipient is not a string" });
    expect(await fn.invoke({ action: "sleep", ms: 1 })).toBe("woke");
    expect(fn.coldStarts).toBe(1);
  });

  it("fails an error escaping the handler without crashing the host, then cold-starts", async () => {
    const fn = await probe("fn-crash");
    await expect(fn.invoke({ action: "crash" })).rejects.toMatchObject({
      errorType: "RangeError",
      errorMessage: "escaped the handler",
    });
    expect(await fn.invoke({ action: "sleep", ms: 1 })).toBe("woke");
    expect(fn.coldStarts).toBe(2);
  });

  it("enforces the timeout and discards the timed-out environment", async () => {
    const fn = await probe("fn-slow", { timeoutSeconds: 0.2 });
    const started = Date.now();
    await expect(fn.invoke({ action: "sleep", ms: 5_000 })).rejects.toMatchObject({
      errorType: "Sandbox.Timedout",
      errorMessage: "Task timed out after 0.20 seconds",
    });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(await fn.invoke({ action: "sleep", ms: 1 })).toBe("woke");
    expect(fn.coldStarts).toBe(2);
  });

  it("captures the function's log lines", async () => {
    const fn = await probe("fn-log");
    expect(await fn.invoke({ action: "log", id: "evt_42" })).toBeNull();
    await expect.poll(() => fn.logs.map((l) => l.line)).toContain("processing evt_42");
  });

  it("rejects configurations AWS would reject", async () => {
    const base = {
      name: "bad",
      bundleFile: bundle.file("probe"),
      handler: "probe.handler",
      timeoutSeconds: 3,
    };
    await expect(startLocalLambda({ ...base, handler: "ingest.handler" })).rejects.toThrow(/probe\.handler/);
    await expect(startLocalLambda({ ...base, environment: { AWS_REGION: "eu-west-1" } })).rejects.toThrow(
      /reserved keys AWS_REGION/,
    );
    await expect(
      startLocalLambda({ ...base, bundleFile: `${bundle.dir}/missing.mjs`, handler: "missing.handler" }),
    ).rejects.toThrow(/does not exist/);
    const noExport = await start({ ...base, name: "no-export", handler: "probe.nothing" });
    await expect(noExport.invoke({})).rejects.toMatchObject({ errorType: "Runtime.HandlerNotFound" });
  });
});

describe("Function URL", () => {
  let bundle: TestBundle;
  let fn: LocalLambda;
  let furl: FunctionUrl;

  beforeAll(async () => {
    bundle = await buildTestBundle({ http: HTTP });
    fn = await startLocalLambda({
      name: "ingest",
      bundleFile: bundle.file("http"),
      handler: "http.handler",
      timeoutSeconds: 5,
    });
    furl = await startFunctionUrl(fn);
  });

  afterAll(async () => {
    await furl?.close();
    await fn?.close();
    await bundle?.remove();
  });

  it("delivers a JSON request as a payload 2.0 event with a text body", async () => {
    const body = '{"type":"email.created","data":{"id":"ema_1"}}';
    const res = await httpRequest(`${furl.url}echo?b=2&a=1&a=3`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "Svix-Id": "msg_1",
        "User-Agent": "Svix-Webhooks/1.0",
        Cookie: "session=abc; theme=dark",
        "X-Multi": ["one", "two"],
      },
      body,
    });
    expect(res.status).toBe(200);
    const event = JSON.parse(res.body.toString("utf8"));
    expect(Object.keys(event).sort()).toEqual(
      [
        "version",
        "routeKey",
        "rawPath",
        "rawQueryString",
        "cookies",
        "headers",
        "queryStringParameters",
        "requestContext",
        "body",
        "isBase64Encoded",
      ].sort(),
    );
    expect(event).toMatchObject({
      version: "2.0",
      routeKey: "$default",
      rawPath: "/echo",
      rawQueryString: "b=2&a=1&a=3",
      cookies: ["session=abc", "theme=dark"],
      queryStringParameters: { a: "1,3", b: "2" },
      body,
      isBase64Encoded: false,
    });
    expect(event.headers).toMatchObject({
      "content-type": "application/json",
      "svix-id": "msg_1",
      "user-agent": "Svix-Webhooks/1.0",
      "x-multi": "one,two",
      "x-forwarded-proto": "http",
    });
    expect(event.headers["cookie"]).toBeUndefined();
    expect(Object.keys(event.headers).every((h: string) => h === h.toLowerCase())).toBe(true);
    expect(event.requestContext).toMatchObject({
      accountId: "anonymous",
      apiId: furl.urlId,
      domainName: `${furl.urlId}.lambda-url.us-east-1.on.aws`,
      domainPrefix: furl.urlId,
      http: {
        method: "POST",
        path: "/echo",
        protocol: "HTTP/1.1",
        sourceIp: "127.0.0.1",
        userAgent: "Svix-Webhooks/1.0",
      },
      routeKey: "$default",
      stage: "$default",
    });
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(5_000);
  });

  it("base64-encodes a body whose content type is not text, and omits body and query when absent", async () => {
    const raw = Buffer.from([0, 1, 2, 250]);
    const binary = JSON.parse(
      (
        await httpRequest(`${furl.url}echo`, {
          method: "POST",
          headers: { "content-type": "application/octet-stream" },
          body: raw,
        })
      ).body.toString(),
    );
    expect(binary).toMatchObject({ isBase64Encoded: true, body: raw.toString("base64"), rawQueryString: "" });
    expect(binary.queryStringParameters).toBeUndefined();

    const untyped = JSON.parse(
      (await httpRequest(`${furl.url}echo`, { method: "POST", body: "plain words" })).body.toString(),
    );
    expect(untyped).toMatchObject({
      isBase64Encoded: true,
      body: Buffer.from("plain words").toString("base64"),
    });

    const empty = JSON.parse((await httpRequest(`${furl.url}echo`)).body.toString());
    expect(empty.body).toBeUndefined();
    expect(empty.isBase64Encoded).toBe(false);
    expect(empty.cookies).toBeUndefined();
  });

  it("maps structured, bare-string and bare-object results to HTTP as Function URLs do", async () => {
    const binary = await httpRequest(`${furl.url}binary`);
    expect(binary.status).toBe(201);
    expect(binary.headers["content-type"]).toBe("application/octet-stream");
    expect(binary.headers["x-custom"]).toBe("yes");
    expect(binary.headers["set-cookie"]).toEqual(["a=1; Path=/", "b=2"]);
    expect([...binary.body]).toEqual([0, 255, 1]);

    const plain = await httpRequest(`${furl.url}plain`);
    expect([plain.status, plain.headers["content-type"], plain.body.toString()]).toEqual([
      200,
      "application/json",
      "hello (world)",
    ]);
    const object = await httpRequest(`${furl.url}object`);
    expect([object.status, JSON.parse(object.body.toString())]).toEqual([200, { message: "hi" }]);
  });

  it("answers 502 when the function fails", async () => {
    const res = await httpRequest(`${furl.url}fail`, { method: "POST" });
    expect(res.status).toBe(502);
    expect(res.body.toString()).not.toContain("boom");
  });
});
