/**
 * Clerk's email templates as the bridge treats them: what each slug carries (a one-time code, a sign-in or
 * verification link, an invitation, a notice) and so how long its email stays worth sending. events.ts reads
 * the payload with these rules at ingest; send-job.ts applies the lifetime in the worker (the stale-drop).
 * Pure apart from the one log line for a slug this list does not know.
 */
import type { BridgeConfig } from "./config";
import type { Telemetry } from "./telemetry";

export type ClerkTemplateKind = "code" | "link" | "invitation" | "notice";

/**
 * The email templates a Clerk instance lists (`GET /v1/templates/email` is the live list). `verification_code`
 * is in Clerk's webhooks spec and `invitation`/`waitlist_invitation` in BAPI's `template_slug`; the others are
 * the slugs Clerk's own template list and community handlers use. `verification_code` serves sign-up, sign-in
 * (`email_code`), second factors and added addresses alike; the link variants are per flow.
 */
export const CLERK_EMAIL_TEMPLATES: Readonly<Record<string, ClerkTemplateKind>> = {
  verification_code: "code",
  reset_password_code: "code",
  magic_link_sign_in: "link",
  magic_link_sign_up: "link",
  magic_link_user_profile: "link",
  invitation: "invitation",
  organization_invitation: "invitation",
  waitlist_invitation: "invitation",
  organization_invitation_accepted: "notice",
  password_changed: "notice",
  password_removed: "notice",
  primary_email_address_changed: "notice",
  passkey_added: "notice",
  passkey_removed: "notice",
  waitlist_confirmation: "notice",
  new_device_sign_in: "notice",
  account_locked: "notice",
};

const DAY_SECONDS = 86_400;
/** Clerk's invitations expire after 30 days unless created with `expires_in_days` (1 to 365). */
export const INVITATION_LIFETIME_SECONDS = 30 * DAY_SECONDS;
/**
 * A notice holds nothing that expires, but one about a password change or a new sign-in that arrives days
 * late confuses more than it tells; a day covers any outage the queue rides out on its retries.
 */
export const NOTICE_LIFETIME_SECONDS = DAY_SECONDS;

export function clerkTemplateKind(slug: string | undefined): ClerkTemplateKind | undefined {
  return ownValue(CLERK_EMAIL_TEMPLATES, slug);
}

export type LifetimeSettings = Pick<BridgeConfig, "codeLifetimeSeconds" | "codeLifetimes">;

/** What the stale-drop needs of a send job: its template and, for invitations, its own expiry. */
export interface TemplatedEmail {
  slug?: string;
  validForSeconds?: number;
}

export interface TemplateLifetime {
  seconds: number;
  known: boolean;
}

/**
 * How long an email stays worth sending. Codes and links live `codeLifetimeSeconds` (Clerk's 10 minutes by
 * default), invitations 30 days, notices a day; a slug outside {@link CLERK_EMAIL_TEMPLATES} (or none) gets
 * `codeLifetimeSeconds`. The stack's `codeLifetimes` replaces any of these per slug, and an email that says
 * when it expires (an invitation's `expires_in_days`) is never sent after that.
 */
export function templateLifetime(email: TemplatedEmail, settings: LifetimeSettings): TemplateLifetime {
  const kind = clerkTemplateKind(email.slug);
  const configured = ownValue(settings.codeLifetimes ?? {}, email.slug);
  const byKind =
    kind === "invitation"
      ? INVITATION_LIFETIME_SECONDS
      : kind === "notice"
        ? NOTICE_LIFETIME_SECONDS
        : settings.codeLifetimeSeconds;
  const window = configured ?? byKind;
  const seconds = email.validForSeconds === undefined ? window : Math.min(window, email.validForSeconds);
  return { seconds, known: kind !== undefined };
}

/** {@link templateLifetime} for the worker, which logs the slugs it does not know (ids only). */
export function sendLifetimeSeconds(
  email: TemplatedEmail,
  deps: { settings: LifetimeSettings; telemetry: Pick<Telemetry, "logger"> },
): number {
  const lifetime = templateLifetime(email, deps.settings);
  if (!lifetime.known) {
    deps.telemetry.logger.warn("unknown Clerk template: sent with the default code lifetime", {
      slug: email.slug ?? null,
      lifetimeSeconds: lifetime.seconds,
    });
  }
  return lifetime.seconds;
}

/** An invitation's own validity, from its `invitation.expires_in_days` template variable. */
export function ownValiditySeconds(templateData: unknown): number | undefined {
  const invitation = isObject(templateData) ? templateData.invitation : undefined;
  const days = isObject(invitation) ? invitation.expires_in_days : undefined;
  return typeof days === "number" && Number.isInteger(days) && days > 0 ? days * DAY_SECONDS : undefined;
}

/**
 * Event names that look like Clerk's and are not: Clerk's email template guide says "listen to the
 * `emails.created` webhook", and guides copied from it say the same. Clerk only ever sends `email.created`.
 */
export const MISSPELLED_CLERK_EVENTS: Readonly<Record<string, string>> = {
  "emails.created": "email.created",
};

/** The problem with a Clerk event name that is a known misspelling, naming the right one; else undefined. */
export function misspelledClerkEvent(type: string): string | undefined {
  const meant = ownValue(MISSPELLED_CLERK_EVENTS, type);
  return meant
    ? `"${type}" is not a Clerk event: Clerk sends "${meant}" (the plural is a typo in Clerk's email template guide)`
    : undefined;
}

/** `record[key]` for the record's own keys only: a slug such as `constructor` is not a template. */
function ownValue<T>(record: Readonly<Record<string, T>>, key: string | undefined): T | undefined {
  return key !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
