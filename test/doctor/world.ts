import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Resend } from "resend";
import { parseStackConfig, type StackSettings } from "../../infra/config";
import { dmarcValue, resendRecordFqdn, unquoteTxt } from "../../infra/dns/records";
import { AwsJsonClient } from "../../src/bridge/aws/client";
import { DynamoDb } from "../../src/bridge/aws/dynamodb";
import { RESEND_EVENTS } from "../../src/bridge/events";
import { type LocalBridge, startLocalBridge } from "../../src/bridge/local";
import { createBridgeTable } from "../../src/bridge/store";
import { resolverLookup } from "../../src/doctor/dns-lookup";
import type { MetricTotals } from "../../src/doctor/resend";
import type { DoctorInputs } from "../../src/doctor/run";
import type { CheckResult } from "../../src/doctor/types";
import { type Sandbox, startSandbox } from "../../src/sandbox";
import { type DnsStandIn, startDnsStandIn } from "../../src/sandbox/dns";
import type { SvixEndpoint } from "../../src/sandbox/svix";

export const ZONE = "example.com";
export const DOMAIN = "mail.example.com";
export const TEMPLATES = ["verification_code", "reset_password_code"];
/** amazonses.com's SPF stands in for the real one, so Resend's `include:amazonses.com` can be followed. */
export const SES_SPF = "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 -all";

/** A stack file as `pulumi config set` leaves it: credentials encrypted, so they must come from the environment. */
export const STACK_FILE = `config:
  aws:region: us-east-1
  auth-email-pipeline:sendingDomain: ${DOMAIN}
  auth-email-pipeline:dnsZone: ${ZONE}
  auth-email-pipeline:dnsProvider: route53
  auth-email-pipeline:fromName: Example
  auth-email-pipeline:fromAddress: auth@${DOMAIN}
  auth-email-pipeline:dmarcRua: dmarc-reports@${ZONE}
  auth-email-pipeline:clerkWebhookMode: portal
  auth-email-pipeline:templates:
    - verification_code
    - reset_password_code
  auth-email-pipeline:resendApiKey:
    secure: v1:AAAAAAAAAAAAAAAA:BBBBBBBBBBBB
  auth-email-pipeline:clerkSecretKey:
    secure: v1:CCCCCCCCCCCCCCCC:DDDDDDDDDDDD
`;

export const DLQ_NAME = "auth-email-pipeline-sandbox-dlq";
/** The bridge's table, in the sandbox's DynamoDB so `doctor trace` reads it as it would in AWS. */
export const TABLE_NAME = "auth-email-pipeline-sandbox-bridge";
/** Another loopback address: the parent zone's name server is another host than the zone's own. */
const REGISTRY_HOST = "127.0.0.2";

/**
 * A fully set-up stack over loopback: verified domain with every record, webhooks, bridge, Clerk cutover,
 * an empty dead-letter queue in the SQS stand-in.
 */
export interface DoctorWorld {
  sandbox: Sandbox;
  /**
   * The parent zone's name server (`com`, on 127.0.0.2 at the sandbox DNS's port), delegating
   * example.com to the zone's own name server; tests point the delegation elsewhere.
   */
  registry: DnsStandIn;
  bridge: LocalBridge;
  resend: Resend;
  domainId: string;
  webhookId: string;
  /** The Clerk Svix endpoint that sends to the bridge; tests break it in place and restore it. */
  clerkEndpoint: SvixEndpoint;
  /** The dead-letter queue's URL in the SQS stand-in. */
  dlqUrl: string;
  sqs: AwsJsonClient;
  /** Resend in front of the stand-in, answering `GET /emails/metrics` (which the stand-in lacks). */
  resendFront: ResendFront;
  /** The stack's settings through the program's own parser; `values` override the healthy ones. */
  settings(values?: Record<string, string>, env?: Record<string, string>): StackSettings;
  inputs(overrides?: Partial<DoctorInputs>): DoctorInputs;
  /** What `npm run doctor` reads from the environment to reach this world: credentials and endpoints. */
  cliEnvironment(): Record<string, string>;
  /** Creates a Resend domain; `publish` writes its records to DNS and verifies it. */
  createDomain(name: string, options?: { publish?: boolean; verify?: boolean }): Promise<string>;
  /** Re-creates the Resend webhook for the bridge (after a test deleted it) and hands the bridge its secret. */
  connectResendWebhook(): Promise<string>;
  close(): Promise<void>;
}

function healthyValues(domain: string): Record<string, string> {
  return {
    sendingDomain: domain,
    dnsZone: ZONE,
    dnsProvider: "cloudflare",
    fromName: "Example",
    fromAddress: `auth@${domain}`,
    dmarcPolicy: "none",
    dmarcRua: `dmarc-reports@${ZONE}`,
    templates: JSON.stringify(TEMPLATES),
    clerkWebhookMode: "portal",
  };
}

