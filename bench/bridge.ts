import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { build } from "esbuild";
import { Resend } from "resend";
import { AwsJsonClient } from "../src/bridge/aws/client";
import { DynamoDb } from "../src/bridge/aws/dynamodb";
import { bundleBridge } from "../src/bridge/bundle";
import { createIngestHandler, type IngestDeps } from "../src/bridge/ingest";
import { startLocalBridge } from "../src/bridge/local";
import { SqsJobQueue } from "../src/bridge/queue";
import { staticSecretSource } from "../src/bridge/secrets";
import { webhookAuthFrom } from "../src/bridge/signature";
import { BridgeStore } from "../src/bridge/store";
import { createTelemetry } from "../src/bridge/telemetry";
import { sandboxClientConfig } from "../src/sandbox/aws/env";
import { newSigningSecret, prefixedId } from "../src/sandbox/core/ids";
import { svixHeaders } from "../src/sandbox/core/svix-dispatcher";
import { startResendStandIn } from "../src/sandbox/resend";
import { startAwsServersInChild } from "./aws-servers";

/** One benchmark figure: a ratio measured in one run, with the numbers behind it and how to reproduce it. */
export interface Figure {
  name: string;
  ratio: number;
  target?: string;
  detail: string;
  command: string;
}

export const BENCH_DIR = join(__dirname, "..", "dist", "bench");
export const COMMAND = "npm run bench";

export const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? Number.NaN;
export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** A Clerk `email.created` of about 2 KB, the size the ingest CPU figure is defined for. */
export function emailCreated(to: string): string {
  const html = `<html><body><p>Your verification code is 123456.</p>${"<p>Acme ".repeat(150)}</p></body></html>`;
  return JSON.stringify({
    object: "event",
    type: "email.created",
    timestamp: Date.now(),
    instance_id: "ins_bench",
    event_attributes: { http_request: { client_ip: "127.0.0.1", user_agent: "bench" } },
    data: {
      object: "email",
      id: prefixedId("ema"),
      slug: "verification_code",
      from_email_name: "notifications",
      to_email_address: to,
      email_address_id: prefixedId("idn"),
      user_id: null,
      subject: "123456 is your verification code",
      body: html.slice(0, 1_500),
      body_plain: "Your verification code is 123456.",
      status: "queued",
      data: { otp_code: "123456" },
      delivered_by_clerk: false,
    },
  });
}

export function functionUrlEvent(body: string, headers: Record<string, string>): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/webhooks/clerk",
    rawQueryString: "",
    headers: { "content-type": "application/json", ...headers },
    requestContext: {
      http: { method: "POST", path: "/webhooks/clerk" },
    } as APIGatewayProxyEventV2["requestContext"],
    body,
    isBase64Encoded: false,
  };
}

const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Times `fn` (N iterations) in CPU microseconds per iteration, after a warm-up. */
async function cpuPerOp(n: number, fn: (i: number) => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(200, n); i++) await fn(i);
  const start = cpuMicros();
  for (let i = 0; i < n; i++) await fn(i);
  return (cpuMicros() - start) / n;
}

