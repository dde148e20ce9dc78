import { randomInt } from "node:crypto";
import { prefixedId } from "../core/ids";
import type { StandInResponse } from "../core/server";
import type { Delivery } from "../core/svix-dispatcher";
import type { SvixStandIn } from "../svix";
import {
  type AppBranding,
  DEFAULT_BRANDING,
  describeUserAgent,
  type EmailEventData,
  renderEmail,
} from "./emails";
import { errors } from "./errors";
import { type InvitationRecord, InvitationStore, type NewInvitation } from "./invitations";
import { METADATA_LIMIT_BYTES, type Metadata, mergeMetadata, metadataBytes } from "./metadata";
import { TemplateStore } from "./templates";
import { CODE_TTL_MS, MonotonicClock, type NewUser, type UserRecord, UserStore, userJson } from "./users";

/** Thrown by instance operations with the exact response Clerk would give; routes answer it as-is. */
export class ClerkApiError extends Error {
  constructor(readonly response: StandInResponse) {
    const body = response.body as { errors?: { long_message?: string }[] } | undefined;
    super(body?.errors?.[0]?.long_message ?? `Clerk answered ${response.status}`);
    this.name = "ClerkApiError";
  }
}

/** Who triggered an action; becomes the event's `event_attributes.http_request` and `requested_by`. */
export interface ActorContext {
  userAgent?: string;
  clientIp?: string;
}

export interface ClerkEventRecord {
  type: string;
  payload: WebhookEnvelope;
  /** Svix deliveries queued for it; empty while the instance has no Svix app. */
  deliveries: Delivery[];
}

export interface WebhookEnvelope {
  data: unknown;
  object: "event";
  type: string;
  timestamp: number;
  instance_id: string;
  event_attributes: { http_request: { client_ip: string; user_agent: string } };
}

export interface EmailRecord {
  email: EmailEventData;
  /** True when the template was "Delivered by Clerk", i.e. Clerk itself sent this email. */
  deliveredByClerk: boolean;
  createdAt: string;
}

interface SignUpRecord {
  id: string;
  emailAddress: string;
  emailAddressId: string;
  code: string;
  userId: string | null;
}

export interface SignUpResult {
  signUpId: string;
  emailAddressId: string;
  code: string;
  email: EmailRecord;
  user: UserRecord | null;
}

export type MetadataPatch = Partial<Record<"public" | "private" | "unsafe", Metadata>>;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function newCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, "0");
}

/** Test mode's fixed code, and its addresses: any with the `+clerk_test` subaddress (`jane+clerk_test@…`). */
export const TEST_MODE_CODE = "424242";
const isTestAddress = (address: string) =>
  address.slice(0, address.lastIndexOf("@")).toLowerCase().split("+").slice(1).includes("clerk_test");

/** How an email address is proved: a code to type, or a link to follow (`magic_link_*` templates). */
export type EmailStrategy = "email_code" | "email_link";

function requireEmail(address: unknown): string {
  if (typeof address !== "string" || address.trim() === "")
    throw new ClerkApiError(errors.paramMissing("email_address"));
  if (!EMAIL.test(address.trim())) {
    throw new ClerkApiError(
      errors.paramInvalid("email_address", "email_address must be a valid email address."),
    );
  }
  return address.trim();
}

/**
 * One Clerk development instance: users, templates, the emails Clerk renders and the webhook events it
 * emits through its Svix app. BAPI routes and end-user control routes both act through this class.
 */
export class ClerkInstance {
  readonly id = prefixedId("ins");
  readonly clock = new MonotonicClock();
  readonly users = new UserStore(this.clock);
  readonly templates = new TemplateStore(this.clock.now());
  readonly emails: EmailRecord[] = [];
  readonly events: ClerkEventRecord[] = [];
  readonly invitations = new InvitationStore();
  svixAppId: string | undefined;
  /**
   * Test mode, on by default for development instances (BAPI `test_mode`): codes sent to `+clerk_test`
   * addresses are always 424242. Links are unchanged.
   */
  testMode = true;
  private readonly signUps = new Map<string, SignUpRecord>();

  constructor(
    private readonly svix: SvixStandIn,
    readonly branding: AppBranding = DEFAULT_BRANDING,
  ) {}

