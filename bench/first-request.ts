import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { SQSEvent } from "aws-lambda";
import { bundleBridge } from "../src/bridge/bundle";
import { decide, type QueueMessage } from "../src/bridge/events";
import { awsSandboxEnvironment } from "../src/sandbox/aws/env";
import { newSigningSecret, prefixedId } from "../src/sandbox/core/ids";
import { svixHeaders } from "../src/sandbox/core/svix-dispatcher";
import { startAwsServersInChild } from "./aws-servers";
import { BENCH_DIR, COMMAND, emailCreated, type Figure, functionUrlEvent, median, round } from "./bridge";

const ONE_CALL =
  `const r = await fetch(process.env.AWS_ENDPOINT_URL_SQS, { method: "POST", headers: { "x-amz-target": ` +
  `"AmazonSQS.ListQueues", "content-type": "application/x-amz-json-1.0" }, body: "{}" }); await r.text();`;

/** The SQS batch the worker would receive for one `email.created`, as ingest would have queued it. */
function workerEvent(body: string): SQSEvent {
  const decision = decide("clerk", JSON.parse(body));
  if (decision.action !== "enqueue") throw new Error(`bench event not queued: ${JSON.stringify(decision)}`);
  const message: QueueMessage = {
    source: "clerk",
    svixId: prefixedId("msg"),
    type: decision.type,
    receivedAt: new Date().toISOString(),
    job: decision.job,
  };
  const now = String(Date.now());
  return {
    Records: [
      {
        messageId: prefixedId("sqs"),
        receiptHandle: "bench",
        body: JSON.stringify(message),
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: now,
          SenderId: "bench",
          ApproximateFirstReceiveTimestamp: now,
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:bridge-jobs",
        awsRegion: "us-east-1",
      },
    ],
  };
}

/**
 * Cold init counts what a fresh process does before its first event; the first event then loads what the
 * calls themselves need (node:crypto, Node's fetch, Web Crypto for SigV4, the SSM read). These figures time
 * both together, spawn to answer, so nothing a bundle defers to its first request escapes the measurement.
 */
