import { describe, expect, it } from "vitest";
import { type BridgeConfig, type BridgeRole, readBridgeConfig } from "../../src/bridge/config";
import { mailbox } from "../../src/sandbox/resend/email-request";
import { formatFromHeader } from "../../src/settings/from-header";
import { parseStackConfig, StackConfigError, type StackSettings } from "../../src/settings/stack-config";
import { classicResendRecords, runProgram } from "../support/pulumi-program";

/**
 * The program and the bridge must agree on every setting the bridge reads again at cold start: a value the
 * program deploys and the bridge then refuses loses every code (Clerk is already cut over). Each row goes
 * through the program's parser and, as the function environment the program would deploy, through the
 * bridge's `readBridgeConfig`; the verdicts must match the row's and each other.
 */

const DOMAIN = "mail.example.com";
const ADDRESS = `auth@${DOMAIN}`;
const STACK_VALUES = {
  sendingDomain: DOMAIN,
  dnsZone: "example.com",
  dnsProvider: "route53",
  fromName: "Example",
  fromAddress: ADDRESS,
};
const CREDENTIALS = { RESEND_API_KEY: "re_test", CLERK_SECRET_KEY: "sk_test" };

type Setting =
  | "stack"
  | "fromName"
  | "fromAddress"
  | "replyTo"
  | "extraHeaders"
  | "codeLifetimeSeconds"
  | "codeLifetimes";

/** Where each setting reaches the functions (infra/components/bounce-bridge.ts) and which roles read it. */
const DEPLOYED_AS: Record<Setting, { variable: string; roles: BridgeRole[] }> = {
  stack: { variable: "BRIDGE_STACK", roles: ["ingest", "worker"] },
  fromName: { variable: "BRIDGE_FROM_NAME", roles: ["worker"] },
  fromAddress: { variable: "BRIDGE_FROM_ADDRESS", roles: ["worker"] },
  replyTo: { variable: "BRIDGE_REPLY_TO", roles: ["worker"] },
  extraHeaders: { variable: "BRIDGE_EXTRA_HEADERS", roles: ["worker"] },
  codeLifetimeSeconds: { variable: "BRIDGE_CODE_LIFETIME_SECONDS", roles: ["ingest", "worker"] },
  codeLifetimes: { variable: "BRIDGE_CODE_LIFETIMES", roles: ["ingest", "worker"] },
};
const SETTING_VARIABLES = Object.values(DEPLOYED_AS).map((d) => d.variable);

interface Row {
  setting: Setting;
  value: string;
  accepted: boolean;
  /** For accepted display names: the From the worker sends. */
  from?: string;
}

const valid = (setting: Setting, value: string, from?: string): Row => ({
  setting,
  value,
  accepted: true,
  ...(from ? { from } : {}),
});
const invalid = (setting: Setting, value: string): Row => ({ setting, value, accepted: false });