  emit(type: string, data: unknown, actor: ActorContext = {}): ClerkEventRecord {
    const payload: WebhookEnvelope = {
      data,
      object: "event",
      type,
      timestamp: Date.now(),
      instance_id: this.id,
      event_attributes: {
        http_request: { client_ip: actor.clientIp ?? "127.0.0.1", user_agent: actor.userAgent ?? "" },
      },
    };
    const deliveries = this.svixAppId ? this.svix.send(this.svixAppId, type, payload) : [];
    const record = { type, payload, deliveries };
    this.events.push(record);
    return record;
  }

  /** Renders `slug`, records whether Clerk delivered it, and emits `email.created` either way. */
  sendEmail(
    slug: string,
    to: { address: string; emailAddressId: string | null; user: UserRecord | null },
    variables: Record<string, unknown>,
    actor: ActorContext,
  ): EmailRecord {
    const email = renderEmail({
      template: this.templates.email(slug),
      to: to.address,
      emailAddressId: to.emailAddressId,
      userId: to.user?.id ?? null,
      variables,
      publicMetadata: to.user?.publicMetadata ?? {},
      requestedBy: describeUserAgent(actor.userAgent),
      requestedAt: new Date(),
      branding: this.branding,
    });
    const record: EmailRecord = {
      email,
      deliveredByClerk: email.delivered_by_clerk,
      createdAt: new Date().toISOString(),
    };
    this.emails.push(record);
    this.emit("email.created", email, actor);
    return record;
  }

  user(userId: string): UserRecord {
    const user = this.users.get(userId);
    if (!user) throw new ClerkApiError(errors.notFound(`No user was found with id ${userId}`));
    return user;
  }

  // --- Svix app (BAPI /v1/webhooks/svix*) -----------------------------------------------------

  createSvixApp(): string {
    if (this.svixAppId) throw new ClerkApiError(errors.svixAppExists());
    this.svixAppId = this.svix.createApp(`Clerk ${this.id}`).id;
    return this.svix.portalUrl(this.svixAppId);
  }

  svixPortalUrl(): string {
    if (!this.svixAppId) throw new ClerkApiError(errors.svixAppMissing());
    return this.svix.portalUrl(this.svixAppId);
  }

  deleteSvixApp(): void {
    if (!this.svixAppId) throw new ClerkApiError(errors.svixAppMissing());
    this.svix.deleteApp(this.svixAppId);
    this.svixAppId = undefined;
  }

  // --- Users as the Backend API changes them -------------------------------------------------

  createUser(input: NewUser, actor: ActorContext = {}): UserRecord {
    if (input.emailAddress) {
      const address = requireEmail(input.emailAddress);
      if (this.users.findByEmail(address)) throw new ClerkApiError(errors.identifierExists("email_address"));
    }
    const user = this.users.create(input);
    this.emit("user.created", userJson(user), actor);
    return user;
  }

  /**
   * Writes metadata the way `PATCH …/metadata` (`merge`: deep merge, `null` deletes) or
   * `PUT …/metadata` (`replace`: each given field wholesale) does; fires `user.updated`.
   */
  writeMetadata(
    userId: string,
    patch: MetadataPatch,
    mode: "merge" | "replace",
    actor: ActorContext = {},
  ): UserRecord {
    const user = this.user(userId);
    const current = {
      public: user.publicMetadata,
      private: user.privateMetadata,
      unsafe: user.unsafeMetadata,
    };
    const next = { ...current };
    for (const field of ["public", "private", "unsafe"] as const) {
      const given = patch[field];
      if (!given) continue;
      next[field] = mode === "merge" ? mergeMetadata(current[field], given) : given;
      if (metadataBytes(next[field]) > METADATA_LIMIT_BYTES) {
        const param = `${field}_metadata`;
        throw new ClerkApiError(
          errors.paramInvalid(param, `${param} exceeds the maximum allowed size of 8KB.`),
        );
      }
    }
    user.publicMetadata = next.public;
    user.privateMetadata = next.private;
    user.unsafeMetadata = next.unsafe;
    this.users.touch(user);
    this.emit("user.updated", userJson(user), actor);
    return user;
  }