export async function firstRequests(): Promise<Figure[]> {
  const bundle = await bundleBridge(join(BENCH_DIR, "bundle"));
  const secret = newSigningSecret();
  const servers = await startAwsServersInChild(
    { "/b/c": secret, "/b/r": newSigningSecret(), "/b/clerk": "sk_test_bench" },
    { resendKeyParameter: "/b/resend" },
  );
  try {
    const env = {
      PATH: process.env.PATH ?? "",
      ...awsSandboxEnvironment({ sqs: servers.sqs, ssm: servers.ssm, dynamodb: servers.dynamodb }),
      BRIDGE_TABLE_NAME: "bridge",
      BRIDGE_QUEUE_URL: servers.queueUrl,
      BRIDGE_PARAM_CLERK_WEBHOOK_SECRET: "/b/c",
      BRIDGE_PARAM_RESEND_WEBHOOK_SECRET: "/b/r",
      BRIDGE_PARAM_RESEND_API_KEY: "/b/resend",
      BRIDGE_PARAM_CLERK_SECRET_KEY: "/b/clerk",
      BRIDGE_FROM_ADDRESS: "auth@mail.example.com",
      BRIDGE_FROM_NAME: "Acme",
      RESEND_BASE_URL: servers.resend ?? "",
      // A send to a clean address makes no Clerk call; a dead port makes sure of it.
      BRIDGE_CLERK_API_URL: "http://127.0.0.1:9",
      BRIDGE_STACK: "bench",
      // Each run is a fresh worker on the same table: at the default share of 2 req/s every run but the first
      // would wait up to a second for its slot, which is pacing, not start-up. 1000/s at 100% is 1 ms apart.
      BRIDGE_RESEND_RATE_LIMIT_PER_SECOND: "1000",
      BRIDGE_RESEND_SHARE_PERCENT: "100",
    };
    const empty = join(BENCH_DIR, "empty.mjs");
    await writeFile(empty, "export const handler = async () => ({});\n");
    const scripts: Record<string, string> = {
      empty: `await import(${JSON.stringify(empty)});`,
      // The least any handler that calls a web service pays: one request through Node's fetch.
      oneCall: `await import(${JSON.stringify(empty)}); ${ONE_CALL}`,
      // The same plus node:crypto, which both handlers load at their first signature or SigV4 hash.
      oneCallCrypto: `await import(${JSON.stringify(empty)}); process.getBuiltinModule("node:crypto"); ${ONE_CALL}`,
      ingest:
        `const { handler } = await import(${JSON.stringify(bundle.files.ingest)}); ` +
        "const r = await handler(JSON.parse(process.env.BENCH_EVENT)); " +
        "if (r.statusCode !== 202) { console.error(JSON.stringify(r)); process.exit(1); }",
      worker:
        `const { handler } = await import(${JSON.stringify(bundle.files.worker)}); ` +
        "const r = await handler(JSON.parse(process.env.BENCH_WORKER_EVENT)); " +
        "if (r.batchItemFailures.length > 0) { console.error(JSON.stringify(r)); process.exit(1); }",
    };
    const runs = 15;
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(scripts).map((k) => [k, []]));
    for (let i = 0; i < runs + 2; i++) {
      const body = emailCreated(`delivered+first${i}@resend.dev`);
      const event = functionUrlEvent(body, svixHeaders(prefixedId("msg"), [secret], body));
      const batch = workerEvent(emailCreated(`delivered+firstsend${i}@resend.dev`));
      for (const [name, code] of Object.entries(scripts)) {
        const start = performance.now();
        execFileSync(process.execPath, ["--input-type=module", "-e", code], {
          cwd: BENCH_DIR,
          env: { ...env, BENCH_EVENT: JSON.stringify(event), BENCH_WORKER_EVENT: JSON.stringify(batch) },
          // Log lines are formatted and written as in Lambda; only errors are shown.
          stdio: ["ignore", "ignore", "inherit"],
        });
        if (i >= 2) times[name]?.push(performance.now() - start);
      }
    }
    const t = (k: string) => median(times[k] ?? []);
    const ms = (x: number) => `${round(x, 1)} ms`;
    const baseline =
      `empty handler with one fetch ${ms(t("oneCall"))}, empty handler alone ${ms(t("empty"))}. Loading Node's ` +
      `fetch for the first call costs every handler that makes one ${ms(t("oneCall") - t("empty"))} here, and ` +
      `node:crypto, which the bridge loads at its first request rather than at init, ${ms(t("oneCallCrypto") - t("oneCall"))} more`;
    return [
      {
        name: "First request, ingest: fresh process importing ingest.mjs and answering one signed webhook vs an empty handler making one HTTP call",
        ratio: round(t("ingest") / t("oneCall")),
        detail:
          `median of ${runs}: ingest ${ms(t("ingest"))} (SSM GetParameters, DynamoDB PutItem and SQS SendMessage ` +
          `to stand-ins in another process, answer 202), ${baseline}; the bridge's cold init (above) plus its ` +
          `three calls add ${ms(t("ingest") - t("oneCallCrypto"))} on top of both: a new connection to each ` +
          "of three endpoints, Web Crypto's first use for SigV4, and the stand-ins' own answer time (dynalite is " +
          "not fast), sequential because the claim must succeed before the enqueue.",
        command: COMMAND,
      },
      {
        name: "First request, worker: fresh process importing worker.mjs and sending one queued email vs an empty handler making one HTTP call",
        ratio: round(t("worker") / t("oneCall")),
        detail:
          `median of ${runs}: worker ${ms(t("worker"))} (SSM GetParameters, the send record and ledger reads, ` +
          "the pacing slot and the claim, Resend POST /emails, the outcome write; stand-ins in another process; " +
          `no failures), ${baseline}; ` +
          `the worker's cold init, building its clients and its calls add ${ms(t("worker") - t("oneCallCrypto"))} ` +
          "on top of both, the resend SDK's client built at the first send among them.",
        command: COMMAND,
      },
    ];
  } finally {
    servers.stop();
  }
}
