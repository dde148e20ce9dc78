/**
 * The paths the ingest function serves. The Pulumi program registers both webhooks at them and the doctor
 * probes them, so they are defined once here.
 */
export const BRIDGE_PATHS = {
  clerk: "/webhooks/clerk",
  resend: "/webhooks/resend",
  health: "/health",
} as const;

/** `https://x.lambda-url…/` + `/webhooks/clerk` without a doubled or missing slash. */
export function bridgeEndpoint(bridgeUrl: string, path: string): string {
  return `${bridgeUrl.replace(/\/+$/, "")}${path}`;
}

/** Whether one webhook route can verify signatures; when not, why and the fix (no secret, no parameter). */
export type RouteReadiness = { ready: true } | { ready: false; problem: string; fix: string };

/**
 * The `GET /health` body: 200 with `status: "ok"` only when both routes can verify, else 503 with
 * `status: "unready"` and, per route, what is wrong. The doctor reads it.
 */
export interface BridgeHealth {
  status: "ok" | "unready";
  routes?: Record<"clerk" | "resend", RouteReadiness>;
  /** Set when the secrets could not be read at all. */
  error?: string;
}