  deleteUser(userId: string, actor: ActorContext = {}) {
    const user = this.user(userId);
    this.users.delete(userId);
    const deleted = {
      object: "user",
      id: user.id,
      deleted: true,
      ...(user.externalId ? { external_id: user.externalId } : {}),
    };
    this.emit("user.deleted", deleted, actor);
    return deleted;
  }

  // --- End-user flows (what the Frontend API would trigger) ----------------------------------

  /**
   * Starts a sign-up: `verification_code` (or `magic_link_sign_up` for `email_link`, whose token stands in
   * for the code) goes out before any user exists (`user_id: null`).
   */
  signUp(
    address: string,
    options: { verify?: boolean; strategy?: EmailStrategy } = {},
    actor: ActorContext = {},
  ): SignUpResult {
    const emailAddress = requireEmail(address);
    if (this.users.findByEmail(emailAddress))
      throw new ClerkApiError(errors.identifierExists("email_address"));
    const strategy = options.strategy ?? "email_code";
    const signUp: SignUpRecord = {
      id: prefixedId("sua"),
      emailAddress,
      emailAddressId: prefixedId("idn"),
      code: strategy === "email_code" ? this.codeFor(emailAddress) : prefixedId("sut"),
      userId: null,
    };
    this.signUps.set(signUp.id, signUp);
    const email = this.sendEmail(
      strategy === "email_code" ? "verification_code" : "magic_link_sign_up",
      { address: emailAddress, emailAddressId: signUp.emailAddressId, user: null },
      this.proof(strategy, signUp.code),
      actor,
    );
    const user = options.verify ? this.verifySignUp(signUp.id, signUp.code, actor) : null;
    return { signUpId: signUp.id, emailAddressId: signUp.emailAddressId, code: signUp.code, email, user };
  }

  /** Completes a sign-up with its code; creates the user and fires `user.created`. */
  verifySignUp(signUpId: string, code: string, actor: ActorContext = {}): UserRecord {
    const signUp = this.signUps.get(signUpId);
    if (!signUp) throw new ClerkApiError(errors.notFound(`No sign up was found with id ${signUpId}`));
    if (signUp.userId) return this.user(signUp.userId);
    if (code !== signUp.code) throw new ClerkApiError(errors.codeIncorrect());
    if (this.users.findByEmail(signUp.emailAddress)) {
      throw new ClerkApiError(errors.identifierExists("email_address"));
    }
    const user = this.users.create({
      emailAddress: signUp.emailAddress,
      emailAddressId: signUp.emailAddressId,
      strategy: "email_code",
    });
    signUp.userId = user.id;
    this.emit("user.created", userJson(user), actor);
    return user;
  }

  private existingAddress(address: string) {
    const found = this.users.findByEmail(requireEmail(address));
    if (!found) throw new ClerkApiError(errors.identifierNotFound("identifier"));
    return found;
  }

  /** A sign-in by email code (`verification_code`) or by magic link (`magic_link_sign_in`). */
  signIn(address: string, strategy: EmailStrategy, actor: ActorContext = {}): EmailRecord {
    const { user, email } = this.existingAddress(address);
    const target = { address: email.emailAddress, emailAddressId: email.id, user };
    const proof = strategy === "email_code" ? this.codeFor(email.emailAddress) : prefixedId("sia");
    const slug = strategy === "email_code" ? "verification_code" : "magic_link_sign_in";
    return this.sendEmail(slug, target, this.proof(strategy, proof), actor);
  }

  /** "Forgot password": a `reset_password_code` email to a known address. */
  requestPasswordReset(address: string, actor: ActorContext = {}): EmailRecord {
    const { user, email } = this.existingAddress(address);
    return this.sendEmail(
      "reset_password_code",
      { address: email.emailAddress, emailAddressId: email.id, user },
      { otp_code: this.codeFor(email.emailAddress) },
      actor,
    );
  }

