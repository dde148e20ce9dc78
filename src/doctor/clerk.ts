import { MISSPELLED_CLERK_EVENTS } from "../bridge/clerk-templates";
import { CLERK_EVENTS } from "../bridge/events";
import { BRIDGE_PATHS, bridgeEndpoint } from "../bridge/routes";
import type { ClerkWebhookMode } from "../settings/stack-config";
import { callJson } from "./http";
import {
  type CallFailure,
  type CheckResult,
  credentialCheck,
  type Fetched,
  plural,
  resultsFor,
  unreachable,
} from "./types";

/** Clerk's Backend API; `CLERK_API_URL` points the doctor at another one (the sandbox's). */
export const DEFAULT_CLERK_API_URL = "https://api.clerk.com";

export interface ClerkFacts {
  /** The user count: proves the secret key works. */
  key: Fetched<number>;
  /** `delivered_by_clerk` per configured template slug. */
  templates: Record<string, Fetched<{ deliveredByClerk: boolean }>>;
  /**
   * The app-portal login URL of the instance's Svix app. It carries a one-time token, so it stays in memory:
   * only whether it could be made is reported.
   */
  svixPortal: Fetched<string>;
}

type ClerkErrors = { errors?: { code?: string; message?: string; long_message?: string }[] };

/**
 * One BAPI call through `fetch` with a deadline (the SDK has none, so a hung Clerk would stall the report).
 * Clerk's error body `{errors: [{code, long_message}]}` becomes the failure's code and message.
 */
export async function bapi<T>(
  options: { apiUrl: string; secretKey: string; timeoutMs: number },
  method: string,
  path: string,
  read: (body: Record<string, unknown>) => T,
): Promise<Fetched<T>> {
  const answer = await callJson(
    `${options.apiUrl.replace(/\/+$/, "")}/v1${path}`,
    { method, headers: { authorization: `Bearer ${options.secretKey}` } },
    options.timeoutMs,
  );
  if (!answer.ok) return answer;
  const { status, body } = answer.value;
  const json = (body ?? {}) as Record<string, unknown> & ClerkErrors;
  if (status >= 200 && status < 300) return { ok: true, value: read(json) };
  const first = json.errors?.[0];
  const failure: CallFailure = {
    transient: status === 429 || status >= 500,
    status,
    code: first?.code,
    message: first?.long_message ?? first?.message ?? `HTTP ${status}`,
  };
  return { ok: false, failure };
}

export async function fetchClerkFacts(options: {
  secretKey: string;
  apiUrl?: string;
  templates: string[];
  timeoutMs: number;
}): Promise<ClerkFacts> {
  const call = { apiUrl: options.apiUrl ?? DEFAULT_CLERK_API_URL, ...options };
  // Templates have no SDK method (the routes are deprecated but the only way); all calls run at once.
  const [key, svixPortal, ...templates] = await Promise.all([
    bapi(call, "GET", "/users/count", (body) => Number(body.total_count)),
    bapi(call, "POST", "/webhooks/svix_url", (body) => String(body.svix_url ?? "")),
    ...options.templates.map((slug) =>
      bapi(call, "GET", `/templates/email/${encodeURIComponent(slug)}`, (body) => ({
        deliveredByClerk: body.delivered_by_clerk === true,
      })),
    ),
  ]);
  return {
    key: key as Fetched<number>,
    svixPortal: svixPortal as Fetched<string>,
    templates: Object.fromEntries(
      options.templates.map((slug, i) => [slug, templates[i] as Fetched<{ deliveredByClerk: boolean }>]),
    ),
  };
}

const clerk = resultsFor("clerk");

const KEY_FIX = "copy the secret key from Clerk Dashboard → API keys and export CLERK_SECRET_KEY=sk_…";

export function checkClerkKey(facts: ClerkFacts): CheckResult {
  return credentialCheck("clerk", "clerk.secret-key", "CLERK_SECRET_KEY", facts.key, KEY_FIX, (users) =>
    plural(users, "user"),
  );
}

/** Slugs whose emails Clerk no longer delivers itself: from then on every one of them goes through the bridge. */
export function cutOverTemplates(facts: ClerkFacts): string[] {
  return Object.entries(facts.templates).flatMap(([slug, t]) =>
    t.ok && !t.value.deliveredByClerk ? [slug] : [],
  );
}

/**
 * A template Clerk still delivers never reaches Resend. Before the bridge is up that is the expected state
 * (the cutover waits for it); once the bridge answers, it means the cutover did not happen.
 */
export function checkTemplates(facts: ClerkFacts, bridgeUp: boolean): CheckResult[] {
  return Object.entries(facts.templates).map(([slug, fetched]) => {
    const id = `clerk.template.${slug}`;
    if (!fetched.ok) {
      const fix =
        fetched.failure.status === 404
          ? `remove ${slug} from the stack's templates (pulumi config set --path 'templates[N]' <slug>); slugs: GET /v1/templates/email`
          : KEY_FIX;
      return unreachable("clerk", id, `could not read template ${slug}`, fetched.failure, fix);
    }
    if (!fetched.value.deliveredByClerk)
      return clerk.pass(id, `${slug} is delivered by the bridge through Resend`);
    const toggle = `pulumi up --refresh (the Clerk delivery cutover), or POST /v1/templates/email/${slug}/toggle_delivery {"delivered_by_clerk":false}`;
    return bridgeUp
      ? clerk.fail(
          id,
          `${slug} is still delivered by Clerk: these emails bypass Resend and the bridge`,
          toggle,
          { code: "delivered-by-clerk" },
        )
      : clerk.warn(
          id,
          `${slug} is still delivered by Clerk (expected before the cutover: the bridge is not up yet)`,
          `deploy the bridge, then ${toggle}`,
          { code: "delivered-by-clerk" },
        );
  });
}

/**
 * The events the Clerk endpoint needs, with the spelling guides get wrong: Clerk's email template guide says
 * `emails.created`, which Clerk never sends, so an endpoint subscribed to it gets no email at all.
 */
const SUBSCRIBED_TO = `subscribed to ${CLERK_EVENTS.join(", ")} (${Object.entries(MISSPELLED_CLERK_EVENTS)
  .map(([wrong, right]) => `${right}, not the ${wrong} of Clerk's email template guide`)
  .join("; ")})`;

export function checkSvixApp(
  facts: ClerkFacts,
  mode: ClerkWebhookMode,
  bridgeUrl: string | undefined,
): CheckResult {
  const id = "clerk.svix-app";
  if (facts.svixPortal.ok) return clerk.pass(id, "the instance has its Svix app (webhooks can be delivered)");
  const endpoint = bridgeEndpoint(bridgeUrl ?? "<bridge>", BRIDGE_PATHS.clerk);
  const fix =
    mode === "portal"
      ? "pulumi up --refresh creates it (clerkWebhookMode portal), together with the endpoint"
      : `open Clerk Dashboard → Webhooks (that creates the app) and add the endpoint ${endpoint} ${SUBSCRIBED_TO}`;
  if (facts.svixPortal.failure.code === "svix_app_missing") {
    return clerk.fail(
      id,
      "the instance has no Svix app: Clerk sends no webhooks, so email.created never reaches the bridge",
      fix,
      { code: "missing" },
    );
  }
  return unreachable("clerk", id, "could not check the Svix app", facts.svixPortal.failure, KEY_FIX);
}