/** Runs `fn` with stdout swallowed: log lines are still formatted (their CPU counts) but not written. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
  }
}

export async function ingestCpu(): Promise<Figure[]> {
  const secret = newSigningSecret();
  const key = Buffer.from(secret.slice(6), "base64");
  const body = emailCreated("delivered@resend.dev");
  const headers = svixHeaders("msg_bench", [secret], body);
  const n = 5_000;

  const floor = await cpuPerOp(n, () => {
    createHmac("sha256", key).update(`msg_bench.${headers["svix-timestamp"]}.`).update(body).digest();
    return JSON.parse(body);
  });

  const telemetry = createTelemetry({ logLevel: "INFO", emitMetrics: true });
  const ingestWith = (store: IngestDeps["store"], queue: IngestDeps["queue"]) =>
    createIngestHandler({
      store,
      queue,
      auth: webhookAuthFrom(staticSecretSource({ clerkWebhookSecret: secret })),
      telemetry,
      maxBodyBytes: 240 * 1024,
    });
  // The handler's own work: verify, parse, decide, answer; store and queue are no-ops here.
  const ownOnly = ingestWith(
    {
      claimDelivery: async () => ({ outcome: "claimed", token: "bench" }),
      confirmDelivery: async () => true,
      releaseDelivery: async () => undefined,
    },
    { send: async () => undefined },
  );
  const event = functionUrlEvent(body, headers);
  const own = await quietly(() =>
    cpuPerOp(n, async (i) => {
      const res = await ownOnly(event);
      if (res.statusCode !== 202) throw new Error(`ingest answered ${res.statusCode}`);
      if (i % 100 === 0) telemetry.flush();
    }),
  );

  // The same handler with the real DynamoDB and SQS clients; the servers run in another process, so only
  // the client side (serialisation, signing, HTTP) is counted.
  const servers = await startAwsServersInChild();
  try {
    const m = 1_000;
    const perEvent = (store: IngestDeps["store"], queue: IngestDeps["queue"]) => {
      const full = ingestWith(store, queue);
      return quietly(() =>
        cpuPerOp(m, async (i) => {
          const id = `msg_io_${i}_${Math.random()}`;
          const res = await full(functionUrlEvent(body, svixHeaders(id, [secret], body)));
          if (res.statusCode !== 202) throw new Error(`ingest answered ${res.statusCode}: ${res.body}`);
        }),
      );
    };
    const withFetch = await perEvent(
      new BridgeStore(new DynamoDb(sandboxClientConfig(servers.dynamodb)), "bridge"),
      new SqsJobQueue(new AwsJsonClient("sqs", sandboxClientConfig(servers.sqs)), servers.queueUrl),
    );
    const withSdk = await perEvent(...sdkStoreAndQueue(servers));
    // svixHeaders() signing in the loop is fixture cost, not handler cost: measure and subtract it.
    const signing = await cpuPerOp(m, (i) => svixHeaders(`msg_sig_${i}`, [secret], body));
    const viaFetch = withFetch - signing - own;
    const viaSdk = withSdk - signing - own;
    return [
      {
        name: "Ingest CPU per event: handler's own work vs HMAC-SHA256 + JSON.parse floor",
        ratio: round(own / floor),
        target: "≤ 5×",
        detail:
          `${round(own, 1)} µs vs ${round(floor, 1)} µs per 2 KB email.created (${n} events, INFO logging formatted, ` +
          `EMF metrics). Store + queue client CPU beside it: ${round(viaFetch, 1)} µs per event ` +
          `(${round(viaFetch / floor, 1)}× the floor; next figure).`,
        command: COMMAND,
      },
      {
        name: "Store + queue client CPU per event: SigV4-signed fetch clients vs the AWS SDK v3 making the same calls",
        ratio: round(viaFetch / viaSdk),
        detail:
          `${round(viaFetch, 1)} µs vs ${round(viaSdk, 1)} µs per event (${m} events; DynamoDB conditional PutItem + SQS ` +
          "SendMessage; stand-ins in another process, so only client-side serialisation, signing and HTTP count). " +
          "The fetch clients sign with aws4fetch (payload hash by node:crypto, then an asynchronous Web Crypto " +
          "digest, importKey and sign per request) and send " +
          "through Node's fetch; the SDK signs with node:crypto and sends through node:http.",
        command: COMMAND,
      },
    ];
  } finally {
    servers.stop();
  }
}

/** The same DynamoDB conditional put and SQS SendMessage through the AWS SDK, as the bridge made them before. */
function sdkStoreAndQueue(servers: { dynamodb: string; sqs: string; queueUrl: string }) {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(sandboxClientConfig(servers.dynamodb)));
  const sqs = new SQSClient(sandboxClientConfig(servers.sqs));
  const store: IngestDeps["store"] = {
    async claimDelivery(source, svixId) {
      const Item = { pk: `delivery#${source}#${svixId}`, sk: "delivery", at: new Date().toISOString() };
      await doc.send(
        new PutCommand({ TableName: "bridge", Item, ConditionExpression: "attribute_not_exists(pk)" }),
      );
      return { outcome: "claimed", token: "bench" };
    },
    confirmDelivery: async () => true,
    releaseDelivery: async () => undefined,
  };
  const queue: IngestDeps["queue"] = {
    async send(message) {
      await sqs.send(
        new SendMessageCommand({ QueueUrl: servers.queueUrl, MessageBody: JSON.stringify(message) }),
      );
    },
  };
  return [store, queue] as const;
}

