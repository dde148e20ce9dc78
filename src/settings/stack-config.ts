import { z } from "zod";
import { RECORD_PROFILES, usesReturnPathCnames } from "../../infra/dns/profiles";
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
  TEMPLATE_SLUG,
} from "./fields";
import { parseWebhookSecrets } from "./webhook-secret";

/**
 * The stack configuration, validated as a whole before any resource is declared: a bad stack fails with
 * one message listing every bad key and the command that fixes it, instead of failing one key per run.
 * Pure (no Pulumi runtime): the program reads the values from Pulumi, the doctor from `Pulumi.<stack>.yaml`.
 * The fields the bridge reads again at cold start go through the same parsers as its environment
 * (`./fields`), so the program never deploys a value the bridge refuses.
 */

export const PROJECT = "auth-email-pipeline";

const DNS_PROVIDERS = ["cloudflare", "route53"] as const;
const DMARC_POLICIES = ["none", "quarantine", "reject"] as const;
const WEBHOOK_MODES = ["manual", "portal"] as const;
/** Resend's regions and TLS modes (the Resend domain provider checks the same lists). */
export const RESEND_REGIONS = ["us-east-1", "eu-west-1", "sa-east-1", "ap-northeast-1"] as const;
export const TLS_MODES = ["opportunistic", "enforced"] as const;
/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653];

export type DnsProviderName = (typeof DNS_PROVIDERS)[number];
export type DmarcPolicy = (typeof DMARC_POLICIES)[number];
export type ClerkWebhookMode = (typeof WEBHOOK_MODES)[number];

