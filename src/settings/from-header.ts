/**
 * The `from` value the worker hands Resend: `<display name> <address>`, with the display name written as an
 * RFC 5322 phrase so quotes, commas and non-ASCII survive every parser on the way. Pure; bundled into the
 * bridge.
 */

/** atext and the spaces between words: a phrase that needs no quoting (`Example Auth`). */
const BARE_PHRASE = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/;
/** Printable ASCII without `"` and `\`: safe inside a quoted-string without escapes (`"Example, Inc."`). */
const QUOTABLE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/;
const ENCODED_WORD_PREFIX = "=?UTF-8?B?";
const ENCODED_WORD_SUFFIX = "?=";
/** RFC 2047 caps an encoded-word at 75 characters: 12 for the frame leave 60 of base64, i.e. 45 bytes. */
const MAX_ENCODED_WORD_BYTES = 45;

/**
 * Plain names go out as they are; names with RFC 5322 specials (`,`, `.`, `@`, `(`…) as a quoted-string;
 * names with `"`, `\` or non-ASCII as RFC 2047 encoded-words (`=?UTF-8?B?…?=`). Quotes and backslashes are
 * encoded rather than escaped inside a quoted-string because an escaped quote is exactly what simple
 * `Name <addr>` parsers (Resend documents only that form) split on; an encoded-word is a plain atom to them
 * and decodes to the same name in every mail client. A name that already looks like an encoded-word is
 * encoded too, so it is shown literally.
 */
export function formatFromHeader(displayName: string, address: string): string {
  const name = displayName.trim();
  if (name === "") return address;
  return `${phrase(name)} <${address}>`;
}

function phrase(name: string): string {
  if (name.includes("=?")) return encodedWords(name);
  if (BARE_PHRASE.test(name)) return name;
  if (QUOTABLE.test(name)) return `"${name}"`;
  return encodedWords(name);
}

/** Whole characters per word (RFC 2047 §5 forbids splitting one), words separated by a space. */
function encodedWords(text: string): string {
  const words: string[] = [];
  let chunk = "";
  for (const char of text) {
    if (chunk !== "" && Buffer.byteLength(chunk + char, "utf8") > MAX_ENCODED_WORD_BYTES) {
      words.push(encodedWord(chunk));
      chunk = "";
    }
    chunk += char;
  }
  words.push(encodedWord(chunk));
  return words.join(" ");
}

function encodedWord(text: string): string {
  return `${ENCODED_WORD_PREFIX}${Buffer.from(text, "utf8").toString("base64")}${ENCODED_WORD_SUFFIX}`;
}
