import { randomBytes } from "node:crypto";
import { newSigningSecret, prefixedId } from "../core/ids";
import { type Delivery, type DispatchEndpoint, SvixDispatcher } from "../core/svix-dispatcher";

/** How long a rotated-out secret keeps signing: Svix keeps the previous secret valid for 24 hours. */
export const ROTATION_GRACE_MS = 24 * 3_600_000;

export interface EndpointSecret {
  key: string;
  /** Epoch ms after which the secret stops signing; absent for the current secret. */
  expiresAt?: number;
}

export interface SvixEndpoint {
  id: string;
  uid: string | null;
  url: string;
  description: string;
  disabled: boolean;
  /** `null` means every event type. */
  eventTypes: string[] | null;
  channels: string[] | null;
  metadata: Record<string, string>;
  throttleRate: number | null;
  /** Newest first. */
  secrets: EndpointSecret[];
  createdAt: Date;
  updatedAt: Date;
}

/** Endpoint fields as given on create; everything but `url` has Svix's default when absent. */
export interface NewEndpoint {
  url: string;
  description?: string;
  uid?: string | null;
  disabled?: boolean;
  eventTypes?: string[] | null;
  channels?: string[] | null;
  metadata?: Record<string, string>;
  throttleRate?: number | null;
  /** A caller-chosen `whsec_…` secret; a fresh one is generated when absent. */
  secret?: string | null;
}

export interface SvixApp {
  id: string;
  name: string;
  createdAt: Date;
  endpoints: Map<string, SvixEndpoint>;
  dispatcher: SvixDispatcher;
}

/**
 * Svix state: applications with endpoints, app-portal one-time tokens and the bearer tokens they are
 * exchanged for. Each application has its own dispatcher so a message only reaches that app's endpoints.
 */
export class SvixStore {
  readonly apps = new Map<string, SvixApp>();
  /** Dispatchers of deleted apps too (closed), so `deliveries()` keeps their history. */
  private readonly dispatchers: SvixDispatcher[] = [];
  private readonly oneTimeTokens = new Map<string, { appId: string; used: boolean }>();
  private readonly tokens = new Map<string, string>();

  constructor(
    readonly region: string,
    public timeScale: number,
  ) {}

  createApp(name: string): SvixApp {
    const app: SvixApp = {
      id: prefixedId("app"),
      name,
      createdAt: new Date(),
      endpoints: new Map(),
      // The dispatcher asks for the app's endpoints only when a message is sent, after `app` exists.
      dispatcher: new SvixDispatcher(() => this.dispatchTargets(app), { timeScale: this.timeScale }),
    };
    this.dispatchers.push(app.dispatcher);
    this.apps.set(app.id, app);
    return app;
  }

  deleteApp(appId: string): boolean {
    const app = this.apps.get(appId);
    if (!app) return false;
    this.apps.delete(appId);
    // Deleting an application deletes its messages: nothing of it is retried afterwards.
    app.dispatcher.close();
    for (const [token, owner] of this.tokens) if (owner === appId) this.tokens.delete(token);
    for (const [ott, entry] of this.oneTimeTokens) if (entry.appId === appId) this.oneTimeTokens.delete(ott);
    return true;
  }

  /** A single-use token that an app-portal login URL carries. */
  issueOneTimeToken(appId: string): string {
    if (!this.apps.has(appId)) throw new Error(`Svix app ${appId} does not exist; create it first`);
    const ott = `ott_${randomBytes(18).toString("base64url")}`;
    this.oneTimeTokens.set(ott, { appId, used: false });
    return ott;
  }

  /**
   * Burns a one-time token and returns an app-scoped bearer token, or `undefined` when the token is
   * unknown or already used. The region suffix is how the svix SDK picks a regional host from a token.
   */
  exchangeOneTimeToken(ott: string): { token: string; appId: string } | undefined {
    const entry = this.oneTimeTokens.get(ott);
    if (!entry || entry.used || !this.apps.has(entry.appId)) return undefined;
    entry.used = true;
    const token = `appsk_${randomBytes(24).toString("base64url")}.${this.region}`;
    this.tokens.set(token, entry.appId);
    return { token, appId: entry.appId };
  }

  /** The app a bearer token may act on, if the token is known. */
  appForToken(token: string): string | undefined {
    return this.tokens.get(token);
  }

  addEndpoint(app: SvixApp, input: NewEndpoint): SvixEndpoint {
    const now = new Date();
    const endpoint: SvixEndpoint = {
      id: prefixedId("ep"),
      uid: input.uid ?? null,
      url: input.url,
      description: input.description ?? "",
      disabled: input.disabled ?? false,
      eventTypes: input.eventTypes ?? null,
      channels: input.channels ?? null,
      metadata: input.metadata ?? {},
      throttleRate: input.throttleRate ?? null,
      secrets: [{ key: input.secret ?? newSigningSecret() }],
      createdAt: now,
      updatedAt: now,
    };
    app.endpoints.set(endpoint.id, endpoint);
    return endpoint;
  }

  findEndpoint(app: SvixApp, idOrUid: string): SvixEndpoint | undefined {
    const byId = app.endpoints.get(idOrUid);
    if (byId) return byId;
    for (const endpoint of app.endpoints.values()) if (endpoint.uid === idOrUid) return endpoint;
    return undefined;
  }

  /** Sends a message to the app's subscribed endpoints, signed and retried like Svix. */
  send(appId: string, eventType: string, payload: unknown, channels: string[] | null = null): Delivery[] {
    const app = this.apps.get(appId);
    if (!app) throw new Error(`Svix app ${appId} does not exist; cannot send ${eventType}`);
    return app.dispatcher.dispatch(eventType, payload, channels);
  }

  deliveries(): Delivery[] {
    return this.dispatchers.flatMap((d) => d.deliveries);
  }

  async settle(): Promise<void> {
    for (const dispatcher of this.dispatchers) await dispatcher.settle();
  }

  setTimeScale(value: number): void {
    this.timeScale = value;
    for (const dispatcher of this.dispatchers) dispatcher.timeScale = value;
  }

  close(): void {
    for (const dispatcher of this.dispatchers) dispatcher.close();
  }

  private dispatchTargets(app: SvixApp): DispatchEndpoint[] {
    const now = Date.now();
    return [...app.endpoints.values()].map((endpoint) => ({
      id: endpoint.id,
      url: endpoint.url,
      secrets: endpoint.secrets.filter((s) => !s.expiresAt || s.expiresAt > now).map((s) => s.key),
      eventTypes: endpoint.eventTypes,
      channels: endpoint.channels,
      disabled: endpoint.disabled,
    }));
  }
}
