import { StandInServer } from "../core/server";
import { type SvixStandIn, startSvixStandIn } from "../svix";
import { type BapiOptions, type RateLimit, registerBapiRoutes } from "./bapi-routes";
import { registerControlRoutes } from "./control-routes";
import { clerkFaultBody, clerkShapes } from "./errors";
import { type ClerkEventRecord, ClerkInstance, type EmailRecord } from "./instance";
import { type UserRecord, userJson } from "./users";

export { DEFAULT_BRANDING, type EmailEventData } from "./emails";
export { clerkErrorBody } from "./errors";
export {
  type ActorContext,
  ClerkApiError,
  type ClerkEventRecord,
  ClerkInstance,
  type EmailRecord,
  type SignUpResult,
  type WebhookEnvelope,
} from "./instance";
export { mergeMetadata } from "./metadata";
export { type UserRecord, userJson } from "./users";

export interface ClerkStandInOptions {
  /** The `sk_test_…` key clients must send as `Authorization: Bearer`. Default `sk_test_sandbox`. */
  secretKey?: string;
  /** Multiplies Svix retry delays; 0.001 turns Svix's hours into seconds. Default 1. */
  timeScale?: number;
  /** Default 100 requests / 10 s, a development instance's limit. */
  instanceRateLimit?: RateLimit;
  /** Default 10 metadata writes / 10 s per user. */
  userUpdateRateLimit?: RateLimit;
  /** Region encoded in Svix portal URLs. Default `us`. */
  svixRegion?: string;
}

export interface ClerkStandIn {
  /** `apiUrl` for `createClerkClient({ secretKey, apiUrl })`, e.g. `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly secretKey: string;
  readonly server: StandInServer;
  /** Clerk's Svix (webhook provider) with its own URL; see `docs/stand-ins/svix.md`. */
  readonly svix: SvixStandIn;
  readonly instance: ClerkInstance;
  /**
   * Adds a webhook endpoint to the instance's Svix app (creating the app if needed), as a Dashboard user
   * would; returns its signing secret. Tests of the real wiring go through the portal-URL recipe instead.
   */
  subscribe(url: string, eventTypes?: string[]): { appId: string; endpointId: string; signingSecret: string };
  /** Users as BAPI would return them. */
  users(): ReturnType<typeof userJson>[];
  /** Every email Clerk rendered (each emitted `email.created`), with whether Clerk delivered it itself. */
  emails(): EmailRecord[];
  /** Every webhook event the instance emitted, with the Svix deliveries queued for it. */
  events(): ClerkEventRecord[];
  /** Resolves once every queued webhook delivery has succeeded or exhausted its retries. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a Clerk Backend API stand-in (and its Svix) on 127.0.0.1 with ephemeral ports. */
export async function startClerkStandIn(opts: ClerkStandInOptions = {}): Promise<ClerkStandIn> {
  const svix = await startSvixStandIn({ region: opts.svixRegion, timeScale: opts.timeScale });
  const instance = new ClerkInstance(svix);
  const server = new StandInServer("clerk", clerkShapes);
  server.faults.shapeBody = clerkFaultBody;
  const options: BapiOptions = {
    secretKey: opts.secretKey ?? "sk_test_sandbox",
    instanceRateLimit: opts.instanceRateLimit ?? { limit: 100, windowMs: 10_000 },
    userUpdateRateLimit: opts.userUpdateRateLimit ?? { limit: 10, windowMs: 10_000 },
  };
  registerBapiRoutes(server, instance, options);
  registerControlRoutes(server, instance, svix);
  try {
    await server.listen();
  } catch (err) {
    await svix.close();
    throw err;
  }
  return {
    url: server.url,
    secretKey: options.secretKey,
    server,
    svix,
    instance,
    subscribe(url, eventTypes) {
      if (!instance.svixAppId) instance.createSvixApp();
      const appId = instance.svixAppId!;
      const endpoint = svix.addEndpoint(appId, { url, eventTypes: eventTypes ?? null });
      return { appId, endpointId: endpoint.id, signingSecret: endpoint.secrets[0]!.key };
    },
    users: () => instance.users.all().map((u: UserRecord) => userJson(u)),
    emails: () => [...instance.emails],
    events: () => [...instance.events],
    settle: () => svix.settle(),
    async close() {
      await server.close();
      await svix.close();
    },
  };
}
