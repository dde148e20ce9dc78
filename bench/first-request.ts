import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { bundleBridge } from "../src/bridge/bundle";
import { awsSandboxEnvironment } from "../src/sandbox/aws/env";
import { newSigningSecret, prefixedId } from "../src/sandbox/core/ids";
import { svixHeaders } from "../src/sandbox/core/svix-dispatcher";
import { startAwsServersInChild } from "./aws-servers";
import { BENCH_DIR, COMMAND, emailCreated, type Figure, functionUrlEvent, median, round } from "./bridge";

/**
 * Cold init counts what a fresh process does before its first event; the first event then loads what the
 * calls themselves need (Node's fetch, Web Crypto for SigV4, the SSM read). This figure times both
 * together, spawn to answer, so nothing the bundle defers to its first request escapes the measurement.
 */
export async function ingestFirstRequest(): Promise<Figure[]> {
  const bundle = await bundleBridge(join(BENCH_DIR, "bundle"));
  const secret = newSigningSecret();
  const servers = await startAwsServersInChild({ "/b/c": secret, "/b/r": newSigningSecret() });
  try {
    const env = {
      PATH: process.env.PATH ?? "",
      ...awsSandboxEnvironment({ sqs: servers.sqs, ssm: servers.ssm, dynamodb: servers.dynamodb }),
      BRIDGE_TABLE_NAME: "bridge",
      BRIDGE_QUEUE_URL: servers.queueUrl,
      BRIDGE_PARAM_CLERK_WEBHOOK_SECRET: "/b/c",
      BRIDGE_PARAM_RESEND_WEBHOOK_SECRET: "/b/r",
      BRIDGE_STACK: "bench",
    };
    const empty = join(BENCH_DIR, "empty.mjs");
    await writeFile(empty, "export const handler = async () => ({});\n");
    const scripts: Record<string, string> = {
      empty: `await import(${JSON.stringify(empty)});`,
      // The least any handler that calls a web service pays: one request through Node's fetch.
      oneCall:
        `await import(${JSON.stringify(empty)}); const r = await fetch(process.env.AWS_ENDPOINT_URL_SQS, ` +
        `{ method: "POST", headers: { "x-amz-target": "AmazonSQS.ListQueues", "content-type": "application/x-amz-json-1.0" }, body: "{}" }); await r.text();`,
      ingest:
        `const { handler } = await import(${JSON.stringify(bundle.files.ingest)}); ` +
        "const r = await handler(JSON.parse(process.env.BENCH_EVENT)); " +
        "if (r.statusCode !== 202) { console.error(JSON.stringify(r)); process.exit(1); }",
    };
    const runs = 15;
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(scripts).map((k) => [k, []]));
    for (let i = 0; i < runs + 2; i++) {
      const body = emailCreated(`delivered+first${i}@resend.dev`);
      const event = functionUrlEvent(body, svixHeaders(prefixedId("msg"), [secret], body));
      for (const [name, code] of Object.entries(scripts)) {
        const start = performance.now();
        execFileSync(process.execPath, ["--input-type=module", "-e", code], {
          cwd: BENCH_DIR,
          env: { ...env, BENCH_EVENT: JSON.stringify(event) },
          stdio: ["ignore", "ignore", "inherit"],
        });
        if (i >= 2) times[name]?.push(performance.now() - start);
      }
    }
    const t = (k: string) => median(times[k] ?? []);
    const ms = (x: number) => `${round(x, 1)} ms`;
    return [
      {
        name: "First request, ingest: fresh process importing ingest.mjs and answering one signed webhook vs an empty handler making one HTTP call",
        ratio: round(t("ingest") / t("oneCall")),
        detail:
          `median of ${runs}: ingest ${ms(t("ingest"))} (SSM GetParameters, DynamoDB PutItem and SQS SendMessage ` +
          `to stand-ins in another process, answer 202), empty handler with one fetch ${ms(t("oneCall"))}, empty ` +
          `handler alone ${ms(t("empty"))}. Loading Node's fetch for the first call costs every handler that makes one ` +
          `${ms(t("oneCall") - t("empty"))} here; the bridge's cold init (above) plus its three calls add ` +
          `${ms(t("ingest") - t("oneCall"))} on top: a new connection to each of three endpoints, Web Crypto's ` +
          "first use for SigV4, and the stand-ins' own answer time (dynalite is not fast), sequential because " +
          "the claim must succeed before the enqueue.",
        command: COMMAND,
      },
    ];
  } finally {
    servers.stop();
  }
}
