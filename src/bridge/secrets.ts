import type { AwsJsonClient } from "./aws/client";
import type { SecretParameterNames } from "./config";

/** Secret values as the handlers use them. Webhook secrets are lists: during a rotation both verify. */
export interface BridgeSecrets {
  resendApiKey: string;
  clerkSecretKey: string;
  clerkWebhookSecrets: string[];
  resendWebhookSecrets: string[];
}

export type SecretSource = () => Promise<BridgeSecrets>;

export class SecretsError extends Error {
  override name = "SecretsError";
}

/** A webhook-secret parameter may hold several whitespace-separated `whsec_` secrets during a rotation. */
function splitWebhookSecrets(value: string): string[] {
  return value.split(/\s+/).filter((s) => s.length > 0);
}

/**
 * Reads the parameters the role needs in one SSM `GetParameters` call (with decryption) and caches the
 * result for the life of the execution environment. A failed read is not cached, so the next
 * invocation retries instead of the function staying broken until it is recycled.
 * Errors name the parameter, never its value.
 */
export function ssmSecretSource(ssm: AwsJsonClient, names: SecretParameterNames): SecretSource {
  let cached: Promise<BridgeSecrets> | undefined;
  return () => {
    cached ??= load(ssm, names).catch((err: unknown) => {
      cached = undefined;
      throw err;
    });
    return cached;
  };
}

async function load(ssm: AwsJsonClient, names: SecretParameterNames): Promise<BridgeSecrets> {
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
  const value = (name: string) => (name ? (values.get(name) ?? "").trim() : "");
  return {
    resendApiKey: value(names.resendApiKey),
    clerkSecretKey: value(names.clerkSecretKey),
    clerkWebhookSecrets: splitWebhookSecrets(value(names.clerkWebhookSecret)),
    resendWebhookSecrets: splitWebhookSecrets(value(names.resendWebhookSecret)),
  };
}

/** For the local server and tests: secrets passed in directly, no SSM. */
export function staticSecretSource(secrets: BridgeSecrets): SecretSource {
  return () => Promise.resolve(secrets);
}