const hostname = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const snsTopicArn = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/;
const isEmailAddress = (text: string) => parseEmailAddress(text).ok;

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.map((v) => `"${v}"`).join(", ")}` });
}

/** A zod step running one of the shared field parsers: its problem becomes the key's message. */
function shared<I, T>(parse: (raw: I) => FieldResult<T>) {
  return (raw: I, ctx: z.RefinementCtx<I>): T => {
    const result = parse(raw);
    if (result.ok) return result.value;
    ctx.issues.push({ code: "custom", message: result.problem, input: raw });
    return z.NEVER;
  };
}

function required<T>(parse: (raw: string) => FieldResult<T>) {
  return z.string({ error: "is required" }).transform(shared(parse));
}

function integer(min: number, max: number) {
  return z.unknown().transform(shared((raw: unknown) => parseWholeNumber(raw, min, max)));
}

function flag() {
  return z.stringbool({ error: 'must be "true" or "false"' }).default(false);
}

/** Structured values (`pulumi config set --path`) reach the program as JSON text. */
function jsonValue(text: unknown): unknown {
  if (typeof text !== "string") return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const schema = z.object({
  sendingDomain: z
    .string({ error: "is required" })
    .regex(hostname, { error: "must be a lowercase DNS name" }),
  dnsZone: z.string({ error: "is required" }).regex(hostname, { error: "must be a lowercase DNS name" }),
  dnsProvider: oneOf(DNS_PROVIDERS),
  dnsZoneId: z.string().min(1).optional(),
  dnsTtl: integer(1, 86400)
    .refine((ttl) => ttl === 1 || ttl >= 60, { error: "must be 1 (automatic, Cloudflare) or 60-86400" })
    .default(300),
  resendRegion: oneOf(RESEND_REGIONS).default("us-east-1"),
  returnPath: z
    .string()
    .regex(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/, {
      error: "must be 1-63 letters, digits or '-', starting with a letter",
    })
    .default("send"),
  resendRecordProfile: oneOf(RECORD_PROFILES).default("classic"),
  resendTls: oneOf(TLS_MODES).default("opportunistic"),
  adoptExistingDomain: flag(),
  openTracking: flag(),
  clickTracking: flag(),
  fromName: required(parseDisplayName),
  fromAddress: required(parseEmailAddress),
  replyTo: z.string().optional().transform(shared(parseReplyTo)),
  dmarcPolicy: oneOf(DMARC_POLICIES).default("none"),
  dmarcRua: z
    .string()
    .transform((text) => text.split(",").map((part) => part.trim().replace(/^mailto:/, "")))
    .pipe(z.array(z.string().refine(isEmailAddress, { error: "must be comma-separated email addresses" })))
    .optional(),
  dmarcPct: integer(1, 100).default(100),
  templates: z
    .preprocess(
      jsonValue,
      z
        .array(
          z.string().regex(TEMPLATE_SLUG, { error: "must hold template slugs like verification_code" }),
          {
            error: 'must be a JSON array of template slugs, e.g. ["verification_code"]',
          },
        )
        .min(1, { error: "must name at least one template" }),
    )
    .default(["verification_code", "reset_password_code"]),
  clerkWebhookMode: oneOf(WEBHOOK_MODES).default("manual"),
  bridgeMemoryMb: integer(128, 10240).default(256),
  sendConcurrency: integer(2, 1000).default(5),
  ingestReservedConcurrency: integer(1, 1000).default(10),
  codeLifetimeSeconds: z
    .unknown()
    .transform(shared(parseCodeLifetime))
    .default(CODE_LIFETIME_SECONDS.default),
  codeLifetimes: z
    .unknown()
    .transform(shared((raw: unknown) => parseCodeLifetimes(jsonValue(raw))))
    .optional(),
  logRetentionDays: integer(1, 3653)
    .refine((days) => LOG_RETENTION_DAYS.includes(days), {
      error: `must be one of ${LOG_RETENTION_DAYS.join(", ")} (CloudWatch Logs retention values)`,
    })
    .default(30),
  extraHeaders: z
    .unknown()
    .transform(shared((raw: unknown) => parseExtraHeaders(jsonValue(raw))))
    .optional(),
  verificationTimeoutSeconds: integer(30, 72 * 3600).default(1800),
  verificationPollSeconds: integer(1, 600).default(15),
  alarmTarget: z
    .string()
    .refine((t) => isEmailAddress(t) || snsTopicArn.test(t), {
      error: "must be an email address or an SNS topic ARN",
    })
    .optional(),
  bounceRateAlarmPercent: z.coerce.number({ error: "must be a number" }).gt(0).max(100).default(4),
  complaintRateAlarmPercent: z.coerce.number({ error: "must be a number" }).gt(0).max(100).default(0.1),
});

type ParsedConfig = z.output<typeof schema>;

/** How to fix each key; shown next to the problem so the message is enough to act on. */
const FIXES: Record<string, string> = {
  sendingDomain:
    "pulumi config set sendingDomain auth.example.com (a subdomain keeps auth mail's reputation apart)",
  dnsZone: "pulumi config set dnsZone example.com",
  dnsProvider: "pulumi config set dnsProvider cloudflare (or route53)",
  dnsZoneId: "pulumi config rm dnsZoneId (looked up by dnsZone when unset)",
  dnsTtl: "pulumi config set dnsTtl 300 (1 means automatic on Cloudflare)",
  resendRegion: "pulumi config set resendRegion us-east-1",
  returnPath: "pulumi config set returnPath send",
  resendRecordProfile:
    "pulumi config set resendRecordProfile classic (or cname, classic-dkim-cname, cname-dkim-cname: the shape of the records Resend lists for the domain)",
  resendTls: "pulumi config set resendTls opportunistic",
  adoptExistingDomain: "pulumi config set adoptExistingDomain true",
  openTracking: "pulumi config set openTracking false",
  clickTracking: "pulumi config set clickTracking false",
  fromName: 'pulumi config set fromName "Example Auth" (quotes, commas and accents are fine)',
  fromAddress: "pulumi config set fromAddress auth@<sendingDomain>",
  replyTo: "pulumi config set replyTo support@example.com (or pulumi config rm replyTo)",
  dmarcPolicy: "pulumi config set dmarcPolicy none (then quarantine, then reject)",
  dmarcRua: "pulumi config set dmarcRua dmarc-reports@example.com",
  dmarcPct: "pulumi config set dmarcPct 100",
  templates: "pulumi config set --path 'templates[0]' verification_code",
  clerkWebhookMode: "pulumi config set clerkWebhookMode manual (or portal)",
  bridgeMemoryMb: "pulumi config set bridgeMemoryMb 256",
  sendConcurrency: "pulumi config set sendConcurrency 5",
  ingestReservedConcurrency: "pulumi config set ingestReservedConcurrency 10",
  codeLifetimeSeconds: "pulumi config set codeLifetimeSeconds 600",
  codeLifetimes: `pulumi config set codeLifetimes '{"invitation":604800}' (seconds per Clerk template slug)`,
  logRetentionDays: "pulumi config set logRetentionDays 30",
  extraHeaders: `pulumi config set extraHeaders '{"X-Entity-Ref-ID":"auth"}'`,
  verificationTimeoutSeconds: "pulumi config set verificationTimeoutSeconds 1800",
  verificationPollSeconds: "pulumi config set verificationPollSeconds 15",
  alarmTarget: "pulumi config set alarmTarget oncall@example.com (or an SNS topic ARN)",
  bounceRateAlarmPercent: "pulumi config set bounceRateAlarmPercent 4",
  complaintRateAlarmPercent: "pulumi config set complaintRateAlarmPercent 0.1",
};

const CONFIG_KEYS = Object.keys(FIXES);

/** The problem key of a stack name Pulumi would refuse (not a config key: it has no project prefix). */
export const STACK_NAME_KEY = "stack-name";

export interface ConfigProblem {
  key: string;
  message: string;
  fix: string;
}

/** How a problem's key reads in messages: `auth-email-pipeline:fromName`, `cloudflare:apiToken`, the stack name. */
function problemLabel(key: string): string {
  if (key === STACK_NAME_KEY) return "the stack name";
  return key.includes(":") ? key : `${PROJECT}:${key}`;
}

/** One problem as a sentence, e.g. `auth-email-pipeline:extraHeaders["X A"] is not a header name`. */
export function describeConfigProblem(problem: ConfigProblem): string {
  return describeProblem(problemLabel(problem.key), problem.message);
}

/** Every problem of a stack config at once; the message never contains a secret value. */
export class StackConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(
      `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${describeConfigProblem(p)}.\n    fix: ${p.fix}`).join("\n"),
    );
    this.name = "StackConfigError";
  }
}

/** A secret the program needs, with where it may come from and the check of its shape. */
interface SecretSpec {
  key: string;
  env?: string;
  /** What `pulumi config set --secret <key>` is followed by in the fix. */
  placeholder: string;
  /** The problem with the value's shape, never the value itself. */
  problem(value: string): string | undefined;
  required: boolean;
}

export interface SecretValues {
  resendApiKey: string;
  clerkSecretKey: string;
  clerkWebhookSigningSecret?: string;
}

export interface ConfigSource {
  /** Plain config values by key without the project prefix, as `pulumi config` holds them. */
  values: Record<string, string | undefined>;
  /** Whether a key (`project:key` or `provider:key`) was set with `pulumi config set --secret`. */
  isSecret(fullKey: string): boolean;
  env: Record<string, string | undefined>;
  /** The stack's name, checked by the same rule as the bridge's `BRIDGE_STACK` when given. */
  stack?: string;
}

export type StackSettings = ParsedConfig & { secrets: SecretValues };

const prefixed = (prefix: string) => (value: string) =>
  value.startsWith(prefix) ? undefined : `must start with "${prefix}"`;

const SECRET_SPECS: SecretSpec[] = [
  {
    key: "resendApiKey",
    env: "RESEND_API_KEY",
    placeholder: "re_...",
    problem: prefixed("re_"),
    required: true,
  },
  {
    key: "clerkSecretKey",
    env: "CLERK_SECRET_KEY",
    placeholder: "sk_...",
    problem: prefixed("sk_"),
    required: true,
  },
  // The Clerk signing secret exists only once the endpoint is registered by hand (manual mode), so it may be
  // absent on the first `pulumi up`; the Clerk cutover then waits for it (see infra/index.ts). It is checked
  // as strictly as the bridge checks it, so a typo fails here and not at the first webhook. During a rotation
  // it holds the old and the new secret, space-separated, as the bridge's parameter does (docs/pulumi.md).
  // CI hands it in as CLERK_WEBHOOK_SIGNING_SECRET from the stack's GitHub environment.
  {
    key: "clerkWebhookSigningSecret",
    env: "CLERK_WEBHOOK_SIGNING_SECRET",
    placeholder: "<the endpoint's Signing Secret from the Clerk Dashboard, whsec_...>",
    problem: (value) => {
      const parsed = parseWebhookSecrets(value);
      if (parsed.state === "ready") return undefined;
      if (parsed.state === "unset") return "holds the bridge's unset marker, not a signing secret";
      return parsed.problems.join("; ");
    },
    required: false,
  },
];

function readSecrets(source: ConfigSource, problems: ConfigProblem[]) {
  const found: Record<string, string> = {};
  for (const spec of SECRET_SPECS) {
    const setSecret = `pulumi config set --secret ${spec.key} ${spec.placeholder}`;
    const configured = source.values[spec.key];
    if (configured !== undefined && !source.isSecret(`${PROJECT}:${spec.key}`)) {
      problems.push({
        key: spec.key,
        message: "is stored in plain text in the stack file",
        fix: `pulumi config rm ${spec.key} && ${setSecret}`,
      });
      continue;
    }
    const value = configured ?? (spec.env ? source.env[spec.env] : undefined);
    if (value === undefined || value === "") {
      if (spec.required) {
        const envHint = spec.env ? ` (or export ${spec.env})` : "";
        problems.push({ key: spec.key, message: "is required", fix: `${setSecret}${envHint}` });
      }
      continue;
    }
    const problem = spec.problem(value);
    if (problem) {
      problems.push({ key: spec.key, message: problem, fix: setSecret });
      continue;
    }
    found[spec.key] = value;
  }
  return found as unknown as SecretValues;
}

/**
 * Checks between keys. They run on the raw values (not after the schema, which skips refinements once any
 * key is bad) so one run reports them alongside the per-key problems; a check is skipped when one of its
 * keys is already reported.
 */
function crossFieldProblems(values: Record<string, string | undefined>, bad: Set<string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const usable = (...keys: string[]) => keys.every((key) => !bad.has(key));
  const { sendingDomain, dnsZone, fromAddress } = values;
  const problem = (key: string, message: string) => problems.push({ key, message, fix: FIXES[key] ?? "" });
  if (sendingDomain && dnsZone && usable("sendingDomain", "dnsZone")) {
    if (sendingDomain !== dnsZone && !sendingDomain.endsWith(`.${dnsZone}`)) {
      problem("sendingDomain", `must be inside the DNS zone "${dnsZone}"`);
    }
  }
  if (sendingDomain && fromAddress && usable("sendingDomain", "fromAddress")) {
    if (!fromAddress.toLowerCase().endsWith(`@${sendingDomain}`)) {
      problem("fromAddress", `must be an address at the sending domain "${sendingDomain}"`);
    }
  }
  const profile = RECORD_PROFILES.find((p) => p === values.resendRecordProfile);
  const returnPath = values.returnPath ?? "send";
  if (profile && usesReturnPathCnames(profile) && returnPath.length > 62 && usable("returnPath")) {
    problems.push({
      key: "returnPath",
      message: `must be at most 62 characters with resendRecordProfile "${profile}": Resend also asks for a CNAME at r${returnPath}, and a DNS label holds 63`,
      fix: "pulumi config set returnPath send",
    });
  }
  const policy = values.dmarcPolicy ?? "none";
  if (policy !== "none" && !values.dmarcRua && usable("dmarcPolicy")) {
    problem(
      "dmarcRua",
      `is required once dmarcPolicy is "${policy}": tightening DMARC without aggregate reports hides what it rejects`,
    );
  }
  return problems;
}

function stackNameProblems(stack: string | undefined): ConfigProblem[] {
  if (stack === undefined) return [];
  const parsed = parseStackName(stack);
  if (parsed.ok) return [];
  return [
    {
      key: STACK_NAME_KEY,
      message: `"${stack}" ${parsed.problem}`,
      fix: "pulumi stack rename <name> (letters, digits, '-', '_' or '.')",
    },
  ];
}

/** Validates a stack config; throws a StackConfigError naming every bad key. */
export function parseStackConfig(source: ConfigSource): StackSettings {
  const problems: ConfigProblem[] = stackNameProblems(source.stack);
  const known = new Set([...CONFIG_KEYS, ...SECRET_SPECS.map((s) => s.key), "cloudflare:apiToken"]);
  const unknownKeys = Object.keys(source.values).filter((key) => !known.has(key));
  for (const key of unknownKeys) {
    problems.push({ key, message: "is not a setting of this project", fix: `pulumi config rm ${key}` });
  }
  const parsed = schema.safeParse(source.values);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? "config");
      problems.push({ key, message: issue.message, fix: FIXES[key] ?? "see docs/pulumi.md" });
    }
  }
  problems.push(...crossFieldProblems(source.values, new Set(problems.map((p) => p.key))));
  const secrets = readSecrets(source, problems);
  // Read from the raw value so a plain-text token is reported alongside any other bad key, not after it.
  if (source.values.dnsProvider === "cloudflare") {
    const token = "cloudflare:apiToken";
    const configuredToken = source.values[token];
    if (configuredToken !== undefined && !source.isSecret(token)) {
      problems.push({
        key: token,
        message: "is stored in plain text in the stack file",
        fix: "pulumi config rm cloudflare:apiToken && pulumi config set --secret cloudflare:apiToken <token>",
      });
    }
  }
  if (problems.length > 0 || !parsed.success) throw new StackConfigError(problems);
  return { ...parsed.data, secrets };
}

/**
 * The values {@link parseStackConfig} reads from a full stack config (`project:key` → value, as the CLI hands
 * it to the program): the project's keys without their prefix, plus the provider keys it checks.
 */
export function stackConfigValues(
  fullConfig: Record<string, string>,
  project = PROJECT,
): Record<string, string> {
  const values: Record<string, string> = {};
  const prefix = `${project}:`;
  for (const [fullKey, value] of Object.entries(fullConfig)) {
    if (fullKey.startsWith(prefix)) values[fullKey.slice(prefix.length)] = value;
    else if (fullKey === "cloudflare:apiToken") values[fullKey] = value;
  }
  return values;
}