const ROWS: Row[] = [
  valid("stack", "dev"),
  valid("stack", "prod.eu"),
  valid("stack", "prod_eu"),
  valid("stack", "team-a.staging_2"),
  valid("stack", "s".repeat(100)),
  invalid("stack", "s".repeat(101)),
  invalid("stack", "prod eu"),
  invalid("stack", "org/prod"),
  invalid("stack", "prod:eu"),
  invalid("stack", "prød"),
  invalid("stack", ""),

  valid("fromName", "Example", `Example <${ADDRESS}>`),
  valid("fromName", "O'Brien & Sons", `O'Brien & Sons <${ADDRESS}>`),
  valid("fromName", "Example, Inc.", `"Example, Inc." <${ADDRESS}>`),
  valid("fromName", "Support (EU)", `"Support (EU)" <${ADDRESS}>`),
  valid("fromName", 'Example "Auth"', `=?UTF-8?B?RXhhbXBsZSAiQXV0aCI=?= <${ADDRESS}>`),
  valid("fromName", "Back\\slash", `=?UTF-8?B?QmFja1xzbGFzaA==?= <${ADDRESS}>`),
  valid("fromName", "Zoë's Café", `=?UTF-8?B?Wm/DqydzIENhZsOp?= <${ADDRESS}>`),
  valid("fromName", "認証チーム", `=?UTF-8?B?6KqN6Ki844OB44O844Og?= <${ADDRESS}>`),
  valid("fromName", "=?UTF-8?B?SGk=?=", `=?UTF-8?B?PT9VVEYtOD9CP1NHaz0/PQ==?= <${ADDRESS}>`),
  valid("fromName", "  Padded  ", `Padded <${ADDRESS}>`),
  valid(
    "fromName",
    "é".repeat(64),
    `${"=?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6k=?= ".repeat(2)}` +
      `=?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqQ==?= <${ADDRESS}>`,
  ),
  invalid("fromName", "é".repeat(65)),
  invalid("fromName", ""),
  invalid("fromName", "   "),
  invalid("fromName", "Example\r\nBcc: victim@example.org"),
  invalid("fromName", "Example\nAuth"),
  invalid("fromName", "Tab\there"),
  invalid("fromName", "Next\u0085Line"),
  invalid("fromName", "Line\u2028Separator"),
  invalid("fromName", "Acme <evil@example.org>"),

  valid("fromAddress", ADDRESS),
  valid("fromAddress", `auth+codes@${DOMAIN}`),
  valid("fromAddress", `o'brien.auth@${DOMAIN}`),
  valid("fromAddress", `AUTH@${DOMAIN.toUpperCase()}`),
  invalid("fromAddress", `auth mail@${DOMAIN}`),
  invalid("fromAddress", `auth,ops@${DOMAIN}`),
  invalid("fromAddress", `"auth"@${DOMAIN}`),
  invalid("fromAddress", `jürgen@${DOMAIN}`),
  invalid("fromAddress", `Auth <${ADDRESS}>`),
  invalid("fromAddress", ` ${ADDRESS}`),
  invalid("fromAddress", `${ADDRESS}\r\nBcc: victim@example.org`),
  invalid("fromAddress", `auth@@${DOMAIN}`),
  invalid("fromAddress", "auth@mail_example.com"),

  valid("replyTo", "support@example.com"),
  valid("replyTo", "support@xn--bcher-kva.example"),
  valid("replyTo", ""),
  invalid("replyTo", "support"),
  invalid("replyTo", "support@example"),
  invalid("replyTo", "support@example.com, evil@example.org"),
  invalid("replyTo", "Support <support@example.com>"),

  valid("extraHeaders", '{"X-Team":"auth"}'),
  valid("extraHeaders", '{"List-Unsubscribe":"<mailto:unsubscribe@example.com>"}'),
  valid("extraHeaders", '{"X-Tabbed":"a\\tb","X-Accent":"Café"}'),
  valid("extraHeaders", "{}"),
  invalid("extraHeaders", '{"X Team":"auth"}'),
  invalid("extraHeaders", '{"X-A":"a\\r\\nBcc: victim@example.org"}'),
  invalid("extraHeaders", '{"X-Count":1}'),
  invalid("extraHeaders", '["X-Team"]'),
  invalid("extraHeaders", "X-Team: auth"),
  invalid("extraHeaders", ""),

  valid("codeLifetimeSeconds", "60"),
  valid("codeLifetimeSeconds", "600"),
  valid("codeLifetimeSeconds", "86400"),
  invalid("codeLifetimeSeconds", "59"),
  invalid("codeLifetimeSeconds", "86401"),
  invalid("codeLifetimeSeconds", "600.5"),
  invalid("codeLifetimeSeconds", "ten"),
  invalid("codeLifetimeSeconds", ""),

  valid("codeLifetimes", '{"invitation":604800}'),
  valid("codeLifetimes", '{"verification_code":"300","magic_link_sign_in":60}'),
  valid("codeLifetimes", '{"organization_invitation":31536000}'),
  valid("codeLifetimes", "{}"),
  invalid("codeLifetimes", '{"invitation":59}'),
  invalid("codeLifetimes", '{"invitation":31536001}'),
  invalid("codeLifetimes", '{"invitation":600.5}'),
  invalid("codeLifetimes", '{"invitation":"ten"}'),
  invalid("codeLifetimes", '{"Invitation":600}'),
  invalid("codeLifetimes", '{"email.created":600}'),
  invalid("codeLifetimes", "[600]"),
  invalid("codeLifetimes", "600"),
  invalid("codeLifetimes", ""),
];

