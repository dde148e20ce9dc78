import type { StandInServer } from "../core/server";
import type { VendorClock } from "../core/vendor-clock";
import type { BackgroundWork } from "./clock";
import type { DomainState, RecordShape } from "./domain-model";
import type { RequestGate, RouteAccess } from "./gate";

/** What the route modules of the Resend stand-in share. */
export interface ResendContext {
  server: StandInServer;
  gate: RequestGate;
  clock: VendorClock;
  work: BackgroundWork;
  /** Insertion order = creation order; lists show newest first. */
  domains: Map<string, DomainState>;
  zoneApex: (domain: string) => string;
  /** The record shape new domains get; a domain keeps the shape it was created with. */
  recordShape: RecordShape;
  /** Wraps `data` in Resend's envelope `{type, created_at, data}` and hands it to the webhook dispatcher. */
  emit(type: string, data: unknown): void;
}

/**
 * Registers a gated (User-Agent, API key, rate limit, permission) Resend route. Only the send routes
 * pass `access: "send"`: every other route refuses a sending-only key.
 */
export function apiRoute(
  ctx: ResendContext,
  method: string,
  path: string,
  handler: Parameters<StandInServer["route"]>[2],
  access: RouteAccess = "full",
): void {
  ctx.server.route(method, path, ctx.gate.wrap(handler, access));
}
