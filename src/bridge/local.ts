import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { Resend } from "resend";
import type { BackoffPolicy } from "../lib/backoff";
import { clerkUsersClient } from "./clerk-users";
import { DEFAULT_CODE_LIFETIME_SECONDS, DEFAULT_MAX_BODY_BYTES } from "./config";
import { resendEmailSender } from "./email-sender";
import type { WebhookSource } from "./events";
import { createIngestHandler, type IngestHandler } from "./ingest";
import { type LocalDynamo, startLocalDynamo } from "./local-dynamo";
import { InProcessQueue, type InProcessQueueOptions } from "./queue";
import { parseSecretValues, type SecretSnapshot, type SecretSource } from "./secrets";
import type { SendSettings } from "./send-job";
import { webhookAuthFrom } from "./signature";
import { BridgeStore } from "./store";
import { createTelemetry, type Telemetry, type TelemetryOptions } from "./telemetry";
import { clerkUserDirectory } from "./users";
import { createWorkerHandler, type WorkerHandler } from "./worker";

export interface LocalBridgeOptions {
  resendBaseUrl: string;
  clerkApiUrl: string;
  resendApiKey: string;
  clerkSecretKey: string;
  /**
   * Often unknown at start: the webhooks are registered once the bridge has a URL. See `setWebhookSecrets`.
   * A route without secrets answers 503, like a deployed bridge whose parameter holds the unset marker.
   */
  clerkWebhookSecrets?: string[];
  resendWebhookSecrets?: string[];
  port?: number;
  settings?: Partial<SendSettings>;
  queue?: Partial<InProcessQueueOptions>;
  backoff?: BackoffPolicy;
  maxBodyBytes?: number;
  logLevel?: TelemetryOptions["logLevel"];
  /** Use this DynamoDB endpoint instead of starting an in-memory one. */
  dynamoTable?: { client: LocalDynamo["client"]; tableName: string };
}

export interface LocalBridge {
  /** Base URL, e.g. `http://127.0.0.1:PORT`. */
  readonly url: string;
  webhookUrl(source: WebhookSource): string;
  readonly store: BridgeStore;
  readonly queue: InProcessQueue;
  readonly telemetry: Telemetry;
  readonly ingest: IngestHandler;
  readonly worker: WorkerHandler;
  setWebhookSecrets(secrets: Partial<Record<WebhookSource, string[]>>): void;
  /** Resolves once the queue is empty: every job done or dead-lettered. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

const LOCAL_SETTINGS: SendSettings = {
  fromAddress: "auth@mail.example.com",
  fromName: "Acme",
  replyTo: undefined,
  codeLifetimeSeconds: DEFAULT_CODE_LIFETIME_SECONDS,
  codeLifetimes: {},
  stack: "local",
  extraHeaders: {},
};

/**
 * The bridge's two handlers behind `node:http` on 127.0.0.1, with an in-process queue (visibility timeout,
 * `maxReceiveCount`, dead-letter list) between them and DynamoDB-compatible storage: the same code paths as
 * in Lambda, minus AWS. Requests are turned into Function URL events, base64-encoding non-text bodies.
 */
export async function startLocalBridge(options: LocalBridgeOptions): Promise<LocalBridge> {
  const telemetry = createTelemetry({ logLevel: options.logLevel ?? "WARN", emitMetrics: false });
  const ownDynamo = options.dynamoTable ? undefined : await startLocalDynamo("auth-email-bridge-local");
  const table = options.dynamoTable ?? { client: ownDynamo!.client, tableName: "auth-email-bridge-local" };
  const store = new BridgeStore(table.client, table.tableName);
  const backoff = options.backoff ?? { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 1_000 };
  const queue = new InProcessQueue({
    visibilityTimeoutMs: 2_000,
    maxReceiveCount: 5,
    ...options.queue,
  });

  const webhookSecrets = settableWebhookSecrets({
    ...(options.clerkWebhookSecrets ? { clerk: options.clerkWebhookSecrets } : {}),
    ...(options.resendWebhookSecrets ? { resend: options.resendWebhookSecrets } : {}),
  });
  const ingest = createIngestHandler({
    store,
    queue,
    auth: webhookAuthFrom(webhookSecrets),
    telemetry,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
  });
  const worker = createWorkerHandler({
    store,
    email: resendEmailSender(new Resend(options.resendApiKey, { baseUrl: options.resendBaseUrl }), 5_000),
    users: clerkUserDirectory(
      clerkUsersClient({ secretKey: options.clerkSecretKey, apiUrl: options.clerkApiUrl }),
      {
        backoff,
      },
    ),
    telemetry,
    settings: { ...LOCAL_SETTINGS, ...options.settings },
    backoff,
  });
  queue.start(worker);

  const server = createServer((req, res) => {
    void toFunctionUrlEvent(req)
      .then(ingest)
      .then(
        (result) => {
          res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
          res.end(result.body);
        },
        () => {
          res.writeHead(500, { "content-type": "application/json" });
          res.end('{"error":"internal error"}');
        },
      );
  });
  try {
    await listen(server, options.port ?? 0);
  } catch (err) {
    // A port in use must not leave the in-memory DynamoDB listening and the queue's timer running.
    queue.stop();
    await ownDynamo?.close();
    throw err;
  }
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    webhookUrl: (source) => `${url}/webhooks/${source}`,
    store,
    queue,
    telemetry,
    ingest,
    worker,
    setWebhookSecrets: (next) => webhookSecrets.set(next),
    settle: () => queue.settle(),
    async close() {
      queue.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ownDynamo?.close();
    },
  };
}

/**
 * Webhook secrets handed over in process (the local server has no SSM), parsed like the parameters: a route
 * given none is unset (503) until `set`, and each `set` is a new version the next request uses.
 */
function settableWebhookSecrets(
  initial: Partial<Record<WebhookSource, string[]>>,
): SecretSource & { set(next: Partial<Record<WebhookSource, string[]>>): void } {
  const given = { ...initial };
  const parse = (version: number): SecretSnapshot => ({
    version,
    secrets: parseSecretValues({
      ...(given.clerk ? { clerkWebhookSecret: given.clerk.join(" ") } : {}),
      ...(given.resend ? { resendWebhookSecret: given.resend.join(" ") } : {}),
    }),
  });
  let snapshot = parse(1);
  return {
    current: async () => snapshot,
    reloadAfter: async () => undefined,
    set(next) {
      Object.assign(given, next);
      snapshot = parse(snapshot.version + 1);
    },
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
}

async function toFunctionUrlEvent(req: IncomingMessage): Promise<APIGatewayProxyEventV2> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const url = new URL(req.url ?? "/", "http://local");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  // Function URLs pass text bodies as-is and base64-encode everything else.
  const text = /^(application\/json|text\/)/i.test(headers["content-type"] ?? "");
  const method = req.method ?? "GET";
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: "anonymous",
      apiId: "local",
      domainName: "127.0.0.1",
      domainPrefix: "local",
      http: {
        method,
        path: url.pathname,
        protocol: "HTTP/1.1",
        sourceIp: req.socket.remoteAddress ?? "",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: `local-${Date.now()}`,
      routeKey: "$default",
      stage: "$default",
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(raw.length > 0 ? { body: raw.toString(text ? "utf8" : "base64") } : {}),
    isBase64Encoded: raw.length > 0 && !text,
  };
}
