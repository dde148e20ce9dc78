import { newSigningSecret } from "../core/ids";
import { bearerToken, type StandInRequest, type StandInResponse, type StandInServer } from "../core/server";
import { ROTATION_GRACE_MS, type SvixApp, type SvixEndpoint, type SvixStore } from "./store";

/** Svix's error body for everything but validation: `{code, detail}`. */
export function svixError(status: number, code: string, detail: string): StandInResponse {
  return { status, body: { code, detail } };
}

/** Svix's 422 body (`HTTPValidationError`): one entry per offending field. */
function validationError(field: string, msg: string): StandInResponse {
  return { status: 422, body: { detail: [{ loc: ["body", field], msg, type: "value_error" }] } };
}

class Invalid extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;

/** The endpoint as the Svix API returns it (`EndpointOut`). `filterTypes` is the 1.x SDK's name. */
export function endpointOut(endpoint: SvixEndpoint): Json {
  return {
    id: endpoint.id,
    uid: endpoint.uid,
    url: endpoint.url,
    description: endpoint.description,
    disabled: endpoint.disabled,
    eventTypes: endpoint.eventTypes,
    filterTypes: endpoint.eventTypes,
    channels: endpoint.channels,
    metadata: endpoint.metadata,
    throttleRate: endpoint.throttleRate,
    createdAt: endpoint.createdAt.toISOString(),
    updatedAt: endpoint.updatedAt.toISOString(),
  };
}

const UID = /^[a-zA-Z0-9\-_.]{1,256}$/;

function optionalString(body: Json, field: string): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new Invalid(field, `${field} must be a string`);
  return value;
}

function stringList(body: Json, ...fields: string[]): string[] | null | undefined {
  for (const field of fields) {
    const value = body[field];
    if (value === undefined) continue;
    if (value === null) return null;
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || v === "")) {
      throw new Invalid(field, `${field} must be a list of non-empty strings or null`);
    }
    return value.length === 0 ? null : [...new Set(value as string[])];
  }
  return undefined;
}

function validUrl(value: unknown): string {
  if (typeof value !== "string") throw new Invalid("url", "url is required and must be a string");
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new Invalid("url", "url must be an absolute http(s) URL");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new Invalid("url", "url must use http or https");
  }
  return value;
}

/** A caller-supplied secret must be `whsec_` + base64 of 24 to 75 bytes, as Svix requires. */
function validSecret(value: unknown, field: string): string {
  if (typeof value !== "string" || !/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(value)) {
    throw new Invalid(field, `${field} must look like whsec_<base64>`);
  }
  const bytes = Buffer.from(value.slice("whsec_".length), "base64").length;
  if (bytes < 24 || bytes > 75) throw new Invalid(field, `${field} must encode 24 to 75 bytes`);
  return value;
}

/** Fields shared by create, upsert and patch; `undefined` means "not given". */
function endpointFields(body: Json) {
  const uid = body.uid;
  if (uid !== undefined && uid !== null && (typeof uid !== "string" || !UID.test(uid))) {
    throw new Invalid("uid", "uid must be 1-256 characters of letters, digits, '-', '_' or '.'");
  }
  const disabled = body.disabled;
  if (disabled !== undefined && typeof disabled !== "boolean") {
    throw new Invalid("disabled", "disabled must be a boolean");
  }
  const metadata = body.metadata;
  if (
    metadata !== undefined &&
    (typeof metadata !== "object" ||
      metadata === null ||
      Object.values(metadata).some((v) => typeof v !== "string"))
  ) {
    throw new Invalid("metadata", "metadata must be an object of string values");
  }
  const throttleRate = body.throttleRate ?? body.rateLimit;
  if (throttleRate !== undefined && throttleRate !== null && !Number.isInteger(throttleRate)) {
    throw new Invalid("throttleRate", "throttleRate must be an integer or null");
  }
  return {
    url: body.url === undefined ? undefined : validUrl(body.url),
    description: optionalString(body, "description"),
    uid: uid as string | null | undefined,
    disabled: disabled as boolean | undefined,
    // 2.x SDKs send `eventTypes`, 1.x SDKs `filterTypes`; both mean the same filter.
    eventTypes: stringList(body, "eventTypes", "filterTypes"),
    channels: stringList(body, "channels"),
    metadata: metadata as Record<string, string> | undefined,
    throttleRate: throttleRate as number | null | undefined,
  };
}

