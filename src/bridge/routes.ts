/**
 * The paths the ingest function serves. The Pulumi program registers both webhooks at them, its delivery
 * canary reads its outcome under `canary` (`GET /canary/<clerk email id>`), and the doctor probes them, so they
 * are defined once here.
 */
export const BRIDGE_PATHS = {
  clerk: "/webhooks/clerk",
  resend: "/webhooks/resend",
  health: "/health",
  canary: "/canary/",
} as const;

/** `https://x.lambda-url…/` + `/webhooks/clerk` without a doubled or missing slash. */
export function bridgeEndpoint(bridgeUrl: string, path: string): string {
  return `${bridgeUrl.replace(/\/+$/, "")}${path}`;
}
