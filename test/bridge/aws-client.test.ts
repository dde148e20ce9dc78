import { createHash, createHmac } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AwsError, AwsJsonClient } from "../../src/bridge/aws/client";
import { sandboxClientConfig } from "../../src/sandbox/aws/env";
import { AwsServiceError, createAwsJsonServer } from "../../src/sandbox/aws/json-protocol";
import { startSsmStandIn } from "../../src/sandbox/aws/ssm";
import { type StandInRequest, StandInServer } from "../../src/sandbox/core/server";

const noWait = { sleep: async () => undefined };

/** node:crypto in the shape the SDK's signer wants (`new Sha256(secret?)`), so it checks our signatures. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

describe("AwsJsonClient signing", () => {
  const seen: StandInRequest[] = [];
  const server = new StandInServer("aws", {
    notFound: () => ({ status: 404 }),
    badJson: () => ({ status: 400 }),
  }).route("POST", "/", (req) => {
    seen.push(req);
    return { status: 200, body: { ok: true } };
  });
  let endpoint: string;
  beforeAll(async () => {
    endpoint = await server.listen();
  });
  afterAll(() => server.close());

  it("sends a SigV4 signature the AWS SDK's own signer reproduces, with the session token and target", async () => {
    const credentials = {
      accessKeyId: "AKIDEXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG",
      sessionToken: "tok",
    };
    const client = new AwsJsonClient("dynamodb", { endpoint, region: "eu-west-1", credentials });
    expect(await client.call("GetItem", { TableName: "t", Key: { pk: { S: "a b/ü" } } })).toEqual({
      ok: true,
    });

    const req = seen.at(-1)!;
    expect(req.headers["x-amz-target"]).toBe("DynamoDB_20120810.GetItem");
    expect(req.headers["content-type"]).toBe("application/x-amz-json-1.0");
    expect(req.headers["x-amz-security-token"]).toBe("tok");
    expect(req.headers["x-amz-content-sha256"]).toBe(createHash("sha256").update(req.rawBody).digest("hex"));
    const authorization = String(req.headers.authorization);
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(";") ?? [];
    expect(signedHeaders).toEqual(expect.arrayContaining(["host", "x-amz-date", "x-amz-target"]));
    expect(authorization).toContain(
      `Credential=AKIDEXAMPLE/${String(req.headers["x-amz-date"]).slice(0, 8)}/eu-west-1/dynamodb/aws4_request`,
    );

    // Re-sign what arrived (the signed headers and the raw body) with the SDK's signer at the same instant.
    const date = String(req.headers["x-amz-date"]);
    const signingDate = new Date(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    );
    const url = new URL(endpoint);
    const headers = Object.fromEntries(signedHeaders.map((h) => [h, String(req.headers[h])]));
    const reference = await new SignatureV4({
      service: "dynamodb",
      region: "eu-west-1",
      credentials,
      sha256: NodeSha256,
      applyChecksum: false,
    }).sign(
      {
        method: "POST",
        protocol: "http:",
        hostname: url.hostname,
        port: Number(url.port),
        path: "/",
        query: {},
        headers,
        body: req.rawBody.toString("utf8"),
      },
      { signingDate },
    );
    const expected = /Signature=([0-9a-f]{64})/.exec(String(reference.headers.authorization))?.[1];
    expect(expected).toBeDefined();
    expect(authorization).toContain(`Signature=${expected}`);
  });

  it("finds the endpoint and credentials in the Lambda environment, the service-specific variable first", async () => {
    const env = {
      AWS_REGION: "eu-central-1",
      AWS_ACCESS_KEY_ID: "AKID",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_ENDPOINT_URL: "http://127.0.0.1:9",
      AWS_ENDPOINT_URL_SQS: `${endpoint}/`,
    };
    const sqs = new AwsJsonClient("sqs", { env });
    expect(sqs.endpoint).toBe(endpoint);
    await sqs.call("SendMessage", { QueueUrl: "q", MessageBody: "{}" });
    expect(seen.at(-1)?.headers["x-amz-target"]).toBe("AmazonSQS.SendMessage");
    expect(seen.at(-1)?.headers["x-amzn-query-mode"]).toBe("true");
    expect(seen.at(-1)?.headers["x-amz-security-token"]).toBeUndefined();

    expect(new AwsJsonClient("ssm", { env }).endpoint).toBe("http://127.0.0.1:9");
    const real = new AwsJsonClient("ssm", {
      env: { ...env, AWS_ENDPOINT_URL: "", AWS_ENDPOINT_URL_SQS: "" },
    });
    expect(real.endpoint).toBe("https://ssm.eu-central-1.amazonaws.com");
    expect(real.service.jsonVersion).toBe("1.1");
  });

  it("names the missing credential variables without calling anything", async () => {
    const before = seen.length;
    const client = new AwsJsonClient("ssm", {
      env: { AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_SSM: endpoint },
    });
    const err = await client.call("GetParameters", { Names: ["/x"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsError);
    expect(String(err)).toContain("AWS_ACCESS_KEY_ID");
    expect(seen.length).toBe(before);
  });
});

describe("AwsJsonClient errors and retries", () => {
  let calls = 0;
  let failWith: AwsServiceError | undefined;
  const server = createAwsJsonServer({
    name: "SQS",
    namespace: "com.amazonaws.sqs",
    targetPrefix: "AmazonSQS",
    jsonVersion: "1.0",
    operations: {
      SendMessage: () => {
        calls++;
        if (failWith) throw failWith;
        return { MessageId: `m${calls}` };
      },
    },
  });
  let client: AwsJsonClient;
  beforeAll(async () => {
    client = new AwsJsonClient("sqs", {
      ...sandboxClientConfig(await server.listen()),
      ...noWait,
      timeoutMs: 150,
    });
  });
  afterEach(() => {
    calls = 0;
    failWith = undefined;
    server.faults.clear();
  });
  afterAll(() => server.close());

  const send = () => client.call<{ MessageId: string }>("SendMessage", { QueueUrl: "q", MessageBody: "x" });

  it("maps __type and the query-compatible error header to a named error, and does not retry a client error", async () => {
    failWith = new AwsServiceError(
      "QueueDoesNotExist",
      "The specified queue does not exist.",
      400,
      "AWS.SimpleQueueService.NonExistentQueue",
    );
    const err = (await send().catch((e: unknown) => e)) as AwsError;
    expect(err).toBeInstanceOf(AwsError);
    expect(err.name).toBe("QueueDoesNotExist");
    expect(err.code).toBe("AWS.SimpleQueueService.NonExistentQueue");
    expect(err.status).toBe(400);
    expect(err.requestId).toBeTruthy();
    expect(err.message).toContain("sqs SendMessage failed with QueueDoesNotExist (HTTP 400)");
    expect(calls).toBe(1);
  });

  it("retries throttling (400 ThrottlingException and 429), 5xx and dropped connections, then succeeds", async () => {
    server.faults.add({ kind: "rate_limit", count: 1 });
    server.faults.add({ kind: "status", status: 503, count: 1 });
    expect((await send()).MessageId).toBe("m1");
    server.faults.add({ kind: "drop", count: 1 });
    expect((await send()).MessageId).toBe("m2");
    failWith = new AwsServiceError("ThrottlingException", "Rate exceeded", 400);
    const err = (await send().catch((e: unknown) => e)) as AwsError;
    expect(err.name).toBe("ThrottlingException");
    expect(err.retryable).toBe(true);
    expect(calls).toBe(5); // the two successes plus three throttled attempts: the policy's bound
  });

  it("times out an unanswered attempt and retries it", async () => {
    server.faults.add({ kind: "latency", ms: 500, count: 1 });
    const started = Date.now();
    expect((await send()).MessageId).toBe("m1");
    expect(Date.now() - started).toBeLessThan(450);

    server.faults.add({ kind: "latency", ms: 500, count: 3 });
    const err = (await send().catch((e: unknown) => e)) as AwsError;
    expect(err.name).toBe("TimeoutError");
    expect(err.message).toContain("within 150 ms");
  });

  it("fits attempts and retries inside a deadline, and attempts nothing once it has passed", async () => {
    // An endpoint that accepts requests and never answers, counting them as they arrive.
    let arrivals = 0;
    const silent = createServer(() => {
      arrivals++;
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const patient = new AwsJsonClient("sqs", {
        ...sandboxClientConfig(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`),
        ...noWait,
        timeoutMs: 300,
      });
      const sendBy = (deadlineAt: number) =>
        patient
          .call("SendMessage", { QueueUrl: "q", MessageBody: "x" }, { deadlineAt })
          .catch((e: unknown) => e as AwsError);
      const started = Date.now();
      const err = await sendBy(started + 700);
      const took = Date.now() - started;
      // 300 ms, a retry with 400 ms left, cut at 300 ms; then only 100 ms left: no third attempt.
      expect(err.name).toBe("TimeoutError");
      expect(took).toBeGreaterThanOrEqual(550);
      // The deadline, give or take a busy machine's late timers.
      expect(took).toBeLessThan(800);
      expect(arrivals).toBe(2);

      const late = await sendBy(Date.now() - 1);
      expect(late.name).toBe("DeadlineExceeded");
      expect(late.retryable).toBe(false);
      expect(arrivals).toBe(2);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe("AwsJsonClient against the SSM stand-in", () => {
  it("reads a SecureString with decryption and names a missing parameter ParameterNotFound", async () => {
    const ssm = await startSsmStandIn();
    try {
      ssm.putParameter("/bridge/key", "re_value");
      const client = new AwsJsonClient("ssm", { ...sandboxClientConfig(ssm.endpoint), ...noWait });
      const out = await client.call<{ Parameter: { Value: string } }>("GetParameter", {
        Name: "/bridge/key",
        WithDecryption: true,
      });
      expect(out.Parameter.Value).toBe("re_value");
      const err = (await client
        .call("GetParameter", { Name: "/bridge/none" })
        .catch((e: unknown) => e)) as AwsError;
      expect(err).toBeInstanceOf(AwsError);
      expect(err.name).toBe("ParameterNotFound");
      expect(err.retryable).toBe(false);
      expect(err.message).not.toContain("re_value");
    } finally {
      await ssm.close();
    }
  });
});