/** `createTelemetry()` bundled alone like the handlers, to show what the logger and EMF writer cost at cold init. */
async function bundleTelemetry(): Promise<string> {
  const outfile = join(BENCH_DIR, "telemetry.mjs");
  await build({
    stdin: {
      contents: 'import { createTelemetry } from "./telemetry"; export const telemetry = createTelemetry();',
      resolveDir: join(__dirname, "..", "src", "bridge"),
      loader: "ts",
    },
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    mainFields: ["module", "main"],
    minify: true,
    logLevel: "silent",
  });
  return outfile;
}

export async function bundleAndColdInit(): Promise<Figure[]> {
  const bundle = await bundleBridge(join(BENCH_DIR, "bundle"));
  const limit = 300 * 1024;
  const env = {
    PATH: process.env.PATH ?? "",
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "bench",
    AWS_SECRET_ACCESS_KEY: "bench",
    BRIDGE_TABLE_NAME: "bridge",
    BRIDGE_QUEUE_URL: "http://127.0.0.1:9/000000000000/bridge",
    BRIDGE_PARAM_CLERK_WEBHOOK_SECRET: "/b/c",
    BRIDGE_PARAM_RESEND_WEBHOOK_SECRET: "/b/r",
    BRIDGE_STACK: "bench",
  };
  const sdk = (modules: string[], clients: string) =>
    `const m = await Promise.all(${JSON.stringify(modules)}.map((x) => import(x))); ${clients}`;
  const scripts: Record<string, string> = {
    empty: `await import(${JSON.stringify(join(BENCH_DIR, "empty.mjs"))});`,
    // What the handlers load at their first request instead of at init: node:crypto (HMAC for Svix
    // signatures, SigV4's payload hash) and Node's fetch implementation (undici), which every call to AWS,
    // Resend or Clerk goes through. Timed alone so the doc can say what was moved and how much it weighs.
    crypto: `process.getBuiltinModule("node:crypto").createHash("sha256");`,
    deferred: `process.getBuiltinModule("node:crypto").createHash("sha256"); new Headers();`,
    // The telemetry both handlers build (JSON logger and EMF writer), bundled the same way.
    telemetry: `await import(${JSON.stringify(await bundleTelemetry())});`,
    // What the handlers paid before they left the AWS SDK: importing it and constructing the clients.
    ingestSdk: sdk(
      ["@aws-sdk/client-dynamodb", "@aws-sdk/lib-dynamodb", "@aws-sdk/client-sqs", "@aws-sdk/client-ssm"],
      "new m[0].DynamoDBClient({}); new m[2].SQSClient({}); new m[3].SSMClient({});",
    ),
    workerSdk: sdk(
      ["@aws-sdk/client-dynamodb", "@aws-sdk/lib-dynamodb", "@aws-sdk/client-ssm"],
      "new m[0].DynamoDBClient({}); new m[2].SSMClient({});",
    ),
    ingest: `await import(${JSON.stringify(bundle.files.ingest)});`,
    worker: `const w = await import(${JSON.stringify(bundle.files.worker)});
      w.createWorkerFromSecrets({ tableName: "bridge", fromAddress: "a@b.c", fromName: "A", stack: "bench", extraHeaders: {}, codeLifetimeSeconds: 600 }, { resendApiKey: "re_x", clerkSecretKey: "sk_x" });`,
  };
  await writeFile(join(BENCH_DIR, "empty.mjs"), "export const handler = async () => ({});\n");
  const runs = 31;
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(scripts).map((k) => [k, []]));
  // Interleaved so machine noise hits every variant alike; each run is a fresh process, spawn to exit.
  for (let i = 0; i < runs + 2; i++) {
    for (const [name, code] of Object.entries(scripts)) {
      const start = performance.now();
      execFileSync(process.execPath, ["--input-type=module", "-e", code], {
        cwd: BENCH_DIR,
        env,
        stdio: "ignore",
      });
      if (i >= 2) times[name]?.push(performance.now() - start);
    }
  }
  const t = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<
    string,
    number
  >;
  const ms = (x: number | undefined) => `${round(x ?? Number.NaN, 1)} ms`;
  const empty = t.empty ?? Number.NaN;
  const telemetry = (t.telemetry ?? Number.NaN) - empty;
  const coldInit = (handler: "ingest" | "worker", what: string): Figure[] => {
    const own = t[handler] ?? Number.NaN;
    const sdk = t[`${handler}Sdk`] ?? Number.NaN;
    const breakdown =
      `Of the ${ms(own - empty)} above the empty handler, the telemetry (createTelemetry(): JSON logger and EMF ` +
      `writer, bundled alone) takes ${ms(telemetry)}; the rest is evaluating the bundle's ${
        bundle.bytes[handler]
      } B and building the clients.`;
    const verdict =
      own / empty <= 1.15
        ? "Met."
        : `Not met: the 15% allowance is ${ms(0.15 * empty)}, ${ms(own - empty - 0.15 * empty)} short.`;
    return [
      {
        name: `Cold init, ${handler}: fresh process importing ${handler}.mjs and ${what} vs an empty handler`,
        ratio: round(own / empty),
        target: "≤ 1.15×",
        detail:
          `median of ${runs}: ${handler} ${ms(own)}, empty handler ${ms(empty)}. ${verdict} ${breakdown} ` +
          "Neither node:crypto nor Node's fetch is loaded until the first request needs it (next rows).",
        command: COMMAND,
      },
      {
        name: `Cold init, ${handler}: the same vs importing and constructing the AWS SDK clients it used before`,
        ratio: round(own / sdk),
        detail:
          `median of ${runs}: ${handler} ${ms(own)} vs ${ms(sdk)} for the AWS SDK v3 clients alone ` +
          "(the runtime's SDK, now unused: DynamoDB, SQS and SSM go through a SigV4-signed fetch).",
        command: COMMAND,
      },
    ];
  };
  const deferred = t.deferred ?? Number.NaN;
  return [
    {
      name: "Bundle size: worker.mjs vs the 300 KB budget",
      ratio: round(bundle.bytes.worker / limit),
      target: "≤ 1.00",
      detail: `worker.mjs ${bundle.bytes.worker} B, ingest.mjs ${bundle.bytes.ingest} B, minified ESM, no AWS SDK (SigV4-signed fetch instead). No zod: payloads are checked by hand-written validation.`,
      command: COMMAND,
    },
    ...coldInit("ingest", "building its DynamoDB, SQS and SSM clients"),
    ...coldInit("worker", "building its Resend, Clerk and DynamoDB clients"),
    {
      name: "Loaded at the first request instead of at init: node:crypto and Node's fetch (undici) alone vs an empty handler",
      ratio: round(deferred / empty),
      detail:
        `median of ${runs}: ${ms(deferred)} vs ${ms(empty)}, so ${ms(deferred - empty)} that neither handler pays ` +
        `at init any more (node:crypto alone ${ms((t.crypto ?? Number.NaN) - empty)}, against a 15% allowance of ` +
        `${ms(0.15 * empty)}): node:crypto is loaded at the first Svix signature check or SigV4 payload hash, ` +
        "Node's fetch at the first HTTPS call (the resend SDK's client, whose constructor builds a Headers, is " +
        "built at the first send). Every first request needs both, so the cost moved, it did not vanish: the " +
        "First request figures below include it.",
      command: COMMAND,
    },
  ];
}