type Env = Record<string, string | undefined>;

/**
 * The environment infra/components/bounce-bridge.ts gives both functions for these settings (the infra
 * names are placeholders). "the program deploys this" is checked against a real program run below.
 */
function functionEnvironment(stack: string, settings: StackSettings): Env {
  return {
    BRIDGE_TABLE_NAME: "bounce-bridge-table",
    BRIDGE_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/bounce-bridge-queue",
    BRIDGE_PARAM_RESEND_API_KEY: `/auth-email-pipeline/${stack}/resend-api-key`,
    BRIDGE_PARAM_CLERK_SECRET_KEY: `/auth-email-pipeline/${stack}/clerk-secret-key`,
    BRIDGE_PARAM_CLERK_WEBHOOK_SECRET: `/auth-email-pipeline/${stack}/clerk-webhook-secret`,
    BRIDGE_PARAM_RESEND_WEBHOOK_SECRET: `/auth-email-pipeline/${stack}/resend-webhook-secret`,
    BRIDGE_FROM_ADDRESS: settings.fromAddress,
    BRIDGE_FROM_NAME: settings.fromName,
    BRIDGE_CODE_LIFETIME_SECONDS: String(settings.codeLifetimeSeconds),
    BRIDGE_STACK: stack,
    ...(settings.replyTo ? { BRIDGE_REPLY_TO: settings.replyTo } : {}),
    ...(settings.extraHeaders ? { BRIDGE_EXTRA_HEADERS: JSON.stringify(settings.extraHeaders) } : {}),
    ...(settings.codeLifetimes ? { BRIDGE_CODE_LIFETIMES: JSON.stringify(settings.codeLifetimes) } : {}),
  };
}

type Verdict<T> = { ok: true; value: T } | { ok: false; problems: string };

function programVerdict(row: Row): Verdict<StackSettings> & { stack: string } {
  const stack = row.setting === "stack" ? row.value : "dev";
  const values = row.setting === "stack" ? STACK_VALUES : { ...STACK_VALUES, [row.setting]: row.value };
  try {
    const value = parseStackConfig({ values, isSecret: () => false, env: CREDENTIALS, stack });
    return { ok: true, value, stack };
  } catch (err) {
    if (!(err instanceof StackConfigError)) throw err;
    return { ok: false, problems: err.message, stack };
  }
}

function bridgeVerdict(role: BridgeRole, env: Env): Verdict<BridgeConfig> {
  try {
    return { ok: true, value: readBridgeConfig(role, env) };
  } catch (err) {
    return { ok: false, problems: (err as Error).message };
  }
}

/** What the bridge would get: the deployed environment, or, for a value the program refused, that value. */
function bridgeEnvFor(row: Row, program: ReturnType<typeof programVerdict>): Env {
  if (program.ok) return functionEnvironment(program.stack, program.value);
  const healthy = programVerdict(valid("stack", "dev"));
  if (!healthy.ok) throw new Error(`the base stack is invalid: ${healthy.problems}`);
  return {
    ...functionEnvironment(program.stack, healthy.value),
    [DEPLOYED_AS[row.setting].variable]: row.value,
  };
}

const label = (row: Row) => `${row.setting} ${JSON.stringify(row.value)}`;

