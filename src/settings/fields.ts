/**
 * Field rules shared by the Pulumi program's stack-config check and the bridge's cold start, so a value the
 * program deploys is a value the bridge accepts. Pure: no Pulumi, no zod (the bridge bundle imports this
 * file), no I/O. Each parser returns the normalized value or a problem phrase that never contains a secret.
 */

export type FieldResult<T> = { ok: true; value: T } | { ok: false; problem: string };

const accept = <T>(value: T): FieldResult<T> => ({ ok: true, value });
const refuse = (problem: string): FieldResult<never> => ({ ok: false, problem });

/** Pulumi's own stack-name rule (`validateStackName` in pulumi/pulumi): the program runs only under such names. */
const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

export function parseStackName(raw: string): FieldResult<string> {
  return STACK_NAME.test(raw)
    ? accept(raw)
    : refuse("must be 1-100 letters, digits, '-', '_' or '.' (Pulumi's stack-name rule)");
}

/**
 * The stack name as a Resend tag value, which allows only ASCII letters, digits, `_` and `-`. `_` is the
 * escape character (`_` → `__`, `.` → `_d`), so distinct stacks keep distinct tags (`prod.eu` → `prod_deu`,
 * `prod_eu` → `prod__eu`) and names made of letters, digits and `-` are unchanged. At most 200 characters.
 * Anything comparing a tag with the stack must compare against this encoding.
 */
export function stackTagValue(stack: string): string {
  return stack.replace(/[_.]/g, (char) => (char === "_" ? "__" : "_d"));
}

/** RFC 5322 dot-atom local part: what Resend and every MTA take without quoting. */
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
/** A DNS name with a letter TLD; internationalized names in their `xn--` form. */
const DOMAIN =
  /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$/;

export function parseEmailAddress(raw: string): FieldResult<string> {
  const at = raw.lastIndexOf("@");
  const local = raw.slice(0, at);
  if (at > 0 && local.length <= 64 && LOCAL_PART.test(local) && DOMAIN.test(raw.slice(at + 1))) {
    return accept(raw);
  }
  return refuse("must be an email address like auth@mail.example.com (ASCII, no spaces, quotes or brackets)");
}

/** C0 and C1 controls (CR, LF, tab…), DEL and the Unicode line and paragraph separators. */
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
/** A UTF-16 surrogate that is not half of a pair: not text, and not encodable as UTF-8. */
const LONE_SURROGATE = /\p{Cs}/u;
export const MAX_DISPLAY_NAME_CHARS = 64;

/**
 * The From display name. Quotes, commas, `\` and non-ASCII are fine: {@link formatFromHeader} encodes them.
 * Refused: control characters (a line break would end the header), and `<`/`>`, which make a name read as
 * an address (a phishing signal to receivers). Surrounding spaces are trimmed.
 */
export function parseDisplayName(raw: string): FieldResult<string> {
  const name = raw.trim();
  if (name === "") return refuse("must not be empty");
  if (CONTROL.test(name)) return refuse("must not contain line breaks, tabs or other control characters");
  if (LONE_SURROGATE.test(name)) return refuse("must be valid Unicode text");
  if (/[<>]/.test(name)) return refuse("must not contain < or >: a name that looks like an address");
  if ([...name].length > MAX_DISPLAY_NAME_CHARS) {
    return refuse(`must be at most ${MAX_DISPLAY_NAME_CHARS} characters`);
  }
  return accept(name);
}

/** An optional reply-to address; empty means unset (the program then passes none to the bridge). */
export function parseReplyTo(raw: string | undefined): FieldResult<string | undefined> {
  return raw === undefined || raw === "" ? accept(undefined) : parseEmailAddress(raw);
}

/** RFC 9110 field-name (`token`). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value may hold tabs, but no other control character: CR/LF would inject headers. */
const HEADER_VALUE_CONTROL = /(?!\t)[\p{Cc}\u2028\u2029]/u;

