import { createClerkClient } from "@clerk/backend";
import { MISSPELLED_CLERK_EVENTS } from "../bridge/clerk-templates";
import { CLERK_API_URL } from "../bridge/clerk-users";
import { CLERK_EVENTS } from "../bridge/events";
import { BRIDGE_PATHS, bridgeEndpoint } from "../bridge/routes";
import { classifyClerkError } from "../lib/clerk-errors";
import type { ClerkWebhookMode } from "../settings/stack-config";
import {
  type CallFailure,
  type CheckResult,
  credentialCheck,
  type Fetched,
  plural,
  resultsFor,
  unreachable,
} from "./types";

export interface ClerkFacts {
  /** The user count: proves the secret key works. */
  key: Fetched<number>;
  /** `delivered_by_clerk` per configured template slug. */
  templates: Record<string, Fetched<{ deliveredByClerk: boolean }>>;
  /** Whether a portal URL could be minted, i.e. the instance has its Svix app. */
  svixApp: Fetched<true>;
}

function clerkFailure(err: unknown): CallFailure {
  const e = classifyClerkError(err);
  // The SDK wraps a failed fetch in a ClerkAPIResponseError without a status (code `unexpected_error`).
  const noAnswer = e.status === undefined;
  const transient =
    noAnswer || e.kind === "network" || e.kind === "rate_limited" || e.kind === "server_error";
  return { transient, status: e.status, code: e.code, message: e.longMessage };
}

async function attempt<T>(fn: () => Promise<T>): Promise<Fetched<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, failure: clerkFailure(err) };
  }
}

/**
 * Templates have no `@clerk/backend` method (the routes are deprecated but the only way), so they are read
 * with `fetch`. Errors are shaped like the SDK's so one classifier reads both.
 */
async function readTemplate(
  apiUrl: string,
  secretKey: string,
  slug: string,
): Promise<{ deliveredByClerk: boolean }> {
  const res = await fetch(`${apiUrl.replace(/\/+$/, "")}/v1/templates/email/${encodeURIComponent(slug)}`, {
    headers: { authorization: `Bearer ${secretKey}`, accept: "application/json" },
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json().catch(() => ({}))) as {
    delivered_by_clerk?: unknown;
    errors?: { code: string; message: string; long_message?: string }[];
  };
  if (!res.ok) {
    const errors = (body.errors ?? []).map((e) => ({ ...e, longMessage: e.long_message }));
    throw Object.assign(new Error(res.statusText), { status: res.status, errors });
  }
  return { deliveredByClerk: body.delivered_by_clerk === true };
}

export async function fetchClerkFacts(options: {
  secretKey: string;
  apiUrl?: string;
  templates: string[];
}): Promise<ClerkFacts> {
  const apiUrl = options.apiUrl ?? CLERK_API_URL;
  const clerk = createClerkClient({ secretKey: options.secretKey, apiUrl });
  const key = await attempt(() => clerk.users.getCount());
  const templates: ClerkFacts["templates"] = {};
  for (const slug of options.templates) {
    templates[slug] = await attempt(() => readTemplate(apiUrl, options.secretKey, slug));
  }
  // The portal URL carries a one-time login token: only whether it could be made is kept.
  const svixApp = await attempt(async () => {
    await clerk.webhooks.generateSvixAuthURL();
    return true as const;
  });
  return { key, templates, svixApp };
}

const clerk = resultsFor("clerk");

const KEY_FIX = "copy the secret key from Clerk Dashboard → API keys and export CLERK_SECRET_KEY=sk_…";

export function checkClerkKey(facts: ClerkFacts): CheckResult {
  return credentialCheck("clerk", "clerk.secret-key", "CLERK_SECRET_KEY", facts.key, KEY_FIX, (users) =>
    plural(users, "user"),
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
    const toggle = `pulumi up (the Clerk delivery cutover), or POST /v1/templates/email/${slug}/toggle_delivery {"delivered_by_clerk":false}`;
    return bridgeUp
      ? clerk.fail(
          id,
          `${slug} is still delivered by Clerk: these emails bypass Resend and the bridge`,
          toggle,
        )
      : clerk.warn(
          id,
          `${slug} is still delivered by Clerk (expected before the cutover: the bridge is not up yet)`,
          `deploy the bridge, then ${toggle}`,
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
  if (facts.svixApp.ok) return clerk.pass(id, "the instance has its Svix app (webhooks can be delivered)");
  const endpoint = bridgeEndpoint(bridgeUrl ?? "<bridge>", BRIDGE_PATHS.clerk);
  const fix =
    mode === "portal"
      ? "pulumi up creates it (clerkWebhookMode portal), together with the endpoint"
      : `open Clerk Dashboard → Webhooks (that creates the app) and add the endpoint ${endpoint} ${SUBSCRIBED_TO}`;
  if (facts.svixApp.failure.code === "svix_app_missing") {
    return clerk.fail(
      id,
      "the instance has no Svix app: Clerk sends no webhooks, so email.created never reaches the bridge",
      fix,
    );
  }
  return unreachable("clerk", id, "could not check the Svix app", facts.svixApp.failure, KEY_FIX);
}