describe("the program and the bridge give every setting the same verdict", () => {
  it.each(ROWS.map((row) => [label(row), row] as const))("%s", (_, row) => {
    const program = programVerdict(row);
    const env = bridgeEnvFor(row, program);
    for (const role of DEPLOYED_AS[row.setting].roles) {
      const bridge = bridgeVerdict(role, env);
      expect({ program: program.ok, [role]: bridge.ok }).toEqual({
        program: row.accepted,
        [role]: row.accepted,
      });
      if (!program.ok && !bridge.ok) {
        const key = row.setting === "stack" ? "the stack name" : `auth-email-pipeline:${row.setting}`;
        expect(program.problems).toContain(key);
        expect(bridge.problems).toContain(DEPLOYED_AS[row.setting].variable);
      }
      if (program.ok && bridge.ok) {
        const settings = program.value;
        expect(bridge.value).toMatchObject({
          stack: program.stack,
          codeLifetimeSeconds: settings.codeLifetimeSeconds,
          codeLifetimes: settings.codeLifetimes ?? {},
          ...(role === "worker"
            ? {
                fromName: settings.fromName,
                fromAddress: settings.fromAddress,
                replyTo: settings.replyTo || undefined,
                extraHeaders: settings.extraHeaders ?? {},
              }
            : {}),
        });
      }
    }
  });
});

/** The display name an RFC 2047 / RFC 5322 reader shows for a `from` value. */
function displayNameOf(from: string): string {
  const phrase = from.slice(0, from.lastIndexOf(" <"));
  if (phrase.startsWith('"')) return phrase.slice(1, -1);
  const words = phrase.split(" ");
  if (!words.every((word) => /^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/.test(word))) return phrase;
  return Buffer.concat(words.map((word) => Buffer.from(word.slice(10, -2), "base64"))).toString("utf8");
}

describe("the From header of every accepted display name", () => {
  const named = ROWS.filter((row) => row.setting === "fromName" && row.accepted);
  it.each(named.map((row) => [label(row), row] as const))("%s", (_, row) => {
    const program = programVerdict(row);
    const worker = bridgeVerdict("worker", bridgeEnvFor(row, program));
    if (!worker.ok) throw new Error(worker.problems);
    const from = formatFromHeader(worker.value.fromName, worker.value.fromAddress);
    expect(from).toBe(row.from);
    // Resend's documented `Name <address>` form, as its stand-in parses it.
    expect(mailbox(from)).toBe(ADDRESS);
    expect(displayNameOf(from)).toBe(row.value.trim());
    for (const word of from.split(" ").filter((w) => w.startsWith("=?"))) {
      expect(word.length).toBeLessThanOrEqual(75);
    }
  });
});

describe("the environment a real program run deploys", () => {
  it("is the one the table gives the bridge, and the bridge accepts it for prod.eu and a quoted name", async () => {
    const config = {
      ...STACK_VALUES,
      fromName: 'Zoë "Auth", Inc.',
      replyTo: "support@example.com",
      extraHeaders: '{"X-Team":"auth"}',
      codeLifetimeSeconds: "900",
      codeLifetimes: '{"invitation":"604800"}',
      resendApiKey: "re_test_123",
      clerkSecretKey: "sk_test_123",
    };
    const run = await runProgram({
      stack: "prod.eu",
      config,
      secretKeys: ["resendApiKey", "clerkSecretKey"],
      domainRecords: classicResendRecords("mail"),
    });
    const settings = parseStackConfig({ values: config, isSecret: () => true, env: {}, stack: "prod.eu" });
    const expected = functionEnvironment("prod.eu", settings);
    for (const role of ["ingest", "worker"] as const) {
      const deployed = (run.named(`bounce-bridge-${role}`).inputs.environment as { variables: Env })
        .variables;
      const pick = (env: Env) => Object.fromEntries(SETTING_VARIABLES.map((name) => [name, env[name]]));
      expect(pick(deployed)).toEqual(pick(expected));
      expect(readBridgeConfig(role, deployed)).toMatchObject({
        stack: "prod.eu",
        codeLifetimeSeconds: 900,
        codeLifetimes: { invitation: 604_800 },
      });
    }
    const worker = readBridgeConfig(
      "worker",
      (run.named("bounce-bridge-worker").inputs.environment as { variables: Env }).variables,
    );
    expect(formatFromHeader(worker.fromName, worker.fromAddress)).toBe(
      `=?UTF-8?B?Wm/DqyAiQXV0aCIsIEluYy4=?= <${ADDRESS}>`,
    );
  });
});
