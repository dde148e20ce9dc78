import { WindowRateLimiter } from "../core/rate-limit";
import { bearerToken, type StandInRequest, type StandInResponse, type StandInServer } from "../core/server";
import { errors } from "./errors";
import { type ActorContext, ClerkApiError, type ClerkInstance, type MetadataPatch } from "./instance";
import {
  INVITATION_DAYS,
  INVITATION_TEMPLATES,
  type InvitationTemplate,
  invitationJson,
  type NewInvitation,
} from "./invitations";
import { isPlainObject, type Metadata } from "./metadata";
import { type TemplateType, templateJson } from "./templates";
import { ORDER_FIELDS, type UserListFilter, userJson } from "./users";

export interface RateLimit {
  limit: number;
  windowMs: number;
}

export interface BapiOptions {
  secretKey: string;
  /** Per instance (keyed by secret key); Clerk gives development instances 100 requests per 10 s. */
  instanceRateLimit: RateLimit;
  /** Per user, for metadata writes: 10 per 10 s. */
  userUpdateRateLimit: RateLimit;
}

export function actorOf(req: StandInRequest): ActorContext {
  const ua = req.headers["user-agent"];
  return { userAgent: typeof ua === "string" ? ua : undefined, clientIp: "127.0.0.1" };
}

/** Runs a handler, turning a thrown {@link ClerkApiError} into the response it carries. */
export function answering(fn: (req: StandInRequest) => StandInResponse) {
  return (req: StandInRequest): StandInResponse => {
    try {
      return fn(req);
    } catch (err) {
      if (err instanceof ClerkApiError) return err.response;
      throw err;
    }
  };
}

function rateLimited(limiter: WindowRateLimiter, key: string): StandInResponse | undefined {
  const taken = limiter.take(key);
  if (taken.allowed) return undefined;
  return errors.tooManyRequests(Math.max(1, Math.ceil(taken.resetMs / 1000)));
}

function positiveInt(req: StandInRequest, name: string, fallback: number, min: number, max: number): number {
  const raw = req.query.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ClerkApiError(
      errors.paramInvalid(name, `${name} must be an integer between ${min} and ${max}.`),
    );
  }
  return value;
}

function listFilter(req: StandInRequest): UserListFilter {
  const emailAddresses = req.query.getAll("email_address");
  const userIds = req.query.getAll("user_id");
  for (const [name, values] of [
    ["email_address", emailAddresses],
    ["user_id", userIds],
  ] as const) {
    if (values.length > 100) {
      throw new ClerkApiError(errors.paramInvalid(name, `${name} accepts at most 100 values.`));
    }
  }
  return { emailAddresses, userIds, query: req.query.get("query") ?? undefined };
}

const METADATA_FIELDS = {
  public_metadata: "public",
  private_metadata: "private",
  unsafe_metadata: "unsafe",
} as const;

/** Validates a metadata PATCH/PUT body; every key must be one of the three metadata objects. */
function metadataBody(req: StandInRequest): MetadataPatch {
  const body = req.json() ?? {};
  if (!isPlainObject(body))
    throw new ClerkApiError(errors.paramInvalid("body", "The body must be a JSON object."));
  const out: MetadataPatch = {};
  for (const [key, value] of Object.entries(body)) {
    const field = METADATA_FIELDS[key as keyof typeof METADATA_FIELDS];
    if (!field) throw new ClerkApiError(errors.paramUnknown(key));
    if (value === null || value === undefined) continue;
    if (!isPlainObject(value))
      throw new ClerkApiError(errors.paramInvalid(key, `${key} must be a JSON object.`));
    out[field] = value;
  }
  return out;
}

const INVITATION_FIELDS = [
  "email_address",
  "public_metadata",
  "redirect_url",
  "notify",
  "ignore_existing",
  "expires_in_days",
  "template_slug",
];

/** Validates a `POST /v1/invitations` body (the spec's `additionalProperties: false` included). */
function invitationBody(req: StandInRequest): NewInvitation {
  const body = req.json() ?? {};
  if (!isPlainObject(body))
    throw new ClerkApiError(errors.paramInvalid("body", "The body must be a JSON object."));
  const unknown = Object.keys(body).find((key) => !INVITATION_FIELDS.includes(key));
  if (unknown) throw new ClerkApiError(errors.paramUnknown(unknown));
  const {
    email_address,
    public_metadata,
    redirect_url,
    notify,
    ignore_existing,
    expires_in_days,
    template_slug,
  } = body;
  if (typeof email_address !== "string") throw new ClerkApiError(errors.paramMissing("email_address"));
  const invalid = (param: string, message: string) => new ClerkApiError(errors.paramInvalid(param, message));
  if (public_metadata !== undefined && !isPlainObject(public_metadata))
    throw invalid("public_metadata", "public_metadata must be a JSON object.");
  if (redirect_url !== undefined && typeof redirect_url !== "string")
    throw invalid("redirect_url", "redirect_url must be a string.");
  for (const [param, value] of [
    ["notify", notify],
    ["ignore_existing", ignore_existing],
  ] as const) {
    if (value !== undefined && value !== null && typeof value !== "boolean")
      throw invalid(param, `${param} must be a boolean.`);
  }
  const days = expires_in_days ?? undefined;
  if (
    days !== undefined &&
    (!Number.isInteger(days) ||
      (days as number) < INVITATION_DAYS.min ||
      (days as number) > INVITATION_DAYS.max)
  ) {
    throw invalid(
      "expires_in_days",
      `expires_in_days must be an integer between ${INVITATION_DAYS.min} and ${INVITATION_DAYS.max}.`,
    );
  }
  if (template_slug !== undefined && !INVITATION_TEMPLATES.includes(template_slug as InvitationTemplate))
    throw invalid("template_slug", `template_slug must be one of ${INVITATION_TEMPLATES.join(", ")}.`);
  return {
    emailAddress: email_address,
    ...(public_metadata ? { publicMetadata: public_metadata as Metadata } : {}),
    ...(redirect_url ? { redirectUrl: redirect_url as string } : {}),
    ...(days !== undefined ? { expiresInDays: days as number } : {}),
    ...(template_slug ? { templateSlug: template_slug as InvitationTemplate } : {}),
    ...(notify === false ? { notify: false } : {}),
    ...(ignore_existing === true ? { ignoreExisting: true } : {}),
  };
}

