import * as pulumi from "@pulumi/pulumi";
import { endpointProblem, eventTypesProblem } from "./validate";
import {
  type CallRoute,
  callVendor,
  callVendorOk,
  clerkCall,
  errorName,
  isUnknown,
  readVendorObject,
  sameSet,
  type VendorCall,
  vendorError,
} from "./vendor-http";

export interface ClerkWebhookEndpointArgs {
  url: pulumi.Input<string>;
  eventTypes: pulumi.Input<pulumi.Input<string>[]>;
  description: pulumi.Input<string>;
}

export interface ClerkWebhookEndpointInputs {
  url: string;
  eventTypes: string[];
  description: string;
}

export interface ClerkWebhookEndpointOutputs extends ClerkWebhookEndpointInputs {
  endpointId: string;
  signingSecret: string;
  /** The Svix application behind the Clerk instance. */
  appId: string;
  /** Svix idempotency key: a retried create finds the endpoint instead of adding a second one. */
  uid: string;
}

/** What the `#key=` fragment of Clerk's portal URL carries. */
export interface SvixPortalKey {
  appId: string;
  oneTimeToken: string;
  region?: string;
}

/** A short-lived Svix session; `token` is a credential for the whole app and never leaves memory. */
interface SvixSession {
  appId: string;
  baseUrl: string;
  token: string;
}

interface SvixEndpoint {
  id: string;
  url?: string;
  description?: string;
  uid?: string | null;
  filterTypes?: string[] | null;
  eventTypes?: string[] | null;
}