  /**
   * A signed-in user adds an address: it is unverified, gets a code (`verification_code`) or a link
   * (`magic_link_user_profile`, whose token verifies it like a code), and the user changes.
   */
  addEmailAddress(
    userId: string,
    address: string,
    actor: ActorContext = {},
    strategy: EmailStrategy = "email_code",
  ) {
    const user = this.user(userId);
    const emailAddress = requireEmail(address);
    if (this.users.findByEmail(emailAddress))
      throw new ClerkApiError(errors.identifierExists("email_address"));
    const code = strategy === "email_code" ? this.codeFor(emailAddress) : prefixedId("sva");
    const added = this.users.addEmail(user, emailAddress, code);
    this.emit("user.updated", userJson(user), actor);
    const email = this.sendEmail(
      strategy === "email_code" ? "verification_code" : "magic_link_user_profile",
      { address: added.emailAddress, emailAddressId: added.id, user },
      this.proof(strategy, code),
      actor,
    );
    return { emailAddress: added, code, email };
  }

  /**
   * `POST /v1/invitations`: an invitation to an address no user has, emailed with `invitation` (or
   * `waitlist_invitation`) unless `notify` is false. The email carries `action_url` and
   * `invitation.expires_in_days`, the variables Clerk documents for these templates.
   */
  createInvitation(
    input: NewInvitation,
    actor: ActorContext = {},
  ): { invitation: InvitationRecord; email: EmailRecord | null } {
    const emailAddress = requireEmail(input.emailAddress);
    if (!input.ignoreExisting && this.users.findByEmail(emailAddress))
      throw new ClerkApiError(errors.identifierExists("email_address"));
    const invitation = this.invitations.create(
      { ...input, emailAddress },
      this.branding.url,
      this.clock.now(),
    );
    if (input.notify === false) return { invitation, email: null };
    const email = this.sendEmail(
      input.templateSlug ?? "invitation",
      { address: emailAddress, emailAddressId: null, user: null },
      {
        action_url: invitation.url,
        invitation: {
          expires_in_days: invitation.expiresInDays,
          public_metadata: invitation.publicMetadata,
        },
      },
      actor,
    );
    return { invitation, email };
  }

  /** A code for `address`: 424242 for a test-mode address, else six random digits. */
  private codeFor(address: string): string {
    return this.testMode && isTestAddress(address) ? TEST_MODE_CODE : newCode();
  }

  /** The template variables that carry a code or a link. */
  private proof(strategy: EmailStrategy, codeOrToken: string): Record<string, unknown> {
    return strategy === "email_code"
      ? { otp_code: codeOrToken }
      : {
          magic_link: `${this.branding.url}/v1/verify?token=${codeOrToken}`,
          ttl_minutes: CODE_TTL_MS / 60_000,
        };
  }

  verifyEmailAddress(emailAddressId: string, code: string, actor: ActorContext = {}): UserRecord {
    const found = this.users.findEmail(emailAddressId);
    if (!found)
      throw new ClerkApiError(errors.notFound(`No email address was found with id ${emailAddressId}`));
    if (found.email.status === "verified") return found.user;
    if (code !== found.email.pendingCode) throw new ClerkApiError(errors.codeIncorrect());
    this.users.markVerified(found.user, found.email);
    this.emit("user.updated", userJson(found.user), actor);
    return found.user;
  }

  /** Makes a verified address primary; Clerk notifies the previous address and fires `user.updated`. */
  setPrimaryEmail(userId: string, emailAddressId: string, actor: ActorContext = {}): UserRecord {
    const user = this.user(userId);
    const next = user.emailAddresses.find((e) => e.id === emailAddressId);
    if (!next)
      throw new ClerkApiError(errors.notFound(`No email address was found with id ${emailAddressId}`));
    if (next.status !== "verified") {
      throw new ClerkApiError(
        errors.verificationNeeded("Verify this email address before making it primary."),
      );
    }
    const previous = user.emailAddresses.find((e) => e.id === user.primaryEmailAddressId);
    if (previous?.id === next.id) return user;
    user.primaryEmailAddressId = next.id;
    this.users.touch(user);
    this.emit("user.updated", userJson(user), actor);
    if (previous) {
      this.sendEmail(
        "primary_email_address_changed",
        { address: previous.emailAddress, emailAddressId: previous.id, user },
        { new_email_address: next.emailAddress },
        actor,
      );
    }
    return user;
  }
}
