import { prefixedId } from "../core/ids";
import type { Metadata } from "./metadata";
import type { TemplateRecord } from "./templates";

/** What an email's `data.data.app` says about the application. */
export interface AppBranding {
  name: string;
  domain_name: string;
  url: string;
  logo_image_url: string;
  logo_url: string | null;
}

export const DEFAULT_BRANDING: AppBranding = {
  name: "Acme",
  domain_name: "acme.test",
  url: "https://accounts.acme.test",
  logo_image_url: "https://img.clerk.com/eyJ0eXBlIjoicHJveHkifQ",
  logo_url: null,
};

const THEME = { button_text_color: "#ffffff", primary_color: "#6c47ff", show_clerk_branding: true };

export interface EmailRequest {
  template: TemplateRecord;
  to: string;
  emailAddressId: string | null;
  userId: string | null;
  /** Template-specific variables: `otp_code`, `magic_link`, `new_email_address`, `invitation.expires_in_days`… */
  variables: Record<string, unknown>;
  publicMetadata: Metadata;
  /** Browser and OS of the requesting client, as Clerk phrases it ("Chrome, OS X"). */
  requestedBy: string;
  requestedAt: Date;
  branding: AppBranding;
}

/** The `data` of an `email.created` event (webhooks spec `EmailEventPayload`). */
export interface EmailEventData {
  id: string;
  object: "email";
  slug: string | null;
  from_email_name: string;
  reply_to_email_name: string | null;
  to_email_address: string;
  email_address_id: string | null;
  user_id: string | null;
  subject: string;
  body: string;
  body_plain: string | null;
  status: string;
  data: Record<string, unknown>;
  delivered_by_clerk: boolean;
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** Clerk's `requested_at` wording: "30 August 2022, 12:14 UTC". */
function formatRequestedAt(at: Date): string {
  const hh = String(at.getUTCHours()).padStart(2, "0");
  const mm = String(at.getUTCMinutes()).padStart(2, "0");
  return `${at.getUTCDate()} ${MONTHS[at.getUTCMonth()]} ${at.getUTCFullYear()}, ${hh}:${mm} UTC`;
}

/** "Chrome, OS X" from a User-Agent header; Clerk names the browser and the operating system. */
export function describeUserAgent(userAgent: string | undefined): string {
  const ua = userAgent ?? "";
  const browser =
    [
      [/Edg\//, "Edge"],
      [/Firefox\//, "Firefox"],
      [/Chrome\//, "Chrome"],
      [/Safari\//, "Safari"],
      [/^node|undici|@clerk\//i, "Node.js"],
    ].find(([re]) => (re as RegExp).test(ua))?.[1] ?? "Unknown browser";
  const os =
    [
      [/Mac OS X|Macintosh/, "OS X"],
      [/Windows/, "Windows"],
      [/Android/, "Android"],
      [/iPhone|iPad/, "iOS"],
      [/Linux/, "Linux"],
    ].find(([re]) => (re as RegExp).test(ua))?.[1] ?? "Unknown OS";
  return `${browser}, ${os}`;
}

function lookup(data: Record<string, unknown>, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>((acc, key) => (acc as Record<string, unknown> | undefined)?.[key], data);
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function interpolate(text: string, data: Record<string, unknown>, encode: (s: string) => string): string {
  return text.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_m, path: string) => {
    const value = lookup(data, path);
    return value === undefined || value === null ? "" : encode(String(value));
  });
}

function htmlToText(html: string): string {
  return html
    .replace(/<\/p>/g, "\n\n")
    .replace(/<a [^>]*href="([^"]*)"[^>]*>.*?<\/a>/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)))
    .replace(/\n{3,}/g, "\n\n")
    .trim()
    .concat("\n");
}

/**
 * Renders a template the way Clerk does before emitting `email.created`: subject, an HTML body that
 * contains the code or link, the plain-text body, and the template variables in `data`.
 */
export function renderEmail(request: EmailRequest): EmailEventData {
  const { template } = request;
  const data: Record<string, unknown> = {
    app: { ...request.branding },
    ...request.variables,
    requested_at: formatRequestedAt(request.requestedAt),
    requested_by: request.requestedBy,
    theme: { ...THEME },
    user: { public_metadata: request.publicMetadata, public_metadata_fallback: "" },
  };
  const subject = interpolate(template.subject ?? "", data, (s) => s);
  const inner = interpolate(template.body, data, escapeHtml);
  const body =
    '<!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"><head>' +
    '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">' +
    `<title>${escapeHtml(subject)}</title></head><body><div class="container">${inner}</div></body></html>`;
  return {
    id: prefixedId("ema"),
    object: "email",
    slug: template.slug,
    from_email_name: template.fromEmailName,
    reply_to_email_name: template.replyToEmailName || null,
    to_email_address: request.to,
    email_address_id: request.emailAddressId,
    user_id: request.userId,
    subject,
    body,
    body_plain: htmlToText(inner),
    status: "queued",
    data,
    delivered_by_clerk: template.deliveredByClerk,
  };
}
