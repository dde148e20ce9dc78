import { invalidField, missingField } from "./errors";
import { objectBody, optionalString } from "./fields";

/** A send request after Resend's validation, with every address list normalized to an array. */
export interface EmailRequest {
  from: string;
  fromAddress: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo: string[];
  subject: string;
  html?: string;
  text?: string;
  templateId?: string;
  topicId?: string;
  headers: Record<string, string>;
  tags: { name: string; value: string }[];
  attachments: number;
  scheduledAt?: Date;
}

const ADDRESS =
  /^[^\s@<>()",;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const TAG_PART = /^[A-Za-z0-9_-]{1,256}$/;
const MAX_RECIPIENTS = 50;
const MAX_TAGS = 75;
const MAX_SCHEDULE_MS = 30 * 24 * 3_600_000;
/** Docs `what-email-addresses-to-use-for-testing`: Resend refuses these instead of silently hurting reputation. */
const REFUSED_TEST_DOMAINS = ["example.com", "test.com"];
const FORMAT_HINT =
  "The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.";

/** Validates one `POST /emails` body (or one item of a batch) the way Resend does, first error wins. */
export function parseEmailRequest(
  raw: unknown,
  { batch }: { batch: boolean },
  now = new Date(),
): EmailRequest {
  const body = objectBody(raw);
  for (const field of ["from", "to", "subject"]) {
    const value = body[field];
    if (
      value === undefined ||
      value === null ||
      value === "" ||
      (Array.isArray(value) && value.length === 0)
    ) {
      throw missingField(field);
    }
  }
  if (typeof body.subject !== "string") throw invalidField("The `subject` field must be a string.");
  if (typeof body.from !== "string") throw invalidField(`Invalid \`from\` field. ${FORMAT_HINT}`);
  const fromAddress = mailbox(body.from);
  if (!fromAddress) throw invalidField(`Invalid \`from\` field. ${FORMAT_HINT}`);

  const to = addressList(body.to, "to");
  if (to.length > MAX_RECIPIENTS) {
    throw invalidField(
      `Invalid \`to\` field. You can send to at most ${MAX_RECIPIENTS} recipients per email.`,
    );
  }
  const cc = addressList(body.cc, "cc");
  const bcc = addressList(body.bcc, "bcc");
  const replyTo = addressList(body.reply_to, "reply_to");
  for (const address of [...to, ...cc, ...bcc]) {
    const domain = address.split("@")[1]!.toLowerCase();
    if (REFUSED_TEST_DOMAINS.includes(domain)) {
      throw invalidField(
        `Invalid \`to\` field. Please use our testing email address instead of domains like \`${domain}\`. Learn more at: https://resend.com/docs/dashboard/emails/send-test-emails`,
      );
    }
  }

  const html = optionalString(body, "html");
  const text = optionalString(body, "text");
  const templateId = template(body.template);
  if (templateId && (html !== undefined || text !== undefined)) {
    throw invalidField("The `template` field cannot be used together with `html` or `text`.");
  }
  if (!templateId && html === undefined && text === undefined) throw missingField("html` or `text");

  if (batch && body.attachments !== undefined) {
    throw invalidField("The `attachments` field is not supported for batch emails.");
  }
  const attachments = attachmentCount(body.attachments);

  return {
    from: body.from,
    fromAddress,
    to,
    cc,
    bcc,
    replyTo,
    subject: body.subject,
    html,
    text,
    templateId,
    topicId: typeof body.topic_id === "string" ? body.topic_id : undefined,
    headers: headers(body.headers),
    tags: tags(body.tags),
    attachments,
    scheduledAt: scheduledAt(body.scheduled_at, now),
  };
}

/** The address inside `Name <addr@domain>` or a bare `addr@domain`; undefined when malformed. */
export function mailbox(value: string): string | undefined {
  const angled = /^\s*(?:"?[^"<>]*"?\s*)?<([^<>]+)>\s*$/.exec(value);
  const address = (angled ? angled[1]! : value).trim();
  return ADDRESS.test(address) ? address : undefined;
}

function addressList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((entry) => {
    const address = typeof entry === "string" ? mailbox(entry) : undefined;
    if (!address) throw invalidField(`Invalid \`${field}\` field. ${FORMAT_HINT}`);
    return address;
  });
}

function template(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const id = (value as { id?: unknown }).id;
  if (typeof value !== "object" || typeof id !== "string" || !id) {
    throw invalidField("The `template` field must be an object with a published template `id`.");
  }
  return id;
}

function headers(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw invalidField("The `headers` field must be an object of header names to string values.");
  }
  for (const [name, headerValue] of Object.entries(value)) {
    if (typeof headerValue !== "string")
      throw invalidField(`The \`headers.${name}\` value must be a string.`);
  }
  return { ...(value as Record<string, string>) };
}

function tags(value: unknown): { name: string; value: string }[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw invalidField("The `tags` field must be an array of `{ name, value }` objects.");
  if (value.length > MAX_TAGS)
    throw invalidField(`The \`tags\` field accepts at most ${MAX_TAGS} tags per email.`);
  return value.map((tag: unknown) => {
    const { name, value: tagValue } = (tag ?? {}) as { name?: unknown; value?: unknown };
    if (
      typeof name !== "string" ||
      !TAG_PART.test(name) ||
      typeof tagValue !== "string" ||
      !TAG_PART.test(tagValue)
    ) {
      throw invalidField(
        "Invalid `tags` field. Tag names and values can only contain ASCII letters (a–z, A–Z), numbers (0–9), underscores (_), or dashes (-), and can contain no more than 256 characters.",
      );
    }
    return { name, value: tagValue };
  });
}

function attachmentCount(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (!Array.isArray(value)) throw invalidField("The `attachments` field must be an array.");
  for (const attachment of value as { content?: unknown; path?: unknown; filename?: unknown }[]) {
    if (!attachment || (attachment.content === undefined && attachment.path === undefined)) {
      throw invalidField("Each attachment needs `content` or `path`.");
    }
  }
  return value.length;
}

/** ISO 8601 or Resend's natural language ("in 10 min", "in 2 hours"), at most 30 days ahead. */
function scheduledAt(value: unknown, now: Date): Date | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidField("The `scheduled_at` field must be a string.");
  const relative = /^in\s+(\d+)\s*(min|mins|minute|minutes|hour|hours|day|days)$/i.exec(value.trim());
  const unitMs = (unit: string) =>
    unit.startsWith("min") ? 60_000 : unit.startsWith("hour") ? 3_600_000 : 86_400_000;
  const at = relative
    ? new Date(now.getTime() + Number(relative[1]) * unitMs(relative[2]!.toLowerCase()))
    : new Date(value);
  if (Number.isNaN(at.getTime())) {
    throw invalidField(
      "Invalid `scheduled_at` field. Use an ISO 8601 date or natural language such as `in 1 hour`.",
    );
  }
  if (at.getTime() - now.getTime() > MAX_SCHEDULE_MS) {
    throw invalidField("Invalid `scheduled_at` field. Emails can be scheduled at most 30 days ahead.");
  }
  return at;
}
