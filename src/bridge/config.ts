/**
 * The bridge's environment, parsed once at cold start. Every problem is reported together, each naming
 * the variable and the fix, so a misconfigured deploy fails on its first invocation with one clear error.
 * Secret VALUES never live here: only the SSM parameter names to read them from.
 */
export type BridgeRole = "ingest" | "worker";

export interface SecretParameterNames {
  resendApiKey: string;
  clerkSecretKey: string;
  clerkWebhookSecret: string;
  resendWebhookSecret: string;
}

export interface BridgeConfig {
  tableName: string;
  queueUrl: string;
  /** Empty strings for parameters the role does not read. */
  secretParameters: SecretParameterNames;
  fromAddress: string;
  fromName: string;
  replyTo: string | undefined;
  codeLifetimeSeconds: number;
  stack: string;
  extraHeaders: Record<string, string>;
  clerkApiUrl: string | undefined;
  resendBaseUrl: string | undefined;
  /** Webhook bodies above this are refused with 413 (SQS messages are capped at 256 KiB by default). */
  maxBodyBytes: number;
}

export const DEFAULT_CODE_LIFETIME_SECONDS = 600;
export const DEFAULT_MAX_BODY_BYTES = 240 * 1024;

export class BridgeConfigError extends Error {
  override name = "BridgeConfigError";
  constructor(readonly problems: string[]) {
    super(`Bridge configuration is invalid:\n- ${problems.join("\n- ")}`);
  }
}

const SECRET_ENV: Record<keyof SecretParameterNames, string> = {
  resendApiKey: "BRIDGE_PARAM_RESEND_API_KEY",
  clerkSecretKey: "BRIDGE_PARAM_CLERK_SECRET_KEY",
  clerkWebhookSecret: "BRIDGE_PARAM_CLERK_WEBHOOK_SECRET",
  resendWebhookSecret: "BRIDGE_PARAM_RESEND_WEBHOOK_SECRET",
};

/** Which secrets each handler reads: ingest only verifies, the worker only calls the APIs. */
export const SECRETS_BY_ROLE: Record<BridgeRole, Array<keyof SecretParameterNames>> = {
  ingest: ["clerkWebhookSecret", "resendWebhookSecret"],
  worker: ["resendApiKey", "clerkSecretKey"],
};

const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function readBridgeConfig(
  role: BridgeRole,
  env: Record<string, string | undefined> = process.env,
): BridgeConfig {
  const problems: string[] = [];
  const required = (name: string, hint: string): string => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is not set: ${hint}`);
    return value ?? "";
  };
  const optional = (name: string): string | undefined => env[name]?.trim() || undefined;

  const tableName = required("BRIDGE_TABLE_NAME", "set it to the bridge's DynamoDB table name");
  const queueUrl =
    role === "ingest"
      ? required("BRIDGE_QUEUE_URL", "set it to the SQS queue URL")
      : (env.BRIDGE_QUEUE_URL ?? "");
  const secretParameters = {
    resendApiKey: "",
    clerkSecretKey: "",
    clerkWebhookSecret: "",
    resendWebhookSecret: "",
  };
  for (const key of SECRETS_BY_ROLE[role]) {
    secretParameters[key] = required(SECRET_ENV[key], "set it to the NAME of an SSM SecureString parameter");
  }

  let fromAddress = "";
  let fromName = "";
  let replyTo: string | undefined;
  if (role === "worker") {
    fromAddress = required("BRIDGE_FROM_ADDRESS", "set it to an address on the sending domain");
    if (fromAddress && !EMAIL.test(fromAddress)) {
      problems.push(
        `BRIDGE_FROM_ADDRESS "${fromAddress}" is not an email address: use e.g. auth@mail.example.com`,
      );
    }
    fromName = required("BRIDGE_FROM_NAME", "set it to the display name recipients see");
    if (/[<>"\r\n]/.test(fromName)) {
      problems.push(
        'BRIDGE_FROM_NAME must not contain <, >, " or line breaks: they would break the From header',
      );
    }
    replyTo = optional("BRIDGE_REPLY_TO");
    if (replyTo && !EMAIL.test(replyTo))
      problems.push(`BRIDGE_REPLY_TO "${replyTo}" is not an email address`);
  }

  const codeLifetimeSeconds = positiveInteger(
    env.BRIDGE_CODE_LIFETIME_SECONDS,
    DEFAULT_CODE_LIFETIME_SECONDS,
    "BRIDGE_CODE_LIFETIME_SECONDS",
    problems,
  );
  const maxBodyBytes = positiveInteger(
    env.BRIDGE_MAX_BODY_BYTES,
    DEFAULT_MAX_BODY_BYTES,
    "BRIDGE_MAX_BODY_BYTES",
    problems,
  );
  const stack = required("BRIDGE_STACK", "set it to the Pulumi stack name (used in email tags)");
  if (stack && !/^[A-Za-z0-9_-]{1,256}$/.test(stack)) {
    problems.push(`BRIDGE_STACK "${stack}" may only hold letters, digits, _ and - (Resend tag rules)`);
  }

  const extraHeaders = role === "worker" ? parseExtraHeaders(env.BRIDGE_EXTRA_HEADERS, problems) : {};
  if (problems.length > 0) throw new BridgeConfigError(problems);
  return {
    tableName,
    queueUrl,
    secretParameters,
    fromAddress,
    fromName,
    replyTo,
    codeLifetimeSeconds,
    stack,
    extraHeaders,
    clerkApiUrl: optional("BRIDGE_CLERK_API_URL"),
    resendBaseUrl: optional("RESEND_BASE_URL")?.replace(/\/+$/, ""),
    maxBodyBytes,
  };
}

function positiveInteger(
  raw: string | undefined,
  fallback: number,
  name: string,
  problems: string[],
): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    problems.push(
      `${name} "${raw}" is not a positive whole number of ${name.endsWith("BYTES") ? "bytes" : "seconds"}`,
    );
    return fallback;
  }
  return value;
}

/** `BRIDGE_EXTRA_HEADERS` is a JSON object of string values, e.g. `{"List-Unsubscribe":"<mailto:…>"}`. */
function parseExtraHeaders(raw: string | undefined, problems: string[]): Record<string, string> {
  if (raw === undefined || raw.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push('BRIDGE_EXTRA_HEADERS is not valid JSON: use an object such as {"X-Header":"value"}');
    return {};
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    problems.push('BRIDGE_EXTRA_HEADERS must be a JSON object such as {"X-Header":"value"}');
    return {};
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (!HEADER_NAME.test(name))
      problems.push(`BRIDGE_EXTRA_HEADERS key "${name}" is not a valid header name`);
    else if (typeof value !== "string" || /[\r\n]/.test(value)) {
      problems.push(`BRIDGE_EXTRA_HEADERS["${name}"] must be a single-line string`);
    } else headers[name] = value;
  }
  return headers;
}
