import { parseArgs } from "node:util";
import { RECORD_PROFILES, type RecordProfile } from "../../infra/dns/profiles";
import { type Sandbox, startSandbox } from "./index";
import type { LocalCloud } from "./local-cloud";
import { runScenario } from "./local-cloud/scenario";
import {
  LOCAL_CLOUD_SANDBOX,
  PROJECT,
  readStackFile,
  SANDBOX_STACK,
  SANDBOX_STACK_FILE,
  upIntoLocalCloud,
} from "./local-cloud/up";

const USAGE = `npm run sandbox [-- options]

  Deploys this project's Pulumi program (infra/, stack config Pulumi.sandbox.yaml) into a local cloud
  of stand-ins, then plays a sign-up that is delivered and one that bounces.

  --dns cloudflare|route53   which DNS adapter the program uses (default: the stack file's)
  --record-profile <shape>   the record shape Resend issues and the stack declares: classic (default),
                             cname, classic-dkim-cname or cname-dkim-cname
  --keep                     stay up after the scenario for manual play (Ctrl-C stops)
  --stand-ins-only           only start the stand-ins and print how to reach them
  --verbose                  print the bridge functions' log lines
  --help                     this text`;

function printStandIns(sandbox: Sandbox): void {
  console.log(
    [
      "Stand-ins (loopback only):",
      `  DNS       ${sandbox.dns.address} (UDP+TCP)   admin ${sandbox.dns.admin.url}/_sandbox/dns/records`,
      `  Resend    ${sandbox.resend.url}   key ${sandbox.resend.apiKey}`,
      `  Clerk     ${sandbox.clerk.url}   secret key ${sandbox.clerk.secretKey}`,
      `  Svix      ${sandbox.clerk.svix.url}`,
      `  SQS       ${sandbox.aws.sqs.endpoint}`,
      `  SSM       ${sandbox.aws.ssm.endpoint}`,
      `  DynamoDB  ${sandbox.aws.dynamodb.endpoint}`,
      "",
      "Environment for clients:",
      ...Object.entries(sandbox.environment).map(([k, v]) => `  export ${k}=${v}`),
    ].join("\n"),
  );
}

function stayUp(stop: () => Promise<void>): void {
  console.log("\nPress Ctrl-C to stop.");
  const onSignal = () => void stop().then(() => process.exit(0));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      dns: { type: "string" },
      "record-profile": { type: "string" },
      keep: { type: "boolean", default: false },
      "stand-ins-only": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.dns !== undefined && !["cloudflare", "route53"].includes(values.dns)) {
    throw new Error(`--dns must be cloudflare or route53 (got "${values.dns}")`);
  }
  const profile = values["record-profile"];
  if (profile !== undefined && !RECORD_PROFILES.includes(profile as RecordProfile)) {
    throw new Error(`--record-profile must be one of ${RECORD_PROFILES.join(", ")} (got "${profile}")`);
  }
  // Alone, the stand-ins run in real vendor time (webhook retries, verification windows) for manual play;
  // the deployment scales it so the scenario finishes in seconds.
  const sandbox = await startSandbox(values["stand-ins-only"] ? {} : LOCAL_CLOUD_SANDBOX);
  if (profile) sandbox.resend.recordShape = profile as RecordProfile;
  if (values["stand-ins-only"]) {
    printStandIns(sandbox);
    stayUp(() => sandbox.close());
    return -1;
  }
  let cloud: LocalCloud | undefined;
  const shutdown = async () => {
    await cloud?.close();
    await sandbox.close();
  };
  try {
    const config = readStackFile(SANDBOX_STACK_FILE);
    if (values.dns) config[`${PROJECT}:dnsProvider`] = values.dns;
    if (profile) config[`${PROJECT}:resendRecordProfile`] = profile;
    console.log(
      `pulumi up: project ${PROJECT}, stack ${SANDBOX_STACK}, DNS on ${config[`${PROJECT}:dnsProvider`]}, ` +
        `record profile ${config[`${PROJECT}:resendRecordProfile`] ?? "classic"}, into the local cloud`,
    );
    const started = Date.now();
    // An apply callback that throws fails the deployment, as under `pulumi up` (see asLanguageHost).
    const up = await upIntoLocalCloud({
      sandbox,
      config,
      onRealized: (r) => console.log(`  + ${r.type.padEnd(52)} ${r.name}  (${r.kind}, ${r.finishedMs} ms)`),
      onFunctionLog: values.verbose ? (fn, line) => console.log(`    [${fn}] ${line}`) : undefined,
    });
    cloud = up.cloud;
    const { outputs } = up;
    console.log(`Resources: ${cloud.log.length} created in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log("Outputs:");
    for (const key of [
      "domainId",
      "domainStatus",
      "bridgeUrl",
      "resendWebhookId",
      "clerkWebhookId",
      "tableName",
      "queueName",
    ]) {
      console.log(`  ${key.padEnd(16)} ${String(outputs[key])}`);
    }
    console.log("\nScenario:");
    const templates = JSON.parse(config[`${PROJECT}:templates`] ?? "[]") as string[];
    await runScenario({ sandbox, outputs, templates, print: (line) => console.log(line) });
    console.log("\nThe sandbox stack works end to end.");
    if (values.keep) {
      console.log("");
      printStandIns(sandbox);
      console.log(
        [
          "",
          `Bridge (Function URL): ${outputs.bridgeUrl}`,
          "Sign up as an end user; the code goes out through the bridge and Resend:",
          `  curl -s -X POST ${sandbox.clerk.url}/_sandbox/clerk/sign-ups -H 'content-type: application/json' \\`,
          `    -d '{"email_address":"ada@example.org","verify":true}'`,
          `  curl -s ${sandbox.resend.url}/emails -H 'authorization: Bearer ${sandbox.resend.apiKey}'`,
        ].join("\n"),
      );
      stayUp(shutdown);
      return -1;
    }
    await shutdown();
    return 0;
  } catch (err) {
    await shutdown();
    throw err;
  }
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    console.error(`\n✘ sandbox failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
