import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { RESEND_EVENTS } from "../../src/bridge/events";
import {
  ACCOUNT,
  bundleDir,
  classicResendRecords,
  cnameResendRecords,
  DEV_CLOUDFLARE_CONFIG,
  DEV_CLOUDFLARE_SECRETS,
  DKIM,
  expectDeleteFirst,
  expectWrittenAfter,
  FUNCTION_URL,
  isSecretEnvelope,
  type MockResource,
  type ProgramRun,
  runProgram,
} from "../support/pulumi-program";

const DEV = DEV_CLOUDFLARE_CONFIG;
const SECRETS = DEV_CLOUDFLARE_SECRETS;
/** The 392-character DKIM key as Cloudflare stores it: two quoted strings of at most 255 bytes. */
const CF_DKIM = `"${DKIM.slice(0, 255)}" "${DKIM.slice(255)}"`;
const arn = (service: string, resource: string) => `arn:aws:${service}:us-east-1:${ACCOUNT}:${resource}`;

describe("dev stack on Cloudflare, Clerk webhook not registered yet", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram({
      stack: "dev",
      config: DEV,
      secretKeys: SECRETS,
      domainRecords: classicResendRecords(),
    });
  });

  it("writes each Resend record with its full name, ttl, quoted TXT, unproxied, commented with the stack", () => {
    const cf = (name: string) => run.named(name).inputs;
    const common = { zoneId: "cf-zone-123", ttl: 300, proxied: false };
    expect(cf("sending-domain-dkim")).toEqual({
      ...common,
      name: "resend._domainkey.auth.example.com",
      type: "TXT",
      content: CF_DKIM,
      comment: "auth-email-pipeline dev: Resend DKIM key",
    });
    expect(cf("sending-domain-spf-mx")).toEqual({
      ...common,
      name: "send.auth.example.com",
      type: "MX",
      content: "feedback-smtp.us-east-1.amazonses.com",
      priority: 10,
      comment: "auth-email-pipeline dev: Resend return-path MX",
    });
    expect(cf("sending-domain-spf-txt")).toEqual({
      ...common,
      name: "send.auth.example.com",
      type: "TXT",
      content: '"v=spf1 include:amazonses.com ~all"',
      comment: "auth-email-pipeline dev: Resend return-path SPF",
    });
    expect(cf("sending-domain-dmarc")).toEqual({
      ...common,
      name: "_dmarc.auth.example.com",
      type: "TXT",
      content: '"v=DMARC1; p=none;"',
      comment: "auth-email-pipeline dev: DMARC p=none",
    });
    expect(run.ofType("cloudflare:index/dnsRecord:DnsRecord")).toHaveLength(4);
  });

  it("creates the Resend domain with tracking off and gates on the written records", () => {
    expect(run.named("sending-domain-resend").inputs).toEqual({
      name: "auth.example.com",
      region: "us-east-1",
      customReturnPath: "send",
      tls: "opportunistic",
      openTracking: false,
      clickTracking: false,
      adoptExisting: false,
    });
    const gate = run.named("sending-domain-verification");
    expect(gate.inputs).toEqual({
      domainId: "dom_123",
      timeoutSeconds: 1800,
      pollIntervalSeconds: 15,
      recordsFingerprint: [
        `TXT resend._domainkey.auth.example.com ${CF_DKIM}`,
        "MX send.auth.example.com 10 feedback-smtp.us-east-1.amazonses.com",
        'TXT send.auth.example.com "v=spf1 include:amazonses.com ~all"',
      ].join("\n"),
    });
    for (const record of run.ofType("cloudflare:index/dnsRecord:DnsRecord")) {
      if (record.name !== "sending-domain-dmarc") expect(gate.started).toBeGreaterThan(record.finished);
    }
  });

  it("grants each function exactly its actions on exact ARNs", () => {
    const policy = (role: string) =>
      JSON.parse(run.named(`bounce-bridge-${role}-policy`).inputs.policy as string);
    const param = (name: string) => arn("ssm", `parameter/auth-email-pipeline/dev/${name}`);
    const logs = (role: string) => [arn("logs", `log-group:/aws/lambda/bounce-bridge-${role}-logs-1a2b3c:*`)];
    const table = [arn("dynamodb", "table/bounce-bridge-table-1a2b3c")];
    const queue = [arn("sqs", "bounce-bridge-queue-1a2b3c")];
    const logStatement = {
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    };
    expect(policy("ingest")).toEqual({
      Version: "2012-10-17",
      Statement: [
        { ...logStatement, Resource: logs("ingest") },
        {
          Sid: "BridgeTable",
          Effect: "Allow",
          Action: ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
          Resource: table,
          // Only the dedupe claims (src/bridge/store.ts DELIVERY_KEY_PREFIX), never the ledger or send records.
          Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["delivery#*"] } },
        },
        { Sid: "BridgeQueue", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: queue },
        {
          Sid: "ReadSecrets",
          Effect: "Allow",
          Action: ["ssm:GetParameters"],
          Resource: [param("clerk-webhook-secret"), param("resend-webhook-secret")],
        },
      ],
    });
    expect(policy("worker").Statement).toEqual([
      { ...logStatement, Resource: logs("worker") },
      {
        Sid: "BridgeTable",
        Effect: "Allow",
        Action: [
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:UpdateItem",
          "dynamodb:Query",
          "dynamodb:BatchWriteItem",
        ],
        Resource: table,
      },
      {
        Sid: "BridgeQueue",
        Effect: "Allow",
        Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        Resource: queue,
      },
      {
        Sid: "ReadSecrets",
        Effect: "Allow",
        Action: ["ssm:GetParameters"],
        Resource: [param("resend-api-key"), param("clerk-secret-key")],
      },
    ]);
    expect(
      JSON.parse(run.named("bounce-bridge-worker-role").inputs.assumeRolePolicy as string).Statement,
    ).toEqual([
      { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
  });

  it("deploys the built bundle by handler name with the bridge environment", () => {
    const ingest = run.named("bounce-bridge-ingest").inputs;
    const assets = (ingest.code as { assets: Record<string, { path: string }> }).assets;
    expect(Object.keys(assets)).toEqual(["ingest.mjs"]);
    expect(assets["ingest.mjs"]?.path).toBe(join(bundleDir(), "ingest.mjs"));
    expect(ingest).toMatchObject({
      runtime: "nodejs24.x",
      handler: "ingest.handler",
      architectures: ["arm64"],
      memorySize: 256,
      timeout: 10,
      role: `arn:aws:iam::${ACCOUNT}:role/bounce-bridge-ingest-role-1a2b3c`,
      loggingConfig: { logFormat: "JSON", logGroup: "/aws/lambda/bounce-bridge-ingest-logs-1a2b3c" },
    });
    const shared = {
      BRIDGE_TABLE_NAME: "bounce-bridge-table-1a2b3c",
      BRIDGE_QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/bounce-bridge-queue-1a2b3c`,
      BRIDGE_PARAM_RESEND_API_KEY: "/auth-email-pipeline/dev/resend-api-key",
      BRIDGE_PARAM_CLERK_SECRET_KEY: "/auth-email-pipeline/dev/clerk-secret-key",
      BRIDGE_PARAM_CLERK_WEBHOOK_SECRET: "/auth-email-pipeline/dev/clerk-webhook-secret",
      BRIDGE_PARAM_RESEND_WEBHOOK_SECRET: "/auth-email-pipeline/dev/resend-webhook-secret",
      BRIDGE_FROM_ADDRESS: "auth@auth.example.com",
      BRIDGE_FROM_NAME: "Example",
      BRIDGE_CODE_LIFETIME_SECONDS: "600",
      BRIDGE_STACK: "dev",
      POWERTOOLS_SERVICE_NAME: "auth-email-bridge",
      POWERTOOLS_METRICS_NAMESPACE: "auth-email-pipeline/dev",
    };
    // Each function also carries what identifies the secrets it reads (see program-secrets.test.ts).
    expect((ingest.environment as { variables: unknown }).variables).toEqual({
      ...shared,
      BRIDGE_SECRETS_VERSION: "clerk-webhook-secret@unset",
    });
    const worker = run.named("bounce-bridge-worker").inputs;
    expect(worker).toMatchObject({ handler: "worker.handler", timeout: 60 });
    expect((worker.environment as { variables: unknown }).variables).toEqual({
      ...shared,
      BRIDGE_SECRETS_VERSION: "resend-api-key@1,clerk-secret-key@1",
    });
    for (const role of ["ingest", "worker"]) {
      expect(run.named(`bounce-bridge-${role}-logs`).inputs).toEqual({ retentionInDays: 30 });
    }
  });

  it("exposes the ingest function publicly with BOTH invoke permissions", () => {
    expect(run.named("bounce-bridge-url").inputs).toEqual({
      functionName: "bounce-bridge-ingest-1a2b3c",
      authorizationType: "NONE",
      invokeMode: "BUFFERED",
    });
    expect(run.ofType("aws:lambda/permission:Permission").map((p) => p.inputs)).toEqual([
      {
        function: "bounce-bridge-ingest-1a2b3c",
        action: "lambda:InvokeFunctionUrl",
        principal: "*",
        functionUrlAuthType: "NONE",
        statementId: "AllowPublicFunctionUrl",
      },
      {
        function: "bounce-bridge-ingest-1a2b3c",
        action: "lambda:InvokeFunction",
        principal: "*",
        invokedViaFunctionUrl: true,
        statementId: "AllowInvokeViaFunctionUrl",
      },
    ]);
  });

  it("wires the queue to its DLQ and to the worker with partial-batch failures and capped concurrency", () => {
    expect(run.named("bounce-bridge-queue").inputs).toEqual({
      visibilityTimeoutSeconds: 360,
      messageRetentionSeconds: 345600,
      sqsManagedSseEnabled: true,
      redrivePolicy: JSON.stringify({
        deadLetterTargetArn: arn("sqs", "bounce-bridge-dlq-1a2b3c"),
        maxReceiveCount: 5,
      }),
    });
    expect(run.named("bounce-bridge-dlq").inputs).toEqual({
      messageRetentionSeconds: 1209600,
      sqsManagedSseEnabled: true,
    });
    const mapping = run.named("bounce-bridge-worker-events");
    expect(mapping.inputs).toEqual({
      eventSourceArn: arn("sqs", "bounce-bridge-queue-1a2b3c"),
      functionName: arn("lambda", "function:bounce-bridge-worker-1a2b3c"),
      batchSize: 5,
      maximumBatchingWindowInSeconds: 1,
      functionResponseTypes: ["ReportBatchItemFailures"],
      scalingConfig: { maximumConcurrency: 5 },
    });
    expect(mapping.started).toBeGreaterThan(run.named("bounce-bridge-worker-policy").finished);
  });

  it("keeps the table's TTL and point-in-time recovery on", () => {
    expect(run.named("bounce-bridge-table").inputs).toEqual({
      billingMode: "PAY_PER_REQUEST",
      hashKey: "pk",
      rangeKey: "sk",
      attributes: [
        { name: "pk", type: "S" },
        { name: "sk", type: "S" },
      ],
      ttl: { attributeName: "expiresAt", enabled: true },
      pointInTimeRecovery: { enabled: true },
    });
  });

  it("stores every secret as a secret SecureString, the Clerk one a placeholder until registered", () => {
    const params = run.ofType("aws:ssm/parameter:Parameter");
    expect(params.map((p) => [p.inputs.name, p.inputs.type, p.inputs.value]).sort()).toEqual([
      ["/auth-email-pipeline/dev/clerk-secret-key", "SecureString", "sk_test_123"],
      ["/auth-email-pipeline/dev/clerk-webhook-secret", "SecureString", "unregistered"],
      // The bridge's own sending key, not the full-access key of the stack config.
      ["/auth-email-pipeline/dev/resend-api-key", "SecureString", "re_bridge_sending"],
      ["/auth-email-pipeline/dev/resend-webhook-secret", "SecureString", "whsec_resend"],
    ]);
    for (const param of params) expect(isSecretEnvelope(param.raw.value)).toBe(true);
    const everythingElse = JSON.stringify(run.resources.filter((r) => !params.includes(r)).map((r) => r.raw));
    for (const secret of ["re_bridge_sending", "sk_test_123", "whsec_resend", "cf-token"]) {
      expect(everythingElse).not.toContain(secret);
      expect(JSON.stringify(run.outputs)).not.toContain(secret);
    }
    // The full-access key stays with the providers: no resource, parameter or output holds it.
    expect(JSON.stringify(run.resources.map((r) => r.raw))).not.toContain("re_test_123");
    expect(JSON.stringify(run.outputs)).not.toContain("re_test_123");
  });

  it("points the Resend webhook at the bridge and holds the Clerk cutover until the endpoint is registered", () => {
    expect(run.named("webhooks-resend").inputs).toEqual({
      endpoint: `${FUNCTION_URL}webhooks/resend`,
      events: [...RESEND_EVENTS],
    });
    expect(run.ofType("pulumi-nodejs:dynamic/clerk:EmailDelivery")).toEqual([]);
    expect(run.ofType("pulumi-nodejs:dynamic/clerk:WebhookEndpoint")).toEqual([]);
    expect(run.outputs.clerkWebhookRegistration).toEqual([
      "1. Clerk Dashboard -> Configure -> Webhooks -> Add Endpoint.",
      `2. Endpoint URL: ${FUNCTION_URL}webhooks/clerk`,
      "3. Subscribe to events: email.created, user.created, user.updated, user.deleted. Create.",
      "4. Open the endpoint and copy its Signing Secret (whsec_...).",
      "5. pulumi config set --secret clerkWebhookSigningSecret <whsec_...> --stack dev",
      "6. pulumi up --stack dev: stores the secret and moves the templates' delivery to the bridge.",
    ]);
    expect(run.outputs.clerkDelivery).toMatchObject({ routedToBridge: [] });
  });

  it("alarms on DLQ depth, errors, bounce and complaint rates", () => {
    const alarms = Object.fromEntries(
      run
        .ofType("aws:cloudwatch/metricAlarm:MetricAlarm")
        .map((a) => [a.name.replace("bounce-bridge-", ""), a.inputs]),
    );
    expect(Object.keys(alarms).sort()).toEqual([
      "bounce-rate",
      "complaint-rate",
      "dlq-depth",
      "ingest-errors",
      "ingest-throttles",
      "worker-errors",
    ]);
    expect(alarms["ingest-throttles"]).toMatchObject({
      namespace: "AWS/Lambda",
      metricName: "Throttles",
      dimensions: { FunctionName: "bounce-bridge-ingest-1a2b3c" },
      statistic: "Sum",
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
    });
    expect(alarms["dlq-depth"]).toMatchObject({
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: "bounce-bridge-dlq-1a2b3c" },
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
    });
    expect(alarms["worker-errors"]).toMatchObject({
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: "bounce-bridge-worker-1a2b3c" },
    });
    const metric = (metricName: string) => ({
      namespace: "auth-email-pipeline/dev",
      metricName,
      dimensions: { service: "auth-email-bridge" },
      period: 3600,
      stat: "Sum",
    });
    expect(alarms["bounce-rate"]).toMatchObject({
      threshold: 4,
      metricQueries: [
        { id: "events", returnData: false, metric: metric("BouncedHard") },
        { id: "sent", returnData: false, metric: metric("EmailSent") },
        { id: "rate", returnData: true, expression: "IF(sent > 0, 100 * events / sent, 0)" },
      ],
    });
    expect(alarms["complaint-rate"]).toMatchObject({
      threshold: 0.1,
      metricQueries: [{ metric: metric("Complained") }, { metric: metric("EmailSent") }, { id: "rate" }],
    });
    expect(alarms["dlq-depth"]?.alarmActions).toEqual([]);
  });

  it("exports the domain, records, DMARC, bridge URL, webhook ids, table and queues", () => {
    expect(run.outputs).toMatchObject({
      domainId: "dom_123",
      domainStatus: "verified",
      dnsProvider: "cloudflare",
      dmarcRecord: { name: "_dmarc.auth.example.com", type: "TXT", value: '"v=DMARC1; p=none;"', ttl: 300 },
      bridgeUrl: FUNCTION_URL,
      resendWebhookId: "wh_123",
      tableName: "bounce-bridge-table-1a2b3c",
      queueName: "bounce-bridge-queue-1a2b3c",
      deadLetterQueueName: "bounce-bridge-dlq-1a2b3c",
    });
    expect(run.outputs.dnsRecords).toEqual([
      { name: "resend._domainkey.auth.example.com", type: "TXT", value: CF_DKIM, ttl: 300 },
      {
        name: "send.auth.example.com",
        type: "MX",
        value: "feedback-smtp.us-east-1.amazonses.com",
        ttl: 300,
        priority: 10,
      },
      { name: "send.auth.example.com", type: "TXT", value: '"v=spf1 include:amazonses.com ~all"', ttl: 300 },
    ]);
  });
});

describe("DMARC per stage", () => {
  it.each([
    [{ dmarcPolicy: "none" }, '"v=DMARC1; p=none; rua=mailto:dmarc@example.com;"'],
    [
      { dmarcPolicy: "quarantine", dmarcPct: "25" },
      '"v=DMARC1; p=quarantine; pct=25; rua=mailto:dmarc@example.com;"',
    ],
    [{ dmarcPolicy: "reject" }, '"v=DMARC1; p=reject; rua=mailto:dmarc@example.com;"'],
  ])("%o publishes %s", async (stage, content) => {
    const run = await runProgram({
      stack: "dev",
      config: { ...DEV, dmarcRua: "dmarc@example.com", ...stage },
      secretKeys: SECRETS,
      domainRecords: classicResendRecords(),
    });
    expect(run.named("sending-domain-dmarc").inputs).toMatchObject({
      name: "_dmarc.auth.example.com",
      content,
    });
    expect(run.named("sending-domain-dmarc").inputs.comment).toBe(
      `auth-email-pipeline dev: DMARC p=${stage.dmarcPolicy}`,
    );
  });
});

describe("preview of a new stack", () => {
  it("shows every DNS record's name and type before Resend has created the domain", async () => {
    const run = await runProgram({ stack: "dev", config: DEV, secretKeys: SECRETS, preview: true });
    expect(
      run.ofType("cloudflare:index/dnsRecord:DnsRecord").map((r) => [r.name, r.inputs.name, r.inputs.type]),
    ).toEqual(
      expect.arrayContaining([
        ["sending-domain-dkim", "resend._domainkey.auth.example.com", "TXT"],
        ["sending-domain-spf-mx", "send.auth.example.com", "MX"],
        ["sending-domain-spf-txt", "send.auth.example.com", "TXT"],
        ["sending-domain-dmarc", "_dmarc.auth.example.com", "TXT"],
      ]),
    );
  });
});

describe("the cname record profile on Cloudflare", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram({
      stack: "dev",
      config: { ...DEV, resendRecordProfile: "cname" },
      secretKeys: SECRETS,
      domainRecords: cnameResendRecords(),
    });
  });

  it("writes the return-path CNAME pair DNS-only and unflattened, and the DKIM key as TXT", () => {
    const common = { zoneId: "cf-zone-123", ttl: 300, proxied: false };
    const cname = { ...common, type: "CNAME", settings: { flattenCname: false } };
    expect(run.named("sending-domain-dkim").inputs).toEqual({
      ...common,
      name: "resend._domainkey.auth.example.com",
      type: "TXT",
      content: CF_DKIM,
      comment: "auth-email-pipeline dev: Resend DKIM key",
    });
    expect(run.named("sending-domain-spf-mx").inputs).toEqual({
      ...cname,
      name: "send.auth.example.com",
      content: "rp.us-east-1.resend-dns.com",
      comment: "auth-email-pipeline dev: Resend return-path CNAME",
    });
    expect(run.named("sending-domain-spf-txt").inputs).toEqual({
      ...cname,
      name: "rsend.auth.example.com",
      content: "rrp.us-east-1.resend-dns.com",
      comment: "auth-email-pipeline dev: Resend return-path CNAME (r-prefixed)",
    });
    expect(run.ofType("cloudflare:index/dnsRecord:DnsRecord")).toHaveLength(4);
    expect(run.outputs.dnsRecords).toEqual([
      { name: "resend._domainkey.auth.example.com", type: "TXT", value: CF_DKIM, ttl: 300 },
      { name: "send.auth.example.com", type: "CNAME", value: "rp.us-east-1.resend-dns.com", ttl: 300 },
      { name: "rsend.auth.example.com", type: "CNAME", value: "rrp.us-east-1.resend-dns.com", ttl: 300 },
    ]);
  });

  it("replaces a record whose name or type changes delete-first, freeing the return-path name first", () => {
    const records = run.ofType("cloudflare:index/dnsRecord:DnsRecord");
    expectDeleteFirst(records);
    // From classic, spf-txt moves the SPF TXT off send.auth before spf-mx puts a CNAME there.
    expectWrittenAfter(run, "sending-domain-spf-mx", "sending-domain-spf-txt");
    expect(run.named("sending-domain-dmarc").options.dependsOn.sort()).toEqual([
      "sending-domain-dkim",
      "sending-domain-spf-mx",
      "sending-domain-spf-txt",
    ]);
    const gate = run.named("sending-domain-verification");
    expect(gate.inputs.recordsFingerprint).toBe(
      [
        `TXT resend._domainkey.auth.example.com ${CF_DKIM}`,
        "CNAME send.auth.example.com rp.us-east-1.resend-dns.com",
        "CNAME rsend.auth.example.com rrp.us-east-1.resend-dns.com",
      ].join("\n"),
    );
  });

  it("declares every record with its slot name and type in a preview, before the domain exists", async () => {
    const preview = await runProgram({
      stack: "dev",
      config: { ...DEV, resendRecordProfile: "cname" },
      secretKeys: SECRETS,
      preview: true,
    });
    const declared = preview
      .ofType("cloudflare:index/dnsRecord:DnsRecord")
      .map((r) => [r.name, r.inputs.name, r.inputs.type]);
    expect(declared.sort()).toEqual([
      ["sending-domain-dkim", "resend._domainkey.auth.example.com", "TXT"],
      ["sending-domain-dmarc", "_dmarc.auth.example.com", "TXT"],
      ["sending-domain-spf-mx", "send.auth.example.com", "CNAME"],
      ["sending-domain-spf-txt", "rsend.auth.example.com", "CNAME"],
    ]);
  });
});

describe("a classic stack whose domain Resend issued CNAME-form records", () => {
  it("stops before writing any DNS record, naming the setting to change", async () => {
    const created: MockResource[] = [];
    const attempt = runProgram({
      stack: "dev",
      config: DEV,
      secretKeys: SECRETS,
      domainRecords: cnameResendRecords(),
      created,
    });
    await expect(attempt).rejects.toThrow(
      /have the "cname" shape, but resendRecordProfile is "classic"[\s\S]*fix: pulumi config set resendRecordProfile cname --stack dev/,
    );
    // A RunError: the language host prints its message alone, without the program's stack trace.
    await expect(attempt).rejects.toMatchObject({ __pulumiRunError: true });
    expect(created.map((r) => r.name)).toContain("sending-domain-resend");
    expect(created.filter((r) => r.type === "cloudflare:index/dnsRecord:DnsRecord")).toEqual([]);
    expect(created.filter((r) => r.name === "sending-domain-verification")).toEqual([]);
  });
});
