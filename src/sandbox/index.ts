import { type LocalAws, startLocalAws } from "./aws";
import { type ClerkStandIn, startClerkStandIn } from "./clerk";
import { type DnsStandIn, startDnsStandIn } from "./dns";
import { type ResendStandIn, startResendStandIn, type VerificationTiming } from "./resend";

export interface SandboxOptions {
  /** Zones the DNS stand-in is authoritative for; the sending domain's zone must be one of them. */
  zones?: string[];
  /** Scales vendor time (webhook retries, verification windows, queue visibility); 1 is real time. */
  timeScale?: number;
  /**
   * Resend's team-wide request rate. Resend's docs have said 2, then 5, then 10 per second, and the limit is
   * set per account; the stand-in's default is the lowest, 2/s, the stack setting's default too.
   */
  resendRateLimitPerSecond?: number;
  /** Resend's verification durations in vendor time (before `timeScale`); defaults: 10 s, 1 h, 72 h, 1 h. */
  resendVerification?: Partial<VerificationTiming>;
}

/** Every stand-in, started on ephemeral loopback ports, with what a client needs to reach each. */
export interface Sandbox {
  dns: DnsStandIn;
  resend: ResendStandIn;
  clerk: ClerkStandIn;
  aws: LocalAws;
  /** Environment that points the SDKs and this project's providers at the stand-ins. */
  environment: Record<string, string>;
  close(): Promise<void>;
}

const DEFAULT_SANDBOX_ZONES = ["example.com"];

/** Starts DNS, Resend, Clerk (with its Svix) and the local AWS services, wired to each other. */
export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const timeScale = opts.timeScale ?? 1;
  const started: { close(): Promise<void> }[] = [];
  try {
    const dns = await startDnsStandIn({ zones: opts.zones ?? DEFAULT_SANDBOX_ZONES });
    started.push(dns);
    const resend = await startResendStandIn({
      dnsServer: dns.address,
      timeScale,
      rateLimitPerSecond: opts.resendRateLimitPerSecond,
      verification: opts.resendVerification,
    });
    started.push(resend);
    const clerk = await startClerkStandIn({ timeScale });
    started.push(clerk);
    const aws = await startLocalAws({ timeScale });
    started.push(aws);
    const environment: Record<string, string> = {
      ...aws.environment,
      RESEND_BASE_URL: resend.url,
      RESEND_API_KEY: resend.apiKey,
      CLERK_API_URL: clerk.url,
      CLERK_SECRET_KEY: clerk.secretKey,
      SVIX_API_URL: clerk.svix.url,
    };
    return {
      dns,
      resend,
      clerk,
      aws,
      environment,
      close: () => closeAll(started),
    };
  } catch (err) {
    await closeAll(started);
    throw err;
  }
}

async function closeAll(services: { close(): Promise<void> }[]): Promise<void> {
  await Promise.allSettled([...services].reverse().map((s) => s.close()));
}
