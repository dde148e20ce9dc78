import { parseWebhookSecrets, type WebhookSecretsResult } from "../settings/webhook-secret";
import type { AwsJsonClient } from "./aws/client";
import { BridgeConfigError, type SecretParameterNames } from "./config";
import type { WebhookSource } from "./events";
import type { Telemetry } from "./telemetry";

/** A webhook-secret parameter as parsed at load time, with its name for configuration errors. */
export type WebhookSecretState = WebhookSecretsResult & { parameter: string };

/**
 * Secret values as the handlers use them. Webhook secrets are parsed when read (never kept as strings): a
 * parameter holds the unset marker, or one or more `whsec_` secrets (two verify during a rotation).
 */
export interface BridgeSecrets {
  resendApiKey: string;
  clerkSecretKey: string;
  webhooks: Record<WebhookSource, WebhookSecretState>;
}

/** Raw parameter values by role key; what a static source or a test passes in. */
export type SecretValues = Partial<Record<keyof SecretParameterNames, string>>;

/** One read of the secrets. `version` grows only when a read finds different values. */
export interface SecretSnapshot {
  readonly secrets: BridgeSecrets;
  readonly version: number;
}

/**
 * Where the handlers get their secrets. A value changed in the store reaches a warm function two ways: the
 * cache expires after a short max age, and a caller whose credential was refused asks for a reload.
 */
export interface SecretSource {
  /** The cached secrets; read again once older than the max age (a failed re-read keeps the old ones). */
  current(): Promise<SecretSnapshot>;
  /**
   * Called after a credential from snapshot `version` was refused: resolves to a newer snapshot, or
   * `undefined` when there is none. Reads the store again only if no read started within the minimum
   * reload interval, and shares a read already under way, so a flood of forged requests cannot hammer it.
   */
  reloadAfter(version: number): Promise<SecretSnapshot | undefined>;
}

export class SecretsError extends Error {
  override name = "SecretsError";
}

/** How long secrets are trusted, and how often a refusal may re-read them. */
export interface SecretCachePolicy {
  maxAgeMs: number;
  minReloadIntervalMs: number;
}

export const DEFAULT_SECRET_CACHE: SecretCachePolicy = { maxAgeMs: 60_000, minReloadIntervalMs: 5_000 };
const MAX_AGE_VARIABLE = "BRIDGE_SECRETS_MAX_AGE_SECONDS";

/** `BRIDGE_SECRETS_MAX_AGE_SECONDS` (default 60): how long a warm function uses secrets before re-reading. */
export function readSecretCachePolicy(env: Record<string, string | undefined>): SecretCachePolicy {
  const raw = env[MAX_AGE_VARIABLE]?.trim();
  if (!raw) return DEFAULT_SECRET_CACHE;
  if (!/^[1-9][0-9]{0,5}$/.test(raw)) {
    throw new BridgeConfigError([
      `${MAX_AGE_VARIABLE} "${raw}" is not a whole number of seconds from 1 to 999999: use e.g. 60`,
    ]);
  }
  return { ...DEFAULT_SECRET_CACHE, maxAgeMs: Number(raw) * 1000 };
}

/** Parses raw values the one way every source does; `names` only labels configuration errors. */
export function parseSecretValues(
  values: SecretValues,
  names: Partial<SecretParameterNames> = {},
): BridgeSecrets {
  const webhook = (key: "clerkWebhookSecret" | "resendWebhookSecret"): WebhookSecretState => {
    const value = values[key];
    const parameter = names[key] ?? key;
    return value === undefined ? { state: "unset", parameter } : { ...parseWebhookSecrets(value), parameter };
  };
  return {
    resendApiKey: values.resendApiKey?.trim() ?? "",
    clerkSecretKey: values.clerkSecretKey?.trim() ?? "",
    webhooks: { clerk: webhook("clerkWebhookSecret"), resend: webhook("resendWebhookSecret") },
  };
}

export interface CachedSecretOptions {
  policy?: SecretCachePolicy;
  /** The parameters read, to name them in configuration errors. */
  names?: Partial<SecretParameterNames>;
  now?: () => number;
  /** A re-read of secrets already held failed; they stay in use. Given the error, never a value. */
  onStaleReadError?: (error: unknown) => void;
}

/** Logs a failed re-read of secrets already held (they stay in use): the error's name and message only. */
export function staleSecretsLogger(telemetry: Telemetry): (error: unknown) => void {
  return (error) =>
    telemetry.logger.warn("secrets could not be re-read; keeping the ones read before", {
      error: (error as Error).name,
      detail: (error as Error).message,
    });
}

/** For tests of the Lambda entry points: the clock their secrets cache ages by. */
export interface LambdaHandlerOptions {
  now?: () => number;
}

