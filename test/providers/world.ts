import type { ResendDomainArgs } from "../../infra/providers/resend-domain";
import { type ClerkStandIn, startClerkStandIn } from "../../src/sandbox/clerk";
import type { FaultSpec } from "../../src/sandbox/core/faults";
import type { RecordedRequest } from "../../src/sandbox/core/server";
import { type DnsStandIn, startDnsStandIn } from "../../src/sandbox/dns";
import { type ResendStandIn, startResendStandIn, type VerificationTiming } from "../../src/sandbox/resend";

export const ZONE = "example.com";

// biome-ignore lint/suspicious/noExplicitAny: vendor JSON in assertions
type Json = any;

/**
 * The stand-ins a provider test talks to, wired through the same environment variables the
 * providers read in a real deployment (RESEND_BASE_URL, RESEND_API_KEY, …).
 */
export class ProviderWorld {
  private current: ResendStandIn | undefined;

  constructor(readonly dns: DnsStandIn) {}

  get resend(): ResendStandIn {
    if (!this.current) throw new Error("call resetResend() first");
    return this.current;
  }

  get resendKey(): string {
    return this.resend.apiKey;
  }

  /**
   * A fresh Resend stand-in (no domains, no webhooks), generous rate limit unless a test lowers it.
   * Verification timing is vendor time at timeScale 1, i.e. real milliseconds.
   */
  async resetResend(verification: Partial<VerificationTiming> = {}): Promise<ResendStandIn> {
    await this.current?.close();
    this.current = await startResendStandIn({
      dnsServer: this.dns.address,
      rateLimitPerSecond: 1000,
      verification: { firstCheckMs: 20, intervalMs: 50, failAfterMs: 3_600_000, ...verification },
    });
    process.env.RESEND_BASE_URL = this.current.url;
    process.env.RESEND_API_KEY = this.current.apiKey;
    return this.current;
  }

  resendRatePerSecond(perSecond: number): void {
    this.resend.rateLimitPerSecond = perSecond;
  }

  async resendGet(path: string): Promise<{ status: number; body: Json }> {
    return this.resendCall("GET", path);
  }

  async resendPost(path: string, body: unknown): Promise<{ status: number; body: Json }> {
    return this.resendCall("POST", path, body);
  }

  /** A direct API call, as another tool or the dashboard would make it (outside the provider). */
  async resendCall(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const res = await fetch(this.resend.url + path, {
      method,
      headers: {
        authorization: `Bearer ${this.resend.apiKey}`,
        "user-agent": "provider-test",
        "content-type": "application/json",
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async resendFault(spec: FaultSpec | FaultSpec[]): Promise<void> {
    for (const one of Array.isArray(spec) ? spec : [spec]) this.resend.server.faults.add(one);
  }

  resendRequests(): RecordedRequest[] {
    return this.resend.server.requests;
  }

  /** Publishes Resend's records in the DNS stand-in the way the program's DNS resources would. */
  publish(records: { name: string; type: string; value: string; priority?: number }[]): void {
    for (const r of records) {
      const name = r.name === ZONE || r.name.endsWith(`.${ZONE}`) ? r.name : `${r.name}.${ZONE}`;
      if (r.type === "MX") {
        this.dns.upsert({ name, type: "MX", values: [{ priority: r.priority ?? 10, exchange: r.value }] });
      } else if (r.type === "TXT") {
        this.dns.upsert({ name, type: "TXT", values: [[r.value]] });
      } else {
        this.dns.upsert({ name, type: r.type as "CNAME", values: [r.value] });
      }
    }
  }

  async close(): Promise<void> {
    await this.current?.close();
    await this.dns.close();
  }
}

export async function startProviderWorld(): Promise<ProviderWorld> {
  const world = new ProviderWorld(await startDnsStandIn({ zones: [ZONE] }));
  await world.resetResend();
  return world;
}

/** The sending-domain arguments the program uses, with per-test overrides. */
export function resendDomainArgs(
  overrides: Partial<Record<keyof ResendDomainArgs, unknown>> = {},
): ResendDomainArgs {
  return {
    name: "mail.example.com",
    region: "eu-west-1",
    customReturnPath: "bounces",
    tls: "opportunistic",
    openTracking: false,
    clickTracking: false,
    adoptExisting: false,
    ...overrides,
  } as ResendDomainArgs;
}

/**
 * A Clerk stand-in (with its Svix) wired through CLERK_API_URL, CLERK_SECRET_KEY and SVIX_API_URL.
 * The instance limit is raised so direct test calls never hit it; 429s are injected where tested.
 */
export async function startClerkWorld(): Promise<ClerkStandIn> {
  const clerk = await startClerkStandIn({ instanceRateLimit: { limit: 10_000, windowMs: 10_000 } });
  process.env.CLERK_API_URL = clerk.url;
  process.env.CLERK_SECRET_KEY = clerk.secretKey;
  process.env.SVIX_API_URL = clerk.svix.url;
  return clerk;
}

/** A direct Backend API call, as the Clerk Dashboard or another tool would make it. */
export async function clerkCall(
  clerk: ClerkStandIn,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${clerk.url}/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${clerk.secretKey}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
