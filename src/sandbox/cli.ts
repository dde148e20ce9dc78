import { startSandbox } from "./index";

/** `npm run sandbox`: starts every stand-in and prints how to reach it; Ctrl-C stops them. */
async function main(): Promise<void> {
  const sandbox = await startSandbox();
  const lines = [
    "Sandbox is up (loopback only). Stand-ins:",
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
    "",
    "Press Ctrl-C to stop.",
  ];
  console.log(lines.join("\n"));
  const stop = async () => {
    await sandbox.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
