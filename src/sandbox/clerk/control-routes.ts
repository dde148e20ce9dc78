import type { StandInRequest, StandInServer } from "../core/server";
import type { SvixStandIn } from "../svix";
import { actorOf, answering } from "./bapi-routes";
import { errors } from "./errors";
import { ClerkApiError, type ClerkInstance, type EmailRecord, type EmailStrategy } from "./instance";
import { isPlainObject, type Metadata } from "./metadata";
import { userJson } from "./users";

function body(req: StandInRequest): Record<string, unknown> {
  const value = req.json() ?? {};
  if (!isPlainObject(value))
    throw new ClerkApiError(errors.paramInvalid("body", "The body must be a JSON object."));
  return value;
}

function text(value: Record<string, unknown>, field: string): string {
  const v = value[field];
  if (typeof v !== "string" || v === "") throw new ClerkApiError(errors.paramMissing(field));
  return v;
}

/** The `email.created` data of an email the flow produced. */
const emailView = (record: EmailRecord) => record.email;

/** `strategy`: `email_code` (the default) or `email_link`. */
function strategyOf(value: Record<string, unknown>): EmailStrategy {
  const strategy = value.strategy ?? "email_code";
  if (strategy !== "email_code" && strategy !== "email_link") {
    throw new ClerkApiError(errors.paramInvalid("strategy", "strategy must be email_code or email_link."));
  }
  return strategy;
}

/**
 * Sandbox-only routes under `/_sandbox/clerk/`: act as an end user (sign up, sign in, reset a
 * password, add or switch an email address, delete the account) so the instance renders emails
 * and fires webhooks, and inspect what happened (users, emails, events, Svix deliveries).
 */
export function registerControlRoutes(
  server: StandInServer,
  instance: ClerkInstance,
  svix: SvixStandIn,
): void {
  const control = (method: string, path: string, fn: Parameters<typeof answering>[0]) =>
    server.control(method, `/clerk${path}`, answering(fn));

  control("GET", "/users", () => ({ status: 200, body: { data: instance.users.all().map(userJson) } }));
  control("GET", "/emails", () => ({
    status: 200,
    body: {
      data: instance.emails.map((e) => ({
        email: e.email,
        delivered_by_clerk: e.deliveredByClerk,
        created_at: e.createdAt,
      })),
    },
  }));
  control("GET", "/events", () => ({
    status: 200,
    body: {
      data: instance.events.map((e) => ({ ...e.payload, svix_ids: e.deliveries.map((d) => d.msgId) })),
    },
  }));
  control("GET", "/deliveries", () => ({ status: 200, body: { data: svix.deliveries() } }));

  // An admin-created user (like `POST /v1/users`), for seeding.
  control("POST", "/users", (req) => {
    const b = body(req);
    const user = instance.createUser(
      {
        emailAddress: text(b, "email_address"),
        firstName: typeof b.first_name === "string" ? b.first_name : null,
        lastName: typeof b.last_name === "string" ? b.last_name : null,
        externalId: typeof b.external_id === "string" ? b.external_id : null,
        publicMetadata: isPlainObject(b.public_metadata) ? (b.public_metadata as Metadata) : undefined,
      },
      actorOf(req),
    );
    return { status: 201, body: userJson(user) };
  });

  control("DELETE", "/users/:userId", (req) => ({
    status: 200,
    body: instance.deleteUser(req.params.userId ?? "", actorOf(req)),
  }));

  control("POST", "/sign-ups", (req) => {
    const b = body(req);
    const result = instance.signUp(
      text(b, "email_address"),
      { verify: b.verify === true, strategy: strategyOf(b) },
      actorOf(req),
    );
    return {
      status: 201,
      body: {
        sign_up_id: result.signUpId,
        email_address_id: result.emailAddressId,
        code: result.code,
        email: emailView(result.email),
        user: result.user ? userJson(result.user) : null,
      },
    };
  });

  control("POST", "/sign-ups/:signUpId/verify", (req) => ({
    status: 200,
    body: userJson(instance.verifySignUp(req.params.signUpId ?? "", text(body(req), "code"), actorOf(req))),
  }));

  control("POST", "/sign-ins", (req) => {
    const b = body(req);
    const email = instance.signIn(text(b, "email_address"), strategyOf(b), actorOf(req));
    return { status: 201, body: { email: emailView(email) } };
  });

  control("POST", "/password-resets", (req) => {
    const email = instance.requestPasswordReset(text(body(req), "email_address"), actorOf(req));
    return { status: 201, body: { email: emailView(email), code: email.email.data.otp_code } };
  });

  control("POST", "/users/:userId/email-addresses", (req) => {
    const b = body(req);
    const userId = req.params.userId ?? "";
    const added = instance.addEmailAddress(userId, text(b, "email_address"), actorOf(req), strategyOf(b));
    if (b.verify === true) instance.verifyEmailAddress(added.emailAddress.id, added.code, actorOf(req));
    return {
      status: 201,
      body: {
        email_address_id: added.emailAddress.id,
        code: added.code,
        email: emailView(added.email),
        user: userJson(instance.user(userId)),
      },
    };
  });

  control("POST", "/email-addresses/:emailAddressId/verify", (req) => ({
    status: 200,
    body: userJson(
      instance.verifyEmailAddress(req.params.emailAddressId ?? "", text(body(req), "code"), actorOf(req)),
    ),
  }));

  control("POST", "/users/:userId/primary-email", (req) => ({
    status: 200,
    body: userJson(
      instance.setPrimaryEmail(req.params.userId ?? "", text(body(req), "email_address_id"), actorOf(req)),
    ),
  }));
}