/** Decodes `https://app.svix.com/login#key=<base64 JSON>` into the app id, one-time token and region. */
export function decodePortalUrl(svixUrl: string): SvixPortalKey {
  const fix =
    "Clerk's Svix portal URL format may have changed; create the endpoint in the Clerk Dashboard instead.";
  // Not URLSearchParams: it would turn the base64 `+` into a space.
  const match = /[#&]key=([^&]+)/.exec(svixUrl);
  const key = match?.[1] ? decodeURIComponent(match[1]) : undefined;
  if (!key) throw new Error(`Clerk's svix_url has no #key= fragment. ${fix}`);
  let decoded: Partial<SvixPortalKey>;
  try {
    decoded = JSON.parse(Buffer.from(key, "base64").toString("utf8"));
  } catch {
    throw new Error(`The #key= fragment of Clerk's svix_url is not base64 JSON. ${fix}`);
  }
  if (typeof decoded.appId !== "string" || typeof decoded.oneTimeToken !== "string") {
    throw new Error(`The #key= fragment of Clerk's svix_url lacks appId or oneTimeToken. ${fix}`);
  }
  return { appId: decoded.appId, oneTimeToken: decoded.oneTimeToken, region: decoded.region };
}

/** `SVIX_API_URL` wins; otherwise the portal key's region picks Svix's regional API. */
export function svixBaseUrl(region: string | undefined): string {
  const override = process.env.SVIX_API_URL?.trim();
  if (override) return override;
  // Svix's regional hosts; an unknown region falls back to the global host, as the svix SDK does.
  const known = ["us", "eu", "in", "ca", "au"];
  return region && known.includes(region) ? `https://api.${region}.svix.com` : "https://api.svix.com";
}

// FNV-1a: a stable, dependency-free digest, enough to derive an idempotency uid from the URL.
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

class ClerkWebhookEndpointProvider implements pulumi.dynamic.ResourceProvider {
  configuredKey: string | undefined;

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.configuredKey = req.config.get("clerkSecretKey");
  }

  /**
   * Opens a Svix session the way Clerk's dashboard does: make sure the instance has its Svix app,
   * mint a portal login URL, and exchange its one-time token for an app-scoped token.
   */
  async session(): Promise<SvixSession> {
    const ensure = clerkCall(
      this.configuredKey,
      "POST",
      "/webhooks/svix",
      "create the Clerk instance's Svix app",
    );
    const created = await callVendor(ensure);
    const exists = created.status === 400 && errorName(created.body) === "svix_app_exists";
    if (!(created.status >= 200 && created.status < 300) && !exists) throw vendorError(ensure, created);
    const portal = await callVendorOk(
      clerkCall(
        this.configuredKey,
        "POST",
        "/webhooks/svix_url",
        "open the Svix portal for the Clerk instance",
      ),
    );
    const key = decodePortalUrl(String(portal.body?.svix_url ?? ""));
    const baseUrl = svixBaseUrl(key.region);
    const exchange = await callVendorOk({
      vendor: "Svix",
      method: "POST",
      baseUrl,
      path: "/api/v1/auth/one-time-token/",
      token: "",
      body: { oneTimeToken: key.oneTimeToken },
      redact: [key.oneTimeToken],
      action: "exchange Clerk's one-time portal token",
    });
    const token = exchange.body?.token;
    if (typeof token !== "string" || token === "") {
      throw new Error("Svix accepted the one-time portal token but returned no session token; try again.");
    }
    return { appId: key.appId, baseUrl, token };
  }

  svix(s: SvixSession, ...[method, path, action, body]: CallRoute): VendorCall {
    return {
      vendor: "Svix",
      method,
      baseUrl: s.baseUrl,
      path: `/api/v1/app/${encodeURIComponent(s.appId)}/endpoint${path}`,
      token: s.token,
      body,
      action,
    };
  }

  /** Svix 1.x calls the filter `filterTypes`, 2.x `eventTypes`; both are sent and either is read. */
  endpointBody(inputs: ClerkWebhookEndpointInputs, uid: string) {
    return {
      url: inputs.url,
      description: inputs.description,
      uid,
      filterTypes: inputs.eventTypes,
      eventTypes: inputs.eventTypes,
    };
  }

  async secret(s: SvixSession, endpointId: string, url: string): Promise<string> {
    const res = await callVendorOk(this.svix(s, "GET", `/${endpointId}/secret`, `read the secret of ${url}`));
    const key = res.body?.key;
    if (typeof key !== "string" || key === "") throw new Error(`Svix returned no signing secret for ${url}.`);
    return key;
  }

  outputs(
    s: SvixSession,
    ep: SvixEndpoint,
    inputs: ClerkWebhookEndpointInputs,
    uid: string,
    signingSecret: string,
  ): ClerkWebhookEndpointOutputs {
    return {
      endpointId: ep.id,
      appId: s.appId,
      uid: ep.uid ?? uid,
      url: ep.url ?? inputs.url,
      description: ep.description ?? inputs.description,
      eventTypes: ep.eventTypes ?? ep.filterTypes ?? inputs.eventTypes,
      signingSecret,
    };
  }

  async check(_olds: unknown, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult> {
    const failures: { property: string; reason: string }[] = [];
    const url = isUnknown(news.url) ? undefined : endpointProblem(news.url, "url");
    if (url) failures.push({ property: "url", reason: url });
    const events = eventTypesProblem(news.eventTypes, "eventTypes");
    if (events) failures.push({ property: "eventTypes", reason: events });
    const description = news.description ?? "";
    if (!isUnknown(description) && typeof description !== "string") {
      failures.push({ property: "description", reason: "description must be a string" });
    }
    return { inputs: { url: news.url, eventTypes: news.eventTypes, description }, failures };
  }

  async diff(
    _id: string,
    olds: ClerkWebhookEndpointOutputs,
    news: ClerkWebhookEndpointInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    const changes =
      olds.url !== news.url ||
      olds.description !== news.description ||
      !sameSet(olds.eventTypes, news.eventTypes);
    return { changes, replaces: [] };
  }

  async create(inputs: ClerkWebhookEndpointInputs): Promise<pulumi.dynamic.CreateResult> {
    const s = await this.session();
    const uid = `auth-email-pipeline-${fnv1a(inputs.url)}`;
    const call = this.svix(
      s,
      "POST",
      "",
      `create the Clerk webhook endpoint ${inputs.url}`,
      this.endpointBody(inputs, uid),
    );
    const res = await callVendor(call);
    let endpoint: SvixEndpoint;
    if (res.status === 200 || res.status === 201) {
      endpoint = res.body as SvixEndpoint;
    } else if (res.status === 409) {
      // The uid exists: an earlier create got through before failing. Take it over and align it.
      const updated = await callVendorOk(
        this.svix(
          s,
          "PUT",
          `/${uid}`,
          `update the Clerk webhook endpoint ${inputs.url}`,
          this.endpointBody(inputs, uid),
        ),
      );
      endpoint = updated.body as SvixEndpoint;
    } else {
      throw vendorError(call, res);
    }
    const secret = await this.secret(s, endpoint.id, inputs.url);
    const outs = this.outputs(s, endpoint, inputs, uid, secret);
    return { id: outs.endpointId, outs };
  }

  async read(id: string, props: ClerkWebhookEndpointOutputs): Promise<pulumi.dynamic.ReadResult> {
    const s = await this.session();
    const res = await readVendorObject(
      this.svix(s, "GET", `/${id}`, `read the Clerk webhook endpoint ${props?.url ?? id}`),
    );
    if (!res) return {};
    const endpoint = res.body as SvixEndpoint;
    const secret = await this.secret(s, id, endpoint.url ?? props.url);
    return { id, props: this.outputs(s, endpoint, props, props.uid, secret) };
  }

  async update(
    id: string,
    olds: ClerkWebhookEndpointOutputs,
    news: ClerkWebhookEndpointInputs,
  ): Promise<pulumi.dynamic.UpdateResult> {
    const s = await this.session();
    const res = await callVendorOk(
      this.svix(
        s,
        "PUT",
        `/${id}`,
        `update the Clerk webhook endpoint ${news.url}`,
        this.endpointBody(news, olds.uid),
      ),
    );
    const secret = await this.secret(s, id, news.url);
    return { outs: this.outputs(s, res.body as SvixEndpoint, news, olds.uid, secret) };
  }

  async delete(id: string, props: ClerkWebhookEndpointOutputs): Promise<void> {
    const s = await this.session();
    // The Svix app stays: it belongs to the Clerk instance, and other endpoints may use it.
    await callVendorOk(
      this.svix(s, "DELETE", `/${id}`, `delete the Clerk webhook endpoint ${props?.url ?? id}`),
      [404],
    );
  }
}

/**
 * A Clerk webhook endpoint. Clerk's Backend API cannot create endpoints, so this goes through the
 * instance's Svix app portal (portal URL → one-time token → Svix endpoint API); the exchanged
 * token lives only for the operation. The endpoint's signing secret is a secret output.
 */
export class ClerkWebhookEndpoint extends pulumi.dynamic.Resource {
  declare readonly endpointId: pulumi.Output<string>;
  declare readonly signingSecret: pulumi.Output<string>;

  constructor(name: string, args: ClerkWebhookEndpointArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      new ClerkWebhookEndpointProvider(),
      name,
      { endpointId: undefined, signingSecret: undefined, appId: undefined, uid: undefined, ...args },
      { ...opts, additionalSecretOutputs: ["signingSecret"] },
      "clerk",
      "WebhookEndpoint",
    );
  }
}