export async function startDoctorWorld(): Promise<DoctorWorld> {
  const sandbox = await startSandbox({
    // `com` answers for the rest of the TLD (NXDOMAIN for `_dmarc.com`), as the real parent does.
    zones: ["com", ZONE, "amazonses.com"],
    timeScale: 0.001,
    resendRateLimitPerSecond: 1_000,
    // Vendor time × 0.001: checks start at once, a missing record fails after 1.5 s, no re-check loop.
    resendVerification: {
      firstCheckMs: 0,
      intervalMs: 20_000,
      failAfterMs: 1_500_000,
      monitorIntervalMs: 1e12,
    },
  });
  const { dns, clerk } = sandbox;
  dns.upsert({ name: "amazonses.com", type: "TXT", values: [SES_SPF] });
  const registry = await startDnsStandIn({ zones: ["com"], host: REGISTRY_HOST, port: dns.port });
  registry.upsert({ name: ZONE, type: "NS", values: [`ns1.${ZONE}`] });
  dns.upsert({ name: "com", type: "NS", values: ["a.gtld-servers.com"] });
  dns.upsert({ name: "a.gtld-servers.com", type: "A", values: [REGISTRY_HOST] });
  const resend = new Resend(sandbox.resend.apiKey, { baseUrl: sandbox.resend.url });

  async function createDomain(name: string, { publish = true, verify = true } = {}): Promise<string> {
    const created = await resend.domains.create({ name });
    if (!created.data) throw new Error(`create ${name}: ${created.error?.message}`);
    if (publish) {
      for (const r of created.data.records) {
        const fqdn = resendRecordFqdn(r.name, ZONE);
        if (r.type === "MX") {
          dns.upsert({ name: fqdn, type: "MX", values: [{ priority: r.priority ?? 10, exchange: r.value }] });
        } else {
          dns.upsert({ name: fqdn, type: r.type as "TXT", values: [unquoteTxt(r.value)] });
        }
      }
      const dmarc = dmarcValue({ policy: "none", pct: 100, rua: [`dmarc-reports@${ZONE}`] });
      dns.upsert({ name: `_dmarc.${name}`, type: "TXT", values: [dmarc] });
    }
    if (verify) await resend.domains.verify(created.data.id);
    return created.data.id;
  }

  const domainId = await createDomain(DOMAIN);
  const resendFront = await startResendFront(sandbox.resend.url);
  await sandbox.resend.settle();

  const dynamo = new DynamoDb({ env: sandbox.aws.environment });
  await createBridgeTable(dynamo, TABLE_NAME);
  const bridge = await startLocalBridge({
    dynamoTable: { client: dynamo, tableName: TABLE_NAME },
    resendBaseUrl: sandbox.resend.url,
    clerkApiUrl: clerk.url,
    resendApiKey: sandbox.resend.apiKey,
    clerkSecretKey: clerk.secretKey,
    logLevel: "SILENT",
  });
  const subscribed = clerk.subscribe(bridge.webhookUrl("clerk"));
  bridge.setWebhookSecrets({ clerk: [subscribed.signingSecret] });
  const clerkEndpoint = clerk.svix.endpoints(subscribed.appId).find((e) => e.id === subscribed.endpointId)!;

  const sqs = new AwsJsonClient("sqs", { env: sandbox.aws.environment });
  const { QueueUrl: dlqUrl } = await sqs.call<{ QueueUrl: string }>("CreateQueue", { QueueName: DLQ_NAME });

  async function connectResendWebhook(): Promise<string> {
    const webhook = await resend.webhooks.create({
      endpoint: bridge.webhookUrl("resend"),
      events: [...RESEND_EVENTS] as never,
    });
    if (!webhook.data) throw new Error(`create webhook: ${webhook.error?.message}`);
    bridge.setWebhookSecrets({ resend: [webhook.data.signing_secret] });
    return webhook.data.id;
  }
  const webhookId = await connectResendWebhook();

  for (const slug of TEMPLATES) await setClerkDelivery(sandbox, slug, false);

  const settings = (values: Record<string, string> = {}, env: Record<string, string> = {}) =>
    parseStackConfig({
      values: { ...healthyValues(values.sendingDomain ?? DOMAIN), ...values },
      isSecret: () => false,
      env: { RESEND_API_KEY: sandbox.resend.apiKey, CLERK_SECRET_KEY: clerk.secretKey, ...env },
    });

  return {
    sandbox,
    registry,
    bridge,
    resend,
    domainId,
    webhookId,
    clerkEndpoint,
    dlqUrl,
    sqs,
    resendFront,
    settings,
    inputs: (overrides = {}) => ({
      stack: "sandbox",
      settings: settings(),
      resendBaseUrl: resendFront.url,
      clerkApiUrl: clerk.url,
      svixApiUrl: clerk.svix.url,
      bridgeUrl: bridge.url,
      deadLetterQueueName: DLQ_NAME,
      awsEnv: sandbox.aws.environment,
      dns: resolverLookup({ server: dns.address, timeoutMs: 500 }),
      timeoutMs: 5_000,
      ...overrides,
    }),
    cliEnvironment: () => ({
      ...sandbox.aws.environment,
      RESEND_API_KEY: sandbox.resend.apiKey,
      RESEND_BASE_URL: resendFront.url,
      CLERK_SECRET_KEY: clerk.secretKey,
      CLERK_API_URL: clerk.url,
      SVIX_API_URL: clerk.svix.url,
    }),
    createDomain,
    connectResendWebhook,
    async close() {
      await bridge.close();
      await new Promise<void>((resolve) => resendFront.server.close(() => resolve()));
      await registry.close();
      await sandbox.close();
    },
  };
}

