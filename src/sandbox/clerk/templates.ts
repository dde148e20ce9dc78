import { prefixedId } from "../core/ids";

export type TemplateType = "email" | "sms";

export interface TemplateRecord {
  id: string;
  templateType: TemplateType;
  slug: string;
  name: string;
  position: number;
  subject: string | null;
  /** Mustache-style body (`{{otp_code}}`, `{{app.name}}`) before variable interpolation. */
  body: string;
  availableVariables: string[];
  requiredVariables: string[];
  fromEmailName: string;
  replyToEmailName: string;
  deliveredByClerk: boolean;
  createdAt: number;
  updatedAt: number;
}

const COMMON_VARIABLES = [
  "app.name",
  "app.url",
  "app.domain_name",
  "app.logo_image_url",
  "app.logo_url",
  "theme.primary_color",
  "theme.button_text_color",
  "theme.show_clerk_branding",
  "user.public_metadata",
  "user.public_metadata_fallback",
];

interface Seed {
  slug: string;
  name: string;
  subject: string;
  body: string;
  required?: string[];
  extra?: string[];
}

const code = (purpose: string) =>
  `<p>Enter the following ${purpose} code when prompted:</p><p><strong>{{otp_code}}</strong></p>` +
  "<p>To protect your account, do not share this code.</p>" +
  "<p>This request was made from {{requested_by}} at {{requested_at}}.</p>";
const link = (action: string) =>
  `<p>Click the link below to ${action}:</p><p><a href="{{magic_link}}">{{magic_link}}</a></p>` +
  "<p>This link expires in {{ttl_minutes}} minutes. Requested from {{requested_by}} at {{requested_at}}.</p>";
const notice = (what: string) => `<p>${what}</p><p>If this wasn't you, contact {{app.name}} support.</p>`;

/** The email templates a fresh Clerk development instance lists, in Clerk's display order. */
const EMAIL_SEEDS: Seed[] = [
  {
    slug: "verification_code",
    name: "Verification code",
    subject: "{{otp_code}} is your verification code",
    body: code("verification"),
    required: ["otp_code"],
    extra: ["otp_code", "requested_at", "requested_by"],
  },
  {
    slug: "reset_password_code",
    name: "Reset password code",
    subject: "{{otp_code}} is your password reset code",
    body: code("password reset"),
    required: ["otp_code"],
    extra: ["otp_code", "requested_at", "requested_by"],
  },
  {
    slug: "magic_link_sign_in",
    name: "Magic link: Sign in",
    subject: "Sign in to {{app.name}}",
    body: link("sign in to {{app.name}}"),
    required: ["magic_link"],
    extra: ["magic_link", "ttl_minutes", "requested_at", "requested_by"],
  },
  {
    slug: "magic_link_sign_up",
    name: "Magic link: Sign up",
    subject: "Sign up to {{app.name}}",
    body: link("finish signing up to {{app.name}}"),
    required: ["magic_link"],
    extra: ["magic_link", "ttl_minutes", "requested_at", "requested_by"],
  },
  {
    slug: "magic_link_user_profile",
    name: "Magic link: User profile",
    subject: "Verify your email",
    body: link("verify your email address"),
    required: ["magic_link"],
    extra: ["magic_link", "ttl_minutes", "requested_at", "requested_by"],
  },
  {
    slug: "invitation",
    name: "Invitation",
    subject: "You've been invited to join {{app.name}}",
    body:
      '<p>You have been invited to join {{app.name}}.</p><p><a href="{{action_url}}">Accept invitation</a></p>' +
      "<p>This invitation expires in {{invitation.expires_in_days}} days.</p>",
    required: ["action_url"],
    extra: ["action_url", "invitation.expires_in_days", "invitation.public_metadata", "inviter.name"],
  },
  {
    slug: "organization_invitation",
    name: "Organization invitation",
    subject: "{{inviter_name}} invited you to join {{org.name}}",
    body: '<p>{{inviter_name}} invited you to join {{org.name}}.</p><p><a href="{{action_url}}">Accept</a></p>',
    required: ["action_url"],
    extra: ["action_url", "inviter_name", "org.name"],
  },
  {
    slug: "password_changed",
    name: "Password changed",
    subject: "Your password has been changed",
    body: notice("The password for your {{app.name}} account was changed."),
  },
  {
    slug: "password_removed",
    name: "Password removed",
    subject: "Your password has been removed",
    body: notice("The password for your {{app.name}} account was removed."),
  },
  {
    slug: "primary_email_address_changed",
    name: "Primary email address changed",
    subject: "Your primary email address has been changed",
    body: notice("The primary email address of your {{app.name}} account is now {{new_email_address}}."),
    extra: ["new_email_address"],
  },
  {
    slug: "passkey_added",
    name: "Passkey added",
    subject: "A passkey has been added to your account",
    body: notice("A passkey named {{passkey_name}} was added to your {{app.name}} account."),
    extra: ["passkey_name"],
  },
  {
    slug: "passkey_removed",
    name: "Passkey removed",
    subject: "A passkey has been removed from your account",
    body: notice("A passkey named {{passkey_name}} was removed from your {{app.name}} account."),
    extra: ["passkey_name"],
  },
  {
    slug: "waitlist_confirmation",
    name: "Waitlist confirmation",
    subject: "You're on the waitlist for {{app.name}}",
    body: "<p>Thanks for joining the {{app.name}} waitlist. We'll email you when a spot opens up.</p>",
  },
  {
    slug: "waitlist_invitation",
    name: "Waitlist invitation",
    subject: "You've been invited to join {{app.name}}",
    body: '<p>Your spot on {{app.name}} is ready.</p><p><a href="{{action_url}}">Join now</a></p>',
    required: ["action_url"],
    extra: ["action_url"],
  },
];

