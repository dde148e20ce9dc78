// Input checks shared by the webhook providers; like every provider helper, globals only.
import { isUnknown } from "./vendor-http";

// Resend uses `email.bounced`, Clerk camelCase such as `organizationMembership.created`.
const EVENT_TYPE = /^[a-zA-Z_]+(\.[a-zA-Z_]+)+$/;
const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"];
/**
 * Names that pass for event types and that no vendor sends: Clerk's email template guide (and guides copied
 * from it) says `emails.created`. The bridge's ingest refuses the same name (src/bridge/clerk-templates.ts).
 */
const MISSPELLED_EVENT_TYPES: Record<string, string> = { "emails.created": "email.created" };

/** Problems with a webhook endpoint URL; plain http is accepted only for loopback stand-ins. */
export function endpointProblem(endpoint: unknown, field: string): string | undefined {
  if (typeof endpoint !== "string") return `${field} must be a URL (got ${JSON.stringify(endpoint)})`;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return `${field} must be an absolute URL such as https://hooks.example.com/resend (got "${endpoint}")`;
  }
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && LOOPBACK_HOSTS.includes(url.hostname)) return undefined;
  return `${field} must use https (plain http only for loopback addresses) (got "${endpoint}")`;
}

/** Problems with a list of event type names such as `email.bounced`. */
export function eventTypesProblem(events: unknown, field: string): string | undefined {
  if (isUnknown(events)) return undefined;
  if (!Array.isArray(events) || events.length === 0) {
    return `${field} must list at least one event type, e.g. ["email.bounced"]`;
  }
  const bad = events.filter((e) => !isUnknown(e) && (typeof e !== "string" || !EVENT_TYPE.test(e)));
  if (bad.length > 0) {
    return `${field} has invalid event types ${JSON.stringify(bad)}; use names such as "email.bounced"`;
  }
  const misspelled = events.find((e) => typeof e === "string" && Object.hasOwn(MISSPELLED_EVENT_TYPES, e));
  if (misspelled) {
    const meant = MISSPELLED_EVENT_TYPES[misspelled as string];
    return `${field} has "${misspelled}", which is not an event: use "${meant}" (Clerk's template guide misspells it)`;
  }
  return undefined;
}
