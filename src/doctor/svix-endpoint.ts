import { BRIDGE_PATHS, bridgeEndpoint } from "../bridge/routes";
import type { ClerkWebhookMode } from "../settings/stack-config";
import { callJson, statusFailure } from "./http";
import { type CallFailure, type CheckResult, type Fetched, resultsFor, unreachable } from "./types";

/**
 * The Clerk webhook endpoint, read the way `clerkWebhookMode: portal` manages it (infra/providers/
 * clerk-webhook.ts): Clerk's app-portal URL carries a one-time token in its `#key=` fragment, Svix exchanges
 * it for an app-scoped token, and that token lists the app's endpoints. Both tokens are credentials for the
 * whole app: they stay in memory and never reach the report.
 */

/** The event the bridge cannot work without: every verification code arrives as one. */
const REQUIRED_CLERK_EVENT = "email.created";

export interface SvixEndpointSummary {
  id: string;
  url: string;
  uid?: string | null;
  disabled: boolean;
  /** `null` (or absent) when the endpoint receives every event type. */
  eventTypes: string[] | null;
}

export type SvixEndpointFacts = Fetched<SvixEndpointSummary[]>;

interface PortalKey {
  appId: string;
  oneTimeToken: string;
  region?: string;
}

function decodePortalKey(portalUrl: string): PortalKey | undefined {
  // Not URLSearchParams: it would turn the base64 `+` into a space.
  const match = /[#&]key=([^&]+)/.exec(portalUrl);
  if (!match?.[1]) return undefined;
  try {
    const key = JSON.parse(Buffer.from(decodeURIComponent(match[1]), "base64").toString("utf8")) as PortalKey;
    return typeof key.appId === "string" && typeof key.oneTimeToken === "string" ? key : undefined;
  } catch {
    return undefined;
  }
}

/** `SVIX_API_URL` wins (the sandbox's stand-in); otherwise the portal key's region picks Svix's host. */
function svixBaseUrl(region: string | undefined, override: string | undefined): string {
  if (override?.trim()) return override.trim().replace(/\/+$/, "");
  const known = ["us", "eu", "in", "ca", "au"];
  return region && known.includes(region) ? `https://api.${region}.svix.com` : "https://api.svix.com";
}

const svixFailure = (status: number, body: unknown): CallFailure => {
  const b = (body ?? {}) as { code?: string; detail?: unknown };
  return statusFailure(status, b.code, typeof b.detail === "string" ? b.detail : `HTTP ${status}`);
};

export async function fetchSvixEndpoints(
  portalUrl: string,
  options: { svixApiUrl?: string; timeoutMs: number },
): Promise<SvixEndpointFacts> {
  const key = decodePortalKey(portalUrl);
  if (!key) {
    return {
      ok: false,
      failure: {
        transient: false,
        code: "portal_url_format",
        message: "Clerk's Svix portal URL has no readable #key= fragment (its format may have changed)",
      },
    };
  }
  const baseUrl = svixBaseUrl(key.region, options.svixApiUrl);
  const exchange = await callJson(
    `${baseUrl}/api/v1/auth/one-time-token`,
    { method: "POST", body: { oneTimeToken: key.oneTimeToken } },
    options.timeoutMs,
  );
  if (!exchange.ok) return exchange;
  const token = (exchange.value.body as { token?: unknown } | undefined)?.token;
  if (exchange.value.status !== 200 || typeof token !== "string") {
    return { ok: false, failure: svixFailure(exchange.value.status, exchange.value.body) };
  }
  const endpoints: SvixEndpointSummary[] = [];
  for (let iterator: string | undefined; ; ) {
    const query = `limit=250${iterator ? `&iterator=${encodeURIComponent(iterator)}` : ""}`;
    const page = await callJson(
      `${baseUrl}/api/v1/app/${encodeURIComponent(key.appId)}/endpoint?${query}`,
      { headers: { authorization: `Bearer ${token}` } },
      options.timeoutMs,
    );
    if (!page.ok) return page;
    if (page.value.status !== 200)
      return { ok: false, failure: svixFailure(page.value.status, page.value.body) };
    const body = page.value.body as {
      data?: Record<string, unknown>[];
      iterator?: string | null;
      done?: boolean;
    };
    for (const e of body.data ?? []) {
      // Svix 1.x names the filter `filterTypes`, 2.x `eventTypes`.
      const types = (e.eventTypes ?? e.filterTypes ?? null) as string[] | null;
      endpoints.push({
        id: String(e.id),
        url: String(e.url ?? ""),
        uid: (e.uid as string | null | undefined) ?? null,
        disabled: e.disabled === true,
        eventTypes: types && types.length > 0 ? types : null,
      });
    }
    if (body.done !== false || !body.iterator) return { ok: true, value: endpoints };
    iterator = body.iterator;
  }
}

const clerk = resultsFor("clerk");
const sameUrl = (a: string, b: string) => a.replace(/\/+$/, "") === b.replace(/\/+$/, "");

/**
 * The endpoint that carries `email.created` to the bridge. Once templates are cut over, an endpoint that is
 * missing, disabled, elsewhere or filtering the event out loses every verification code: a failure. Before
 * the cutover Clerk still delivers, so the same findings are warnings.
 */
export function checkClerkEndpoint(input: {
  mode: ClerkWebhookMode;
  bridgeUrl: string | undefined;
  endpoints: SvixEndpointFacts | undefined;
  cutOver: string[];
}): CheckResult[] {
  const id = "clerk.webhook-endpoint";
  const url = input.bridgeUrl ? bridgeEndpoint(input.bridgeUrl, BRIDGE_PATHS.clerk) : undefined;
  if (input.mode === "manual") {
    return [
      clerk.warn(
        id,
        "clerkWebhookMode is manual: the doctor does not open the instance's Svix app portal, so the endpoint's URL, its event filter and whether it is enabled are not checked",
        `in Clerk Dashboard → Webhooks check that ${url ?? "<bridgeUrl>/webhooks/clerk"} is enabled and subscribes to ${REQUIRED_CLERK_EVENT}`,
        { code: "not-checked" },
      ),
    ];
  }
  if (!input.endpoints) return []; // no Svix app: clerk.svix-app reports it
  if (!input.endpoints.ok) {
    return [
      unreachable(
        "clerk",
        id,
        "could not read the Clerk webhook endpoints through the Svix app portal",
        input.endpoints.failure,
        "open Clerk Dashboard → Webhooks and check the endpoint by hand; if the portal exchange keeps failing, see docs/pulumi.md (portal mode)",
      ),
    ];
  }
  if (!url) {
    return [
      clerk.warn(
        id,
        "the bridge URL is unknown, so the Clerk endpoint pointing at it cannot be found",
        "pass --bridge-url <Function URL> or --outputs <file from pulumi stack output --json>",
        { code: "not-checked" },
      ),
    ];
  }
  const all = input.endpoints.value;
  const details = { expectedUrl: url, endpoints: all };
  const problem = (code: string, message: string, fix: string) =>
    input.cutOver.length > 0
      ? clerk.fail(id, `${message}; ${input.cutOver.join(", ")} mail is lost`, fix, { code, details })
      : clerk.warn(id, `${message} (Clerk still delivers the templates itself)`, fix, { code, details });
  const refresh = "pulumi up --refresh, which re-creates the stack's ClerkWebhookEndpoint";
  const matching = all.filter((e) => sameUrl(e.url, url));
  if (matching.length === 0) {
    const ours = all.find((e) => e.uid?.startsWith("auth-email-pipeline-"));
    if (ours) {
      return [
        problem(
          "wrong-url",
          `the stack's Clerk endpoint ${ours.id} sends to ${ours.url}, not ${url}`,
          `${refresh}, or set its URL to ${url} in Clerk Dashboard → Webhooks → ${ours.id}`,
        ),
      ];
    }
    const elsewhere = all.length > 0 ? ` (endpoints: ${all.map((e) => e.url).join(", ")})` : "";
    return [
      problem(
        "missing",
        `no Clerk webhook endpoint sends to ${url}${elsewhere}: email.created never reaches the bridge`,
        refresh,
      ),
    ];
  }
  const enabled = matching.filter((e) => !e.disabled);
  if (enabled.length === 0) {
    const ep = matching[0] as SvixEndpointSummary;
    return [
      problem(
        "disabled",
        `the Clerk webhook endpoint ${ep.id} for ${url} is disabled (Svix disables endpoints that keep failing)`,
        `fix the bridge, then enable it in Clerk Dashboard → Webhooks → ${ep.id}, or run ${refresh}`,
      ),
    ];
  }
  const receiving = enabled.find((e) => e.eventTypes === null || e.eventTypes.includes(REQUIRED_CLERK_EVENT));
  if (!receiving) {
    const ep = enabled[0] as SvixEndpointSummary;
    return [
      problem(
        "events",
        `the Clerk webhook endpoint ${ep.id} for ${url} filters out ${REQUIRED_CLERK_EVENT} (it subscribes to ${(ep.eventTypes ?? []).join(", ")})`,
        `${refresh}, or subscribe it to ${REQUIRED_CLERK_EVENT} in Clerk Dashboard → Webhooks → ${ep.id}`,
      ),
    ];
  }
  return [
    clerk.pass(id, `Clerk webhook endpoint ${receiving.id} sends ${REQUIRED_CLERK_EVENT} to ${url}`, details),
  ];
}