/**
 * A JSON-decoded object whose every entry passes `entry`; each refused entry is reported as `["key"] <problem>`,
 * all of them at once. `shape` is the problem when the value is not an object at all.
 */
function parseEntries<T>(
  value: unknown,
  shape: string,
  entry: (key: string, raw: unknown) => FieldResult<T>,
): FieldResult<Record<string, T>> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return refuse(shape);
  const problems: string[] = [];
  const entries: Record<string, T> = {};
  for (const [key, raw] of Object.entries(value)) {
    const parsed = entry(key, raw);
    if (parsed.ok) entries[key] = parsed.value;
    else problems.push(`[${JSON.stringify(key)}] ${parsed.problem}`);
  }
  return problems.length > 0 ? refuse(problems.join("; ")) : accept(entries);
}

/** Extra email headers, as a JSON-decoded value: an object of header names to single-line strings. */
export function parseExtraHeaders(value: unknown): FieldResult<Record<string, string>> {
  return parseEntries(
    value,
    'must be a JSON object of header names to values, e.g. {"X-Team":"auth"}',
    (name, raw) => {
      if (!HEADER_NAME.test(name)) return refuse("is not a header name (letters, digits, -)");
      if (typeof raw !== "string") return refuse("must be a string");
      if (HEADER_VALUE_CONTROL.test(raw)) return refuse("must be a single line without control characters");
      return accept(raw);
    },
  );
}

/**
 * A problem as a sentence about its subject: `fromName must not be empty`, and for a problem inside the
 * value (it starts with `[`), `extraHeaders["X-A"] must be a string`.
 */
export function describeProblem(subject: string, problem: string): string {
  return problem.startsWith("[") ? `${subject}${problem}` : `${subject} ${problem}`;
}

/** A whole number in [min, max], from config text (`"600"`) or a number. */
export function parseWholeNumber(raw: unknown, min: number, max: number): FieldResult<number> {
  const value = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
  if (typeof value !== "number" || Number.isNaN(value)) return refuse("must be a number");
  if (!Number.isInteger(value)) return refuse("must be a whole number");
  if (value < min) return refuse(`must be at least ${min}`);
  if (value > max) return refuse(`must be at most ${max}`);
  return accept(value);
}

/** How long a verification code is worth sending; older emails are dropped as stale. */
export const CODE_LIFETIME_SECONDS = { min: 60, max: 86_400, default: 600 } as const;

export function parseCodeLifetime(raw: unknown): FieldResult<number> {
  return parseWholeNumber(raw, CODE_LIFETIME_SECONDS.min, CODE_LIFETIME_SECONDS.max);
}

/** A Clerk email template slug, as `GET /v1/templates/email` lists them (`verification_code`). */
export const TEMPLATE_SLUG = /^[a-z0-9_]+$/;
/** Per-template lifetimes: a minute at least, at most Clerk's longest invitation (365 days). */
export const TEMPLATE_LIFETIME_SECONDS = { min: 60, max: 365 * 86_400 } as const;

/**
 * Lifetimes per Clerk email template, as a JSON-decoded value: an object of template slugs to seconds
 * (numbers, or whole-number text as `pulumi config set --path` stores them), e.g. `{"invitation": 604800}`.
 */
export function parseCodeLifetimes(value: unknown): FieldResult<Record<string, number>> {
  const shape = 'must be a JSON object of template slugs to seconds, e.g. {"invitation":604800}';
  return parseEntries(value, shape, (slug, raw) => {
    if (!TEMPLATE_SLUG.test(slug)) {
      return refuse("is not a template slug (lowercase letters, digits, _ like verification_code)");
    }
    const seconds = parseWholeNumber(raw, TEMPLATE_LIFETIME_SECONDS.min, TEMPLATE_LIFETIME_SECONDS.max);
    return seconds.ok ? seconds : refuse(`${seconds.problem} (seconds)`);
  });
}