function objectBody(req: StandInRequest): Json {
  const body = req.json();
  if (body === undefined) return {};
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new Invalid("body", "request body must be a JSON object");
  }
  return body as Json;
}

/** Registers the Svix REST routes the community recipe uses on `server`. */
export function registerSvixRoutes(server: StandInServer, store: SvixStore): void {
  const idempotent = new Map<string, StandInResponse>();

  const handle =
    (fn: (req: StandInRequest) => StandInResponse) =>
    (req: StandInRequest): StandInResponse => {
      try {
        return fn(req);
      } catch (err) {
        if (err instanceof Invalid) return validationError(err.field, err.message);
        throw err;
      }
    };

  /** Resolves the bearer token to the app in the path, or answers the error Svix would. */
  const appScoped =
    (fn: (req: StandInRequest, app: SvixApp) => StandInResponse) =>
    (req: StandInRequest): StandInResponse => {
      const token = bearerToken(req);
      const tokenApp = token ? store.appForToken(token) : undefined;
      if (!tokenApp) return svixError(401, "authentication_failed", "Invalid or missing bearer token");
      const appId = req.params.appId ?? "";
      const app = store.apps.get(tokenApp);
      if (!app) return svixError(404, "not_found", "Entity not found");
      if (appId !== app.id) return svixError(403, "forbidden", "This token cannot access that application");
      // The svix SDK sends an idempotency key on every POST; a repeat with the same key gets the first answer.
      const key = req.method === "POST" ? req.headers["idempotency-key"] : undefined;
      const cacheKey = typeof key === "string" ? `${token}:${req.path}:${key}` : undefined;
      const cached = cacheKey ? idempotent.get(cacheKey) : undefined;
      if (cached) return cached;
      const response = handle((r) => fn(r, app))(req);
      if (cacheKey && response.status < 500) idempotent.set(cacheKey, response);
      return response;
    };

  const withEndpoint = (fn: (req: StandInRequest, app: SvixApp, endpoint: SvixEndpoint) => StandInResponse) =>
    appScoped((req, app) => {
      const endpoint = store.findEndpoint(app, req.params.endpointId ?? "");
      return endpoint ? fn(req, app, endpoint) : svixError(404, "not_found", "Entity not found");
    });

  const uidTaken = (app: SvixApp, uid: string | null | undefined, self?: SvixEndpoint) =>
    typeof uid === "string" && [...app.endpoints.values()].some((e) => e.uid === uid && e !== self);

  const create = (app: SvixApp, body: Json): StandInResponse => {
    const fields = endpointFields(body);
    if (fields.url === undefined) throw new Invalid("url", "url is required");
    if (uidTaken(app, fields.uid))
      return svixError(409, "conflict", "An endpoint with this uid already exists");
    const secret = body.secret == null ? null : validSecret(body.secret, "secret");
    const endpoint = store.addEndpoint(app, { ...fields, url: fields.url, secret });
    return { status: 201, body: endpointOut(endpoint) };
  };

  server.route(
    "POST",
    "/api/v1/auth/one-time-token",
    handle((req) => {
      const body = objectBody(req);
      if (typeof body.oneTimeToken !== "string" || body.oneTimeToken === "") {
        throw new Invalid("oneTimeToken", "oneTimeToken is required");
      }
      const exchanged = store.exchangeOneTimeToken(body.oneTimeToken);
      if (!exchanged)
        return svixError(401, "authentication_failed", "One-time token is invalid or already used");
      return { status: 200, body: { token: exchanged.token } };
    }),
  );

  server.route(
    "GET",
    "/api/v1/app/:appId/endpoint",
    appScoped((req, app) => {
      const limit = Math.min(Math.max(Number(req.query.get("limit") ?? 50) || 50, 1), 250);
      const ascending = req.query.get("order") === "ascending";
      const all = [...app.endpoints.values()];
      if (!ascending) all.reverse();
      const iterator = req.query.get("iterator");
      const start = iterator ? all.findIndex((e) => e.id === iterator) + 1 : 0;
      const page = all.slice(start, start + limit);
      const done = start + limit >= all.length;
      return {
        status: 200,
        body: {
          data: page.map(endpointOut),
          iterator: page.at(-1)?.id ?? null,
          prevIterator: start > 0 ? (all[start - 1]?.id ?? null) : null,
          done,
        },
      };
    }),
  );

  server.route(
    "POST",
    "/api/v1/app/:appId/endpoint",
    appScoped((req, app) => create(app, objectBody(req))),
  );

  server.route(
    "GET",
    "/api/v1/app/:appId/endpoint/:endpointId",
    withEndpoint((_req, _app, endpoint) => ({ status: 200, body: endpointOut(endpoint) })),
  );

  // PUT replaces every mutable field; for an unknown uid it creates the endpoint under that uid.
  server.route(
    "PUT",
    "/api/v1/app/:appId/endpoint/:endpointId",
    appScoped((req, app) => {
      const body = objectBody(req);
      const idOrUid = req.params.endpointId ?? "";
      const endpoint = store.findEndpoint(app, idOrUid);
      if (!endpoint) {
        if (idOrUid.startsWith("ep_")) return svixError(404, "not_found", "Entity not found");
        return create(app, { ...body, uid: body.uid ?? idOrUid });
      }
      const fields = endpointFields(body);
      if (fields.url === undefined) throw new Invalid("url", "url is required");
      if (uidTaken(app, fields.uid, endpoint)) {
        return svixError(409, "conflict", "An endpoint with this uid already exists");
      }
      Object.assign(endpoint, {
        url: fields.url,
        description: fields.description ?? "",
        uid: fields.uid ?? null,
        disabled: fields.disabled ?? false,
        eventTypes: fields.eventTypes ?? null,
        channels: fields.channels ?? null,
        metadata: fields.metadata ?? {},
        throttleRate: fields.throttleRate ?? null,
        updatedAt: new Date(),
      });
      return { status: 200, body: endpointOut(endpoint) };
    }),
  );

  server.route(
    "PATCH",
    "/api/v1/app/:appId/endpoint/:endpointId",
    withEndpoint((req, app, endpoint) => {
      const fields = endpointFields(objectBody(req));
      if (uidTaken(app, fields.uid, endpoint)) {
        return svixError(409, "conflict", "An endpoint with this uid already exists");
      }
      for (const [key, value] of Object.entries(fields)) {
        if (value !== undefined) Object.assign(endpoint, { [key]: value });
      }
      endpoint.updatedAt = new Date();
      return { status: 200, body: endpointOut(endpoint) };
    }),
  );

  server.route(
    "DELETE",
    "/api/v1/app/:appId/endpoint/:endpointId",
    withEndpoint((_req, app, endpoint) => {
      app.endpoints.delete(endpoint.id);
      return { status: 204 };
    }),
  );

  server.route(
    "GET",
    "/api/v1/app/:appId/endpoint/:endpointId/secret",
    withEndpoint((_req, _app, endpoint) => ({ status: 200, body: { key: endpoint.secrets[0]?.key } })),
  );

  server.route(
    "POST",
    "/api/v1/app/:appId/endpoint/:endpointId/secret/rotate",
    withEndpoint((req, _app, endpoint) => {
      const body = objectBody(req);
      const key = body.key == null ? newSigningSecret() : validSecret(body.key, "key");
      const grace = body.gracePeriodSeconds;
      if (grace != null && (!Number.isInteger(grace) || (grace as number) < 0)) {
        throw new Invalid("gracePeriodSeconds", "gracePeriodSeconds must be a non-negative integer");
      }
      const graceMs = grace == null ? ROTATION_GRACE_MS : (grace as number) * 1000;
      const expiresAt = Date.now() + graceMs * store.timeScale;
      // Only the secret being replaced stays valid during the grace period; older ones expire now.
      const previous = endpoint.secrets[0];
      endpoint.secrets = previous ? [{ key }, { key: previous.key, expiresAt }] : [{ key }];
      endpoint.updatedAt = new Date();
      return { status: 204 };
    }),
  );
}