/**
 * Caches what `read` returns under {@link SecretCachePolicy}. The first read's failure is not cached (the
 * next call tries again); a later re-read's failure keeps the secrets already held, since they verified
 * until now and failing every webhook because SSM hiccuped would only trade one outage for another.
 */
export function cachedSecretSource(
  read: () => Promise<SecretValues>,
  options: CachedSecretOptions = {},
): SecretSource {
  const policy = options.policy ?? DEFAULT_SECRET_CACHE;
  const now = options.now ?? Date.now;
  let snapshot: SecretSnapshot | undefined;
  let fingerprint = "";
  let readAt = Number.NEGATIVE_INFINITY;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let reading: Promise<SecretSnapshot> | undefined;

  const reload = (): Promise<SecretSnapshot> => {
    reading ??= (async () => {
      attemptedAt = now();
      try {
        const values = await read();
        readAt = attemptedAt;
        // Compared in memory only: an unchanged read keeps the snapshot, so nothing is rebuilt or retried.
        const next = JSON.stringify(values);
        if (!snapshot || next !== fingerprint) {
          snapshot = {
            secrets: parseSecretValues(values, options.names),
            version: (snapshot?.version ?? 0) + 1,
          };
          fingerprint = next;
        }
        return snapshot;
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  };
  const keepOnFailure = (held: SecretSnapshot) => (err: unknown) => {
    options.onStaleReadError?.(err);
    return held;
  };
  const mayReadAgain = () => reading !== undefined || now() - attemptedAt >= policy.minReloadIntervalMs;

  return {
    async current() {
      const held = snapshot;
      if (!held) return reload();
      if (now() - readAt < policy.maxAgeMs || !mayReadAgain()) return held;
      return reload().catch(keepOnFailure(held));
    },
    async reloadAfter(version) {
      const held = snapshot;
      if (held && held.version > version) return held;
      if (!held || !mayReadAgain()) return undefined;
      const fresh = await reload().catch(keepOnFailure(held));
      return fresh.version > version ? fresh : undefined;
    },
  };
}

/**
 * Reads the parameters the role needs in one SSM `GetParameters` call (with decryption), through
 * {@link cachedSecretSource}. Errors name the parameter, never its value.
 */
export function ssmSecretSource(
  ssm: AwsJsonClient,
  names: SecretParameterNames,
  options: CachedSecretOptions = {},
): SecretSource {
  return cachedSecretSource(() => readParameters(ssm, names), { ...options, names });
}

async function readParameters(ssm: AwsJsonClient, names: SecretParameterNames): Promise<SecretValues> {
  const wanted = [...new Set(Object.values(names).filter((n) => n.length > 0))];
  const values = new Map<string, string>();
  if (wanted.length > 0) {
    const out = await ssm.call<{
      Parameters?: Array<{ Name?: string; Value?: string }>;
      InvalidParameters?: string[];
    }>("GetParameters", { Names: wanted, WithDecryption: true });
    if (out.InvalidParameters && out.InvalidParameters.length > 0) {
      throw new SecretsError(
        `SSM parameter(s) not found or not readable: ${out.InvalidParameters.join(", ")}; ` +
          "create them as SecureString and grant ssm:GetParameters and kms:Decrypt to the function role",
      );
    }
    for (const p of out.Parameters ?? []) if (p.Name && p.Value !== undefined) values.set(p.Name, p.Value);
  }
  const result: SecretValues = {};
  for (const [key, name] of Object.entries(names) as Array<[keyof SecretParameterNames, string]>) {
    if (name) result[key] = values.get(name) ?? "";
  }
  return result;
}

/** For the local server and tests: fixed values, parsed like the parameters, no store behind them. */
export function staticSecretSource(values: SecretValues): SecretSource {
  const snapshot: SecretSnapshot = { secrets: parseSecretValues(values), version: 1 };
  return { current: async () => snapshot, reloadAfter: async () => undefined };
}

/**
 * Calls `call` with the key `pick` selects. When `refused` says the outcome means "this key is not valid"
 * (a 401/403), the secrets are reloaded once and, if the key changed, the call is made again with the new
 * one: a key rotated in the store reaches a warm function at its first refusal, not at the next cold start.
 */
export async function withCurrentKey<T>(
  source: SecretSource,
  pick: (secrets: BridgeSecrets) => string,
  call: (key: string) => Promise<T>,
  refused: (outcome: PromiseSettledResult<T>) => boolean,
): Promise<T> {
  const used = await source.current();
  const key = pick(used.secrets);
  const first = await call(key).then(
    (value): PromiseSettledResult<T> => ({ status: "fulfilled", value }),
    (reason: unknown): PromiseSettledResult<T> => ({ status: "rejected", reason }),
  );
  if (refused(first)) {
    const fresh = await source.reloadAfter(used.version);
    if (fresh && pick(fresh.secrets) !== key) return call(pick(fresh.secrets));
  }
  if (first.status === "rejected") throw first.reason;
  return first.value;
}
