import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Resend } from "resend";
import { parseStackConfig, type StackSettings } from "../../infra/config";
import { dmarcValue, resendRecordFqdn, unquoteTxt } from "../../infra/dns/records";
import { RESEND_EVENTS } from "../../src/bridge/events";
import { type LocalBridge, startLocalBridge } from "../../src/bridge/local";
import { resolverLookup } from "../../src/doctor/dns-lookup";
import type { DoctorInputs } from "../../src/doctor/run";
import { type Sandbox, startSandbox } from "../../src/sandbox";

export const ZONE = "example.com";
export const DOMAIN = "mail.example.com";
export const TEMPLATES = ["verification_code", "reset_password_code"];
/** amazonses.com's SPF stands in for the real one, so Resend's `include:amazonses.com` can be followed. */
export const SES_SPF = "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 -all";

/** A fully set-up stack over loopback: verified domain with every record, webhooks, bridge, Clerk cutover. */
export interface DoctorWorld {
  sandbox: Sandbox;
  bridge: LocalBridge;
  resend: Resend;
  domainId: string;
  webhookId: string;
  /** The stack's settings through the program's own parser; `values` override the healthy ones. */
  settings(values?: Record<string, string>, env?: Record<string, string>): StackSettings;
  inputs(overrides?: Partial<DoctorInputs>): DoctorInputs;
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
    zones: [ZONE, "amazonses.com"],
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
  await sandbox.resend.settle();

  const bridge = await startLocalBridge({
    resendBaseUrl: sandbox.resend.url,
    clerkApiUrl: clerk.url,
    resendApiKey: sandbox.resend.apiKey,
    clerkSecretKey: clerk.secretKey,
    logLevel: "SILENT",
  });
  const clerkEndpoint = clerk.subscribe(bridge.webhookUrl("clerk"));
  bridge.setWebhookSecrets({ clerk: [clerkEndpoint.signingSecret] });

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
    bridge,
    resend,
    domainId,
    webhookId,
    settings,
    inputs: (overrides = {}) => ({
      stack: "sandbox",
      settings: settings(),
      resendBaseUrl: sandbox.resend.url,
      clerkApiUrl: clerk.url,
      bridgeUrl: bridge.url,
      dns: resolverLookup({ server: dns.address, timeoutMs: 500 }),
      ...overrides,
    }),
    createDomain,
    connectResendWebhook,
    async close() {
      await bridge.close();
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

/** A bridge look-alike that answers 200 to everything, signed or not. */
export async function startCredulousBridge(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"status":"ok"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
