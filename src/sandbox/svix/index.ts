import { type ErrorShapes, StandInServer } from "../core/server";
import type { Delivery } from "../core/svix-dispatcher";
import { encodePortalUrl } from "./portal-url";
import { endpointOut, registerSvixRoutes, svixError } from "./routes";
import { type NewEndpoint, type SvixApp, type SvixEndpoint, SvixStore } from "./store";

export {
  decodePortalUrl,
  encodePortalUrl,
  type PortalKey,
  SVIX_REGION_URLS,
  svixApiBaseUrl,
} from "./portal-url";
export type { NewEndpoint, SvixApp, SvixEndpoint } from "./store";

export interface SvixStandInOptions {
  /** Region written into portal URLs and token suffixes (`us`, `eu`, …). Default `us`. */
  region?: string;
  /** Multiplies retry delays and secret-rotation grace; 0.001 turns hours into seconds. Default 1. */
  timeScale?: number;
}

export interface SvixStandIn {
  /** Base URL for `new Svix(token, { serverUrl: url })`. */
  readonly url: string;
  readonly region: string;
  readonly server: StandInServer;
  readonly store: SvixStore;
  createApp(name: string): SvixApp;
  deleteApp(appId: string): boolean;
  /** A fresh app-portal login URL for `appId`, carrying a single-use token. */
  portalUrl(appId: string): string;
  endpoints(appId: string): SvixEndpoint[];
  /** Registers an endpoint directly, skipping the portal login (what a Dashboard user would do). */
  addEndpoint(appId: string, input: NewEndpoint): SvixEndpoint;
  /** Sends a message on behalf of the app's owner (Clerk, for Clerk's app). */
  send(appId: string, eventType: string, payload: unknown, channels?: string[]): Delivery[];
  deliveries(): Delivery[];
  setTimeScale(value: number): void;
  settle(): Promise<void>;
  close(): Promise<void>;
}

const svixShapes: ErrorShapes = {
  notFound: () => svixError(404, "not_found", "Entity not found"),
  badJson: () => ({
    status: 422,
    body: {
      detail: [{ loc: ["body"], msg: "request body is not valid JSON", type: "value_error.jsondecode" }],
    },
  }),
};

/**
 * Starts a local Svix API on 127.0.0.1 with an ephemeral port. Sandbox control routes:
 * `GET /_sandbox/svix/apps` (apps with endpoints and secrets), `GET /_sandbox/svix/deliveries`,
 * `POST /_sandbox/svix/apps/:appId/messages {eventType, payload, channels?}`.
 */
export async function startSvixStandIn(opts: SvixStandInOptions = {}): Promise<SvixStandIn> {
  const region = opts.region ?? "us";
  const store = new SvixStore(region, opts.timeScale ?? 1);
  const server = new StandInServer("svix", svixShapes);
  server.faults.shapeBody = (status) =>
    status === 429
      ? { code: "rate_limit_exceeded", detail: "Too many requests" }
      : { code: "internal_error", detail: "Internal server error" };
  registerSvixRoutes(server, store);

  server.control("GET", "/svix/apps", () => ({
    status: 200,
    body: {
      data: [...store.apps.values()].map((app) => ({
        id: app.id,
        name: app.name,
        createdAt: app.createdAt.toISOString(),
        endpoints: [...app.endpoints.values()].map((e) => ({ ...endpointOut(e), secrets: e.secrets })),
      })),
    },
  }));
  server.control("GET", "/svix/deliveries", () => ({ status: 200, body: { data: store.deliveries() } }));
  server.control("POST", "/svix/apps/:appId/messages", (req) => {
    const body = (req.json() ?? {}) as { eventType?: unknown; payload?: unknown; channels?: unknown };
    if (!store.apps.has(req.params.appId ?? "")) return svixError(404, "not_found", "Entity not found");
    if (typeof body.eventType !== "string") {
      return svixError(400, "bad_request", "eventType (string) is required");
    }
    const channels = Array.isArray(body.channels) ? (body.channels as string[]) : null;
    const queued = store.send(req.params.appId ?? "", body.eventType, body.payload ?? {}, channels);
    return { status: 202, body: { data: queued } };
  });

  const url = await server.listen();
  return {
    url,
    region,
    server,
    store,
    createApp: (name) => store.createApp(name),
    deleteApp: (appId) => store.deleteApp(appId),
    portalUrl: (appId) => encodePortalUrl({ appId, oneTimeToken: store.issueOneTimeToken(appId), region }),
    endpoints: (appId) => [...(store.apps.get(appId)?.endpoints.values() ?? [])],
    addEndpoint(appId, input) {
      const app = store.apps.get(appId);
      if (!app) throw new Error(`Svix app ${appId} does not exist; create it first`);
      return store.addEndpoint(app, input);
    },
    send: (appId, eventType, payload, channels) => store.send(appId, eventType, payload, channels ?? null),
    deliveries: () => store.deliveries(),
    setTimeScale: (value) => store.setTimeScale(value),
    settle: () => store.settle(),
    async close() {
      store.close();
      await server.close();
    },
  };
}
