import {
  CODE_LIFETIME_SECONDS,
  describeProblem,
  type FieldResult,
  parseCodeLifetime,
  parseCodeLifetimes,
  parseDisplayName,
  parseEmailAddress,
  parseExtraHeaders,
  parseReplyTo,
  parseStackName,
  parseWholeNumber,
} from "../settings/fields";

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
  /** Lifetimes per Clerk template slug, replacing the built-in ones (src/bridge/clerk-templates.ts). */
  codeLifetimes: Readonly<Record<string, number>>;
  stack: string;
  extraHeaders: Record<string, string>;
  clerkApiUrl: string | undefined;
  resendBaseUrl: string | undefined;
  /** Webhook bodies above this are refused with 413 (SQS messages are capped at 256 KiB by default). */
  maxBodyBytes: number;
}

export const DEFAULT_CODE_LIFETIME_SECONDS = CODE_LIFETIME_SECONDS.default;
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

type Env = Record<string, string | undefined>;

/**
 * Reads and checks the environment the program gives the handlers (infra/components/bounce-bridge.ts). The
 * settings that come from the stack config go through the program's own field parsers (src/settings/fields),
 * so whatever `pulumi up` deployed is accepted here, and what is refused here was refused at preview.
 */
export function readBridgeConfig(role: BridgeRole, env: Env = process.env): BridgeConfig {
  const problems: string[] = [];
  const required = (name: string, hint: string): string => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is not set: ${hint}`);
    return value ?? "";
  };
  const optional = (name: string): string | undefined => env[name]?.trim() || undefined;
  /** A stack setting, checked untrimmed by the program's parser for `key`. */
  const stackSetting = <T>(name: string, key: string, result: FieldResult<T>, fallback: T): T => {
    if (result.ok) return result.value;
    problems.push(`${describeProblem(name, result.problem)}: fix the stack's ${key} and run pulumi up`);
    return fallback;
  };

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
  let extraHeaders: Record<string, string> = {};
  if (role === "worker") {
    if (required("BRIDGE_FROM_ADDRESS", "set it to an address on the sending domain")) {
      const raw = env.BRIDGE_FROM_ADDRESS ?? "";
      fromAddress = stackSetting("BRIDGE_FROM_ADDRESS", "fromAddress", parseEmailAddress(raw), "");
    }
    if (required("BRIDGE_FROM_NAME", "set it to the display name recipients see")) {
      fromName = stackSetting(
        "BRIDGE_FROM_NAME",
        "fromName",
        parseDisplayName(env.BRIDGE_FROM_NAME ?? ""),
        "",
      );
    }
    replyTo = stackSetting("BRIDGE_REPLY_TO", "replyTo", parseReplyTo(env.BRIDGE_REPLY_TO), undefined);
    if (env.BRIDGE_EXTRA_HEADERS !== undefined) {
      const headers = parseJson(env.BRIDGE_EXTRA_HEADERS, '{"X-Header":"value"}');
      const parsed = headers.ok ? parseExtraHeaders(headers.value) : headers;
      extraHeaders = stackSetting("BRIDGE_EXTRA_HEADERS", "extraHeaders", parsed, {});
    }
  }

  const codeLifetimeSeconds =
    env.BRIDGE_CODE_LIFETIME_SECONDS === undefined
      ? DEFAULT_CODE_LIFETIME_SECONDS
      : stackSetting(
          "BRIDGE_CODE_LIFETIME_SECONDS",
          "codeLifetimeSeconds",
          parseCodeLifetime(env.BRIDGE_CODE_LIFETIME_SECONDS),
          DEFAULT_CODE_LIFETIME_SECONDS,
        );
  let codeLifetimes: Record<string, number> = {};
  if (env.BRIDGE_CODE_LIFETIMES !== undefined) {
    const lifetimes = parseJson(env.BRIDGE_CODE_LIFETIMES, '{"invitation":604800}');
    const parsed = lifetimes.ok ? parseCodeLifetimes(lifetimes.value) : lifetimes;
    codeLifetimes = stackSetting("BRIDGE_CODE_LIFETIMES", "codeLifetimes", parsed, {});
  }
  const maxBodyBytes = positiveInteger(env.BRIDGE_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES, problems);
  let stack = required("BRIDGE_STACK", "set it to the Pulumi stack name (used in email tags)");
  if (stack) stack = stackSetting("BRIDGE_STACK", "name", parseStackName(env.BRIDGE_STACK ?? ""), "");

  if (problems.length > 0) throw new BridgeConfigError(problems);
  return {
    tableName,
    queueUrl,
    secretParameters,
    fromAddress,
    fromName,
    replyTo,
    codeLifetimeSeconds,
    codeLifetimes,
    stack,
    extraHeaders,
    clerkApiUrl: optional("BRIDGE_CLERK_API_URL"),
    resendBaseUrl: optional("RESEND_BASE_URL")?.replace(/\/+$/, ""),
    maxBodyBytes,
  };
}

/** `BRIDGE_MAX_BODY_BYTES` is the bridge's own knob (no stack setting); blank means the default. */
function positiveInteger(raw: string | undefined, fallback: number, problems: string[]): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const parsed = parseWholeNumber(raw, 1, Number.MAX_SAFE_INTEGER);
  if (parsed.ok) return parsed.value;
  problems.push(`BRIDGE_MAX_BODY_BYTES "${raw}" ${parsed.problem} of bytes`);
  return fallback;
}

/**
 * `BRIDGE_EXTRA_HEADERS` and `BRIDGE_CODE_LIFETIMES` hold the stack's extraHeaders and codeLifetimes as JSON,
 * e.g. `{"List-Unsubscribe":"<mailto:…>"}`, `{"invitation":604800}`.
 */
function parseJson(raw: string, example: string): FieldResult<unknown> {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: false, problem: `is not valid JSON: use an object such as ${example}` };
  }
}
