import { spawn } from "node:child_process";
import { join } from "node:path";

const ROOT = join(__dirname, "..");

export interface AwsServers {
  dynamodb: string;
  sqs: string;
  ssm: string;
  /** The `bridge-jobs` queue; the `bridge` table exists. */
  queueUrl: string;
  stop(): void;
}

/**
 * DynamoDB, SQS and SSM stand-ins in a separate process, so their CPU and start-up do not count as the
 * bridge's. `parameters` are stored in SSM as SecureStrings (values stay in the two processes).
 */
export async function startAwsServersInChild(parameters: Record<string, string> = {}): Promise<AwsServers> {
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
      console.log(JSON.stringify({ dynamodb: d.endpoint, sqs: s.endpoint, ssm: p.endpoint, queueUrl }));
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
