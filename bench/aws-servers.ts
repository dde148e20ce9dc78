import { spawn } from "node:child_process";
import { join } from "node:path";

const ROOT = join(__dirname, "..");

export interface AwsServers {
  dynamodb: string;
  sqs: string;
  ssm: string;
  /** The `bridge-jobs` queue; the `bridge` table exists. */
  queueUrl: string;
  /** With `withResend`: the Resend stand-in (domain `mail.example.com` verified); its API key is in SSM. */
  resend?: string;
  stop(): void;
}

export interface AwsServersOptions {
  /** Also start a Resend stand-in and store its API key in SSM under this parameter name. */
  resendKeyParameter?: string;
}

/**
 * DynamoDB, SQS and SSM stand-ins in a separate process, so their CPU and start-up do not count as the
 * bridge's. `parameters` are stored in SSM as SecureStrings (values stay in the two processes).
 */
export async function startAwsServersInChild(
  parameters: Record<string, string> = {},
  options: AwsServersOptions = {},
): Promise<AwsServers> {
  const script = `
    const { startDynamoStandIn } = require("./src/sandbox/aws/dynamodb");
    const { startSqsStandIn } = require("./src/sandbox/aws/sqs");
    const { startSsmStandIn } = require("./src/sandbox/aws/ssm");
    const { createBridgeTable } = require("./src/bridge/store");
    const { DynamoDb } = require("./src/bridge/aws/dynamodb");
    const { sandboxClientConfig } = require("./src/sandbox/aws/env");
    (async () => {
      const d = await startDynamoStandIn();
      await createBridgeTable(new DynamoDb(sandboxClientConfig(d.endpoint)), "bridge");
      const s = await startSqsStandIn();
      const queueUrl = s.createQueue("bridge-jobs");
      const p = await startSsmStandIn();
      for (const [name, value] of Object.entries(${JSON.stringify(parameters)})) p.putParameter(name, value);
      let resend;
      const keyParameter = ${JSON.stringify(options.resendKeyParameter ?? "")};
      if (keyParameter) {
        const { startResendStandIn } = require("./src/sandbox/resend");
        const r = await startResendStandIn({ dnsServer: "127.0.0.1:9", rateLimitPerSecond: 1000000 });
        r.addVerifiedDomain("mail.example.com");
        p.putParameter(keyParameter, r.apiKey);
        resend = r.url;
      }
      console.log(JSON.stringify({ dynamodb: d.endpoint, sqs: s.endpoint, ssm: p.endpoint, queueUrl, resend }));
    })();`;
  const child = spawn(join(ROOT, "node_modules", ".bin", "tsx"), ["-e", script], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(out.split("\n")[0] ?? "");
    });
    child.once("exit", (code) => reject(new Error(`AWS stand-ins exited with ${code}`)));
  });
  return { ...(JSON.parse(line) as Omit<AwsServers, "stop">), stop: () => child.kill() };
}