export async function workerThroughputAndLatency(): Promise<Figure[]> {
  const resend = await startResendStandIn({ dnsServer: "127.0.0.1:9", rateLimitPerSecond: 1_000_000 });
  resend.addVerifiedDomain("mail.example.com");
  const secret = newSigningSecret();
  const bridge = await startLocalBridge({
    resendBaseUrl: resend.url,
    clerkApiUrl: "http://127.0.0.1:9",
    resendApiKey: resend.apiKey,
    clerkSecretKey: "sk_test_bench",
    clerkWebhookSecrets: [secret],
    logLevel: "SILENT",
  });
  try {
    const post = (body: string) =>
      fetch(bridge.webhookUrl("clerk"), {
        method: "POST",
        headers: { "content-type": "application/json", ...svixHeaders(prefixedId("msg"), [secret], body) },
        body,
      });

    // Latency: one event at a time, from the webhook arriving to Resend accepting the send.
    const latencies: number[] = [];
    for (let i = 0; i < 220; i++) {
      const to = `delivered+lat${i}@resend.dev`;
      const before = resend.server.requests.length;
      const start = Date.now();
      const res = await post(emailCreated(to));
      if (res.status !== 202) throw new Error(`bridge answered ${res.status}`);
      await bridge.settle();
      const accepted = resend.server.requests
        .slice(before)
        .find((r) => r.path === "/emails" && r.body.includes(to));
      if (!accepted) throw new Error(`no send for ${to}`);
      if (i >= 20) latencies.push(Date.parse(accepted.at) - start);
    }
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);

    // Throughput: a burst through the worker vs the same number of sends straight from the SDK.
    const n = 300;
    const bodies = Array.from({ length: n }, (_, i) => emailCreated(`delivered+tp${i}@resend.dev`));
    await Promise.all(bodies.map(post));
    const t0 = performance.now();
    await bridge.settle();
    const viaWorker = performance.now() - t0;

    const sdk = new Resend(resend.apiKey, { baseUrl: resend.url });
    const t1 = performance.now();
    for (let i = 0; i < n; i++) {
      const { error } = await sdk.emails.send({
        from: "Acme <auth@mail.example.com>",
        to: [`delivered+direct${i}@resend.dev`],
        subject: "bench",
        html: "<p>bench</p>",
      });
      if (error) throw new Error(error.message);
    }
    const direct = performance.now() - t1;
    const perSecond = (ms: number) => round((n / ms) * 1000, 0);
    return [
      {
        name: "Worker throughput vs sending straight from the resend SDK (same stand-in, sequential)",
        ratio: round(direct / viaWorker),
        detail:
          `${perSecond(viaWorker)} emails/s through the worker (ledger read, send, outcome write per email) vs ` +
          `${perSecond(direct)} emails/s direct; ${n} emails queued before timing. Resend's own team limit ` +
          "(10 requests/s by default) is far below either.",
        command: COMMAND,
      },
      {
        name: "Pipeline-added latency, email.created received → Resend accepted: p99 vs the 50 ms target",
        ratio: round(p99 / 50),
        target: "≤ 1.00",
        detail: `p50 ${p50} ms, p99 ${p99} ms over ${latencies.length} sequential events (stand-ins answering at once; ms clock resolution).`,
        command: COMMAND,
      },
    ];
  } finally {
    await bridge.close();
    await resend.close();
  }
}
