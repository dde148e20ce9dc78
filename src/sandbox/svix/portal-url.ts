/**
 * The Svix app-portal login URL that Clerk's `POST /v1/webhooks/svix` and `/svix_url` return:
 * `https://app.svix.com/login#key=<base64 JSON {appId, oneTimeToken, region}>`. The key lives in the
 * fragment so browsers never send it to a server; whoever holds the URL can exchange the one-time token.
 */
export interface PortalKey {
  appId: string;
  oneTimeToken: string;
  region: string;
}

const PORTAL_LOGIN = "https://app.svix.com/login";

export function encodePortalUrl(key: PortalKey): string {
  const json = JSON.stringify({ appId: key.appId, oneTimeToken: key.oneTimeToken, region: key.region });
  return `${PORTAL_LOGIN}#key=${Buffer.from(json, "utf8").toString("base64")}`;
}

/** Decodes a portal URL; throws naming what is wrong, never echoing the (secret) key itself. */
export function decodePortalUrl(portalUrl: string): PortalKey {
  const match = /[#&]key=([^&]+)/.exec(portalUrl);
  if (!match?.[1]) throw new Error("svix_url has no `#key=` fragment; expected an app.svix.com login URL");
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(decodeURIComponent(match[1]), "base64").toString("utf8"));
  } catch {
    throw new Error("svix_url key is not base64-encoded JSON");
  }
  const key = parsed as Partial<PortalKey>;
  for (const field of ["appId", "oneTimeToken", "region"] as const) {
    if (typeof key[field] !== "string" || key[field] === "") {
      throw new Error(`svix_url key lacks the string field \`${field}\``);
    }
  }
  return key as PortalKey;
}

/** Svix's regional API hosts, as the svix SDK lists them. */
export const SVIX_REGION_URLS: Readonly<Record<string, string>> = {
  us: "https://api.us.svix.com",
  eu: "https://api.eu.svix.com",
  in: "https://api.in.svix.com",
  ca: "https://api.ca.svix.com",
  au: "https://api.au.svix.com",
};

/**
 * Where a client sends Svix API calls for a portal key's region. `SVIX_API_URL` overrides the
 * region so the same code talks to the local stand-in; an unknown region falls back to the global
 * host (`api.svix.com`), which is also what the svix SDK does for a token without a region suffix.
 */
export function svixApiBaseUrl(region: string, env: NodeJS.ProcessEnv = process.env): string {
  const override = env.SVIX_API_URL?.trim();
  if (override) return override.replace(/\/+$/, "");
  return SVIX_REGION_URLS[region] ?? "https://api.svix.com";
}