/** Registers the `/v1` Backend API routes the project uses, with Clerk's auth and rate limits. */
export function registerBapiRoutes(
  server: StandInServer,
  instance: ClerkInstance,
  options: BapiOptions,
): void {
  const instanceLimiter = new WindowRateLimiter(
    options.instanceRateLimit.limit,
    options.instanceRateLimit.windowMs,
  );
  const userLimiter = new WindowRateLimiter(
    options.userUpdateRateLimit.limit,
    options.userUpdateRateLimit.windowMs,
  );

  const route = (method: string, path: string, fn: (req: StandInRequest) => StandInResponse) =>
    server.route(
      method,
      `/v1${path}`,
      answering((req) => {
        if (bearerToken(req) !== options.secretKey) return errors.authenticationInvalid();
        return rateLimited(instanceLimiter, options.secretKey) ?? fn(req);
      }),
    );

  route("GET", "/users", (req) => {
    const orderBy = req.query.get("order_by") ?? "-created_at";
    if (!ORDER_FIELDS.includes(orderBy.replace(/^[+-]/, "") as (typeof ORDER_FIELDS)[number])) {
      throw new ClerkApiError(
        errors.paramInvalid("order_by", `order_by must be +/- one of ${ORDER_FIELDS.join(", ")}.`),
      );
    }
    const limit = positiveInt(req, "limit", 10, 1, 500);
    const offset = positiveInt(req, "offset", 0, 0, Number.MAX_SAFE_INTEGER);
    const users = instance.users.list({ ...listFilter(req), orderBy });
    return { status: 200, body: users.slice(offset, offset + limit).map(userJson) };
  });

  route("GET", "/users/count", (req) => ({
    status: 200,
    body: { object: "total_count", total_count: instance.users.list(listFilter(req)).length },
  }));

  route("GET", "/users/:userId", (req) => ({
    status: 200,
    body: userJson(instance.user(req.params.userId ?? "")),
  }));

  const metadataWrite = (mode: "merge" | "replace") => (req: StandInRequest) => {
    const userId = req.params.userId ?? "";
    instance.user(userId);
    const limited = rateLimited(userLimiter, userId);
    if (limited) return limited;
    const updated = instance.writeMetadata(userId, metadataBody(req), mode, actorOf(req));
    return { status: 200, body: userJson(updated) };
  };
  route("PATCH", "/users/:userId/metadata", metadataWrite("merge"));
  route("PUT", "/users/:userId/metadata", metadataWrite("replace"));

  route("DELETE", "/users/:userId", (req) => ({
    status: 200,
    body: instance.deleteUser(req.params.userId ?? "", actorOf(req)),
  }));

  const templateType = (req: StandInRequest): TemplateType => {
    const type = req.params.templateType ?? "";
    if (type !== "email" && type !== "sms") throw new ClerkApiError(errors.templateTypeUnsupported(type));
    return type;
  };
  const template = (req: StandInRequest) => {
    const slug = req.params.slug ?? "";
    const found = instance.templates.get(templateType(req), slug);
    if (!found) throw new ClerkApiError(errors.notFound(`No template was found with slug ${slug}`));
    return found;
  };

  route("GET", "/templates/:templateType", (req) => {
    const all = instance.templates.list(templateType(req)).map((t) => templateJson(t, instance.id));
    const offset = positiveInt(req, "offset", 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = positiveInt(req, "limit", all.length || 1, 1, 500);
    const page = all.slice(offset, offset + limit);
    return {
      status: 200,
      body: req.query.get("paginated") === "true" ? { data: page, total_count: all.length } : page,
    };
  });

  route("GET", "/templates/:templateType/:slug", (req) => ({
    status: 200,
    body: templateJson(template(req), instance.id),
  }));

  route("POST", "/templates/:templateType/:slug/toggle_delivery", (req) => {
    const found = template(req);
    const body = req.json() ?? {};
    const value = isPlainObject(body) ? body.delivered_by_clerk : undefined;
    if (value === undefined) throw new ClerkApiError(errors.paramMissing("delivered_by_clerk"));
    if (typeof value !== "boolean") {
      throw new ClerkApiError(
        errors.paramInvalid("delivered_by_clerk", "delivered_by_clerk must be a boolean."),
      );
    }
    found.deliveredByClerk = value;
    found.updatedAt = instance.clock.now();
    return { status: 200, body: templateJson(found, instance.id) };
  });

  route("POST", "/invitations", (req) => {
    const { invitation } = instance.createInvitation(invitationBody(req), actorOf(req));
    return { status: 200, body: invitationJson(invitation) };
  });

  route("POST", "/webhooks/svix", () => ({ status: 200, body: { svix_url: instance.createSvixApp() } }));
  route("POST", "/webhooks/svix_url", () => ({ status: 200, body: { svix_url: instance.svixPortalUrl() } }));
  route("DELETE", "/webhooks/svix", () => {
    instance.deleteSvixApp();
    return { status: 204 };
  });
}
