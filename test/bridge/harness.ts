import { Resend } from "resend";
import { RESEND_EVENTS, type WebhookSource } from "../../src/bridge/events";
import { type LocalBridge, type LocalBridgeOptions, startLocalBridge } from "../../src/bridge/local";
import { type LocalDynamo, startLocalDynamo } from "../../src/bridge/local-dynamo";
import type { BackoffPolicy } from "../../src/lib/backoff";
import { type ClerkStandIn, startClerkStandIn } from "../../src/sandbox/clerk";
import { newSigningSecret } from "../../src/sandbox/core/ids";
import { type ResendStandIn, startResendStandIn } from "../../src/sandbox/resend";
import { signed } from "./fixtures";

export const SENDING_DOMAIN = "mail.example.com";

export interface Pipeline {
  resend: ResendStandIn;
  clerk: ClerkStandIn;
  bridge: LocalBridge;
  /** Posts `payload` to the bridge signed as `source` would sign it, as if that vendor had sent it. */
  deliver(source: WebhookSource, payload: unknown): Promise<Response>;
  /** The bridge's DynamoDB and table, for tests that act as another invocation on the same table. */
  dynamo: LocalDynamo;
  tableName: string;
  /** Waits until Clerk, Resend and the bridge are all quiet (events chain: send → Resend events → metadata). */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The whole pipeline over loopback: Clerk (with its Svix) and Resend stand-ins wired to a local bridge the
 * way the Pulumi program wires the real services: a Resend webhook and a Clerk Svix endpoint pointing at the
 * bridge's Function URL, and `verification_code`/`magic_link_sign_in` (or `selfDelivered`) switched to
 * self-delivery.
 */
export async function startPipeline(
  options: {
    backoff?: BackoffPolicy;
    bridge?: Partial<LocalBridgeOptions>;
    resendRateLimit?: number;
    selfDelivered?: string[];
  } = {},
): Promise<Pipeline> {
  const resend = await startResendStandIn({
    dnsServer: "127.0.0.1:9",
    rateLimitPerSecond: options.resendRateLimit ?? 1_000,
    timeScale: 0.001,
  });
  const clerk = await startClerkStandIn({
    timeScale: 0.001,
    instanceRateLimit: { limit: 10_000, windowMs: 10_000 },
  });
  resend.addVerifiedDomain(SENDING_DOMAIN);
  const tableName = "bridge-pipeline";
  const dynamo = await startLocalDynamo(tableName);
  const bridge = await startLocalBridge({
    dynamoTable: { client: dynamo.client, tableName },
    resendBaseUrl: resend.url,
    clerkApiUrl: clerk.url,
    resendApiKey: resend.apiKey,
    clerkSecretKey: clerk.secretKey,
    logLevel: "SILENT",
    backoff: options.backoff ?? { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
    queue: { visibilityTimeoutMs: 50, maxReceiveCount: 5 },
    ...options.bridge,
    settings: {
      fromAddress: `auth@${SENDING_DOMAIN}`,
      fromName: "Acme",
      stack: "e2e",
      ...options.bridge?.settings,
    },
  });

  const webhook = await new Resend(resend.apiKey, { baseUrl: resend.url }).webhooks.create({
    endpoint: bridge.webhookUrl("resend"),
    events: [...RESEND_EVENTS] as never,
  });
  if (!webhook.data) throw new Error(`could not create the Resend webhook: ${webhook.error?.message}`);

  const clerkSecret = newSigningSecret();
  clerk.instance.createSvixApp();
  const appId = clerk.instance.svixAppId as string;
  const token = clerk.svix.store.exchangeOneTimeToken(clerk.svix.store.issueOneTimeToken(appId))?.token;
  const endpoint = await fetch(`${clerk.svix.url}/api/v1/app/${appId}/endpoint`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ url: bridge.webhookUrl("clerk"), secret: clerkSecret }),
  });
  if (endpoint.status !== 201)
    throw new Error(`could not create the Clerk endpoint: ${await endpoint.text()}`);
  for (const slug of options.selfDelivered ?? ["verification_code", "magic_link_sign_in"]) {
    const res = await fetch(`${clerk.url}/v1/templates/email/${slug}/toggle_delivery`, {
      method: "POST",
      headers: { authorization: `Bearer ${clerk.secretKey}`, "content-type": "application/json" },
      body: JSON.stringify({ delivered_by_clerk: false }),
    });
    if (!res.ok) throw new Error(`could not toggle ${slug}: ${await res.text()}`);
  }
  const secrets: Record<WebhookSource, string> = { clerk: clerkSecret, resend: webhook.data.signing_secret };
  bridge.setWebhookSecrets({ clerk: [secrets.clerk], resend: [secrets.resend] });

  const fingerprint = () =>
    [
      resend.emails().length,
      resend.events().length,
      resend.dispatcher.deliveries.length,
      clerk.events().length,
      clerk.svix.deliveries().length,
      bridge.queue.depth,
    ].join("/");

  return {
    resend,
    clerk,
    bridge,
    deliver(source, payload) {
      const request = signed(payload, [secrets[source]]);
      return fetch(bridge.webhookUrl(source), {
        method: "POST",
        headers: request.headers,
        body: request.body,
      });
    },
    dynamo,
    tableName,
    async settle() {
      for (let round = 0; round < 50; round++) {
        const before = fingerprint();
        await clerk.settle();
        await resend.settle();
        await bridge.settle();
        if (fingerprint() === before && bridge.queue.depth === 0) return;
      }
      throw new Error("pipeline did not settle");
    },
    async close() {
      await bridge.close();
      await dynamo.close();
      await clerk.close();
      await resend.close();
    },
  };
}