const SMS_SEEDS: Seed[] = [
  {
    slug: "verification_code",
    name: "Verification code",
    subject: "",
    body: "{{otp_code}} is your verification code for {{app.name}}.",
    required: ["otp_code"],
    extra: ["otp_code"],
  },
  {
    slug: "reset_password_code",
    name: "Reset password code",
    subject: "",
    body: "{{otp_code}} is your password reset code for {{app.name}}.",
    required: ["otp_code"],
    extra: ["otp_code"],
  },
];

/** The instance's templates, all delivered by Clerk until someone toggles them. */
export class TemplateStore {
  private readonly templates: TemplateRecord[];

  constructor(now: number) {
    const build = (type: TemplateType, seeds: Seed[]) =>
      seeds.map(
        (seed, position): TemplateRecord => ({
          id: prefixedId("tmpl"),
          templateType: type,
          slug: seed.slug,
          name: seed.name,
          position,
          subject: type === "email" ? seed.subject : null,
          body: seed.body,
          availableVariables: [...COMMON_VARIABLES, ...(seed.extra ?? [])],
          requiredVariables: seed.required ?? [],
          fromEmailName: "notifications",
          replyToEmailName: "",
          deliveredByClerk: true,
          createdAt: now,
          updatedAt: now,
        }),
      );
    this.templates = [...build("email", EMAIL_SEEDS), ...build("sms", SMS_SEEDS)];
  }

  list(type: TemplateType): TemplateRecord[] {
    return this.templates.filter((t) => t.templateType === type);
  }

  get(type: TemplateType, slug: string): TemplateRecord | undefined {
    return this.templates.find((t) => t.templateType === type && t.slug === slug);
  }

  email(slug: string): TemplateRecord {
    const template = this.get("email", slug);
    if (!template) throw new Error(`no seeded email template with slug ${slug}`);
    return template;
  }
}

/** The spec's `Template` object. */
export function templateJson(template: TemplateRecord, instanceId: string) {
  return {
    id: template.id,
    object: "template",
    instance_id: instanceId,
    resource_type: "system",
    template_type: template.templateType,
    name: template.name,
    slug: template.slug,
    position: template.position,
    can_revert: false,
    can_delete: false,
    can_edit_body: true,
    can_toggle: false,
    subject: template.subject,
    markup: "",
    body: template.body,
    available_variables: template.availableVariables,
    required_variables: template.requiredVariables,
    from_email_name: template.fromEmailName,
    reply_to_email_name: template.replyToEmailName,
    delivered_by_clerk: template.deliveredByClerk,
    enabled: true,
    flagged_as_suspicious: false,
    updated_at: template.updatedAt,
    created_at: template.createdAt,
  };
}
