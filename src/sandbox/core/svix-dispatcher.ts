import { Webhook } from "standardwebhooks";
import { prefixedId } from "./ids";
import { VendorClock } from "./vendor-clock";

/**
 * Svix's (and so Resend's and Clerk's) delivery schedule: immediately, then 5 s, 5 min, 30 min,
 * 2 h, 5 h, 10 h, 10 h. Multiplied by `timeScale` so tests run it in milliseconds.
 */
export const SVIX_RETRY_SCHEDULE_MS = [
  0,
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
];

export interface DispatchEndpoint {
  id: string;
  url: string;
  /** Active signing secrets, newest first; during a rotation both sign every message. */
  secrets: string[];
  /** Event types this endpoint receives; `null`/empty means all. */
  eventTypes: string[] | null;
  /** Channels this endpoint listens on; when set, it only receives messages sent on one of them. */
  channels?: string[] | null;
  disabled?: boolean;
}

export interface DeliveryAttempt {
  at: string;
  status: number | null;
  error?: string;
  responseBody?: string;
}

export interface Delivery {
  msgId: string;
  endpointId: string;
  url: string;
  eventType: string;
  body: string;
  state: "pending" | "succeeded" | "failed";
  attempts: DeliveryAttempt[];
}

export interface DispatcherOptions {
  /** Multiplies every retry delay; 0.001 turns hours into seconds. Default 1 (real time). */
  timeScale?: number;
  /** Per-attempt timeout; Svix gives an endpoint 15 s to answer. */
  attemptTimeoutMs?: number;
}

/** Signs a message the way Svix does: `v1,<base64 HMAC>` per active secret, space-separated. */
export function svixHeaders(
  msgId: string,
  secrets: string[],
  body: string,
  at = new Date(),
): Record<string, string> {
  const signature = secrets.map((secret) => new Webhook(secret).sign(msgId, at, body)).join(" ");
  return {
    "svix-id": msgId,
    "svix-timestamp": String(Math.floor(at.getTime() / 1000)),
    "svix-signature": signature,
  };
}

/**
 * Delivers events to registered endpoints with Svix headers and Svix's retry schedule.
 * The same `svix-id` is used on every retry of a message, so receivers can dedupe on it.
 */
export class SvixDispatcher {
  readonly deliveries: Delivery[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly clock: VendorClock;
  /** Aborts attempts still waiting for an endpoint's answer when the dispatcher closes. */
  private readonly shutdown = new AbortController();

  constructor(
    private readonly endpoints: () => Iterable<DispatchEndpoint>,
    private readonly options: DispatcherOptions = {},
  ) {
    this.clock = new VendorClock(options.timeScale ?? 1);
  }

  set timeScale(value: number) {
    this.clock.timeScale = value;
  }

  /**
   * Queues `payload` for every enabled endpoint subscribed to `eventType` (and, for an endpoint that names
   * channels, sent on one of them); the first attempts start at once.
   */
  dispatch(eventType: string, payload: unknown, channels: string[] | null = null): Delivery[] {
    const body = JSON.stringify(payload);
    const queued: Delivery[] = [];
    for (const endpoint of this.endpoints()) {
      if (endpoint.disabled) continue;
      if (endpoint.eventTypes && endpoint.eventTypes.length > 0 && !endpoint.eventTypes.includes(eventType))
        continue;
      if (endpoint.channels?.length && !channels?.some((c) => endpoint.channels?.includes(c))) continue;
      const delivery: Delivery = {
        msgId: prefixedId("msg"),
        endpointId: endpoint.id,
        url: endpoint.url,
        eventType,
        body,
        state: "pending",
        attempts: [],
      };
      this.deliveries.push(delivery);
      queued.push(delivery);
      const run = this.deliver(delivery, endpoint).finally(() => this.inFlight.delete(run));
      this.inFlight.add(run);
    }
    return queued;
  }

  /** Resolves when every delivery queued so far has succeeded or exhausted its retries. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Stops delivering: an attempt still waiting for its endpoint is aborted and deliveries waiting for a
   * retry end as failed at once, so neither a socket nor a timer is left behind.
   */
  close(): void {
    this.shutdown.abort();
    this.clock.close();
  }

  private async deliver(delivery: Delivery, first: DispatchEndpoint): Promise<void> {
    let endpoint: DispatchEndpoint | undefined = first;
    for (const delay of SVIX_RETRY_SCHEDULE_MS) {
      if (delay > 0) {
        await this.clock.sleep(delay);
        // A retry goes to the endpoint as it is now: deleted or disabled meanwhile, it gets nothing more.
        endpoint = this.current(first.id);
      }
      if (this.clock.closed || !endpoint || endpoint.disabled) break;
      const attempt = await this.attempt(delivery, endpoint);
      delivery.attempts.push(attempt);
      if (attempt.status !== null && attempt.status >= 200 && attempt.status < 300) {
        delivery.state = "succeeded";
        return;
      }
    }
    delivery.state = "failed";
  }

  private current(endpointId: string): DispatchEndpoint | undefined {
    for (const endpoint of this.endpoints()) if (endpoint.id === endpointId) return endpoint;
    return undefined;
  }

  private async attempt(delivery: Delivery, endpoint: DispatchEndpoint): Promise<DeliveryAttempt> {
    const at = new Date();
    const headers = {
      "content-type": "application/json",
      "user-agent": "Svix-Webhooks/1.0 (sandbox)",
      ...svixHeaders(delivery.msgId, endpoint.secrets, delivery.body, at),
    };
    try {
      const res = await fetch(delivery.url, {
        method: "POST",
        headers,
        body: delivery.body,
        signal: AbortSignal.any([
          AbortSignal.timeout(this.options.attemptTimeoutMs ?? 15_000),
          this.shutdown.signal,
        ]),
      });
      const responseBody = (await res.text()).slice(0, 2_000);
      return { at: at.toISOString(), status: res.status, responseBody };
    } catch (err) {
      return { at: at.toISOString(), status: null, error: (err as Error).message };
    }
  }
}