export async function setClerkDelivery(
  sandbox: Sandbox,
  slug: string,
  deliveredByClerk: boolean,
): Promise<void> {
  const res = await fetch(`${sandbox.clerk.url}/v1/templates/email/${slug}/toggle_delivery`, {
    method: "POST",
    headers: { authorization: `Bearer ${sandbox.clerk.secretKey}`, "content-type": "application/json" },
    body: JSON.stringify({ delivered_by_clerk: deliveredByClerk }),
  });
  if (!res.ok) throw new Error(`toggle ${slug}: ${await res.text()}`);
}

/** A URL on 127.0.0.1 where nothing listens: a port that was just free. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/**
 * A bridge look-alike that answers 200 to everything, signed or not; `health` is the body of its
 * `/health` answer (another shape than the bridge's own, as a newer ingest may send).
 */
export async function startCredulousBridge(
  health = '{"status":"ok"}',
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(req.url === "/health" ? health : '{"status":"ok"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Requests to `GET /emails/metrics` as the front saw them, and the totals it answers with. */
export interface ResendFront {
  url: string;
  server: Server;
  totals: MetricTotals;
  metricsQueries: URLSearchParams[];
}

/**
 * Resend's API in front of the stand-in: `GET /emails/metrics` (in Resend's OpenAPI document, not in the
 * stand-in) answers the settable `totals` in the spec's shape; everything else is passed through unchanged.
 */
async function startResendFront(target: string): Promise<ResendFront> {
  const front: Omit<ResendFront, "url" | "server"> = { totals: {}, metricsQueries: [] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://front");
      if (req.method === "GET" && url.pathname === "/emails/metrics") {
        front.metricsQueries.push(url.searchParams);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            object: "metrics",
            start_date: new Date(Date.now() - 6 * 86_400_000).toISOString(),
            end_date: new Date().toISOString(),
            metrics: (url.searchParams.get("metrics") ?? "").split(","),
            dimensions: [],
            granularity: "daily",
            totals: front.totals,
          }),
        );
        return;
      }
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => k !== "host" && k !== "content-length"),
      ) as Record<string, string>;
      fetch(`${target}${req.url}`, {
        method: req.method,
        headers,
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      }).then(
        async (upstream) => {
          const body = Buffer.from(await upstream.arrayBuffer());
          const out: Record<string, string> = {};
          upstream.headers.forEach((v, k) => {
            if (k !== "content-encoding" && k !== "transfer-encoding" && k !== "content-length") out[k] = v;
          });
          res.writeHead(upstream.status, out);
          res.end(body);
        },
        () => {
          res.writeHead(502);
          res.end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(front, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server });
}

/** A server that accepts connections and never answers: a hung dependency. */
export async function startHungServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<import("node:net").Socket>();
  const server = createServer(() => undefined);
  server.on("connection", (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The result of `check`, failing the test with every id when there is none. */
export function find(results: CheckResult[], check: string): CheckResult {
  const found = results.find((r) => r.check === check);
  if (!found) throw new Error(`no ${check} in:\n${results.map((r) => `${r.check} ${r.status}`).join("\n")}`);
  return found;
}

export const problems = (results: CheckResult[]) => results.filter((r) => r.status !== "pass");

/** Applies a fault, runs `fn`, and restores the healthy state whatever happened. */
export async function withFault<T>(
  apply: () => unknown,
  restore: () => unknown,
  fn: () => Promise<T>,
): Promise<T> {
  await apply();
  try {
    return await fn();
  } finally {
    await restore();
  }
}

/** How a failure ends when both of the world's templates are cut over to the bridge. */
export const LOST = "verification_code, reset_password_code mail is lost";

/** Clerk delivers every template itself again (the state before the cutover), for the length of `fn`. */
export function beforeCutover<T>(world: DoctorWorld, fn: () => Promise<T>): Promise<T> {
  return withFault(
    () => Promise.all(TEMPLATES.map((slug) => setClerkDelivery(world.sandbox, slug, true))),
    () => Promise.all(TEMPLATES.map((slug) => setClerkDelivery(world.sandbox, slug, false))),
    fn,
  );
}
