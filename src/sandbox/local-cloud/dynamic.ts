import type * as pulumi from "@pulumi/pulumi";
import { loadSerializedProvider } from "./serialized-provider";

/** The stack config as the dynamic-provider host hands it to `configure()`. */
export type StackConfig = Record<string, string>;

/**
 * Creates a dynamic resource the way `pulumi up` does: the serialized `__provider` is loaded as a fresh
 * module (as the dynamic-provider host loads it), configured with the stack config, then `check` and
 * `create` run for real against whatever the provider talks to. The inputs come with secrets unwrapped, as
 * the engine passes them to dynamic providers (they do not accept secrets).
 */
export async function createDynamicResource(
  label: string,
  inputsWithProvider: Record<string, unknown>,
  project: string,
  config: StackConfig,
): Promise<{ id: string; state: Record<string, unknown> }> {
  const { __provider: providerText, ...news } = inputsWithProvider;
  if (typeof providerText !== "string") {
    throw new Error(`${label}: dynamic resource without a serialized __provider input`);
  }
  const provider = loadSerializedProvider(providerText);
  await provider.configure?.({ config: configReader(project, config) } as pulumi.dynamic.ConfigureRequest);
  let inputs = news;
  if (provider.check) {
    const checked = await provider.check({}, news);
    const failures = checked.failures ?? [];
    if (failures.length > 0) {
      const reasons = failures.map((f) => `${f.property}: ${f.reason}`).join("; ");
      throw new Error(`${label}: check failed: ${reasons}`);
    }
    inputs = (checked.inputs as Record<string, unknown> | undefined) ?? news;
  }
  const created = await provider.create(inputs);
  // The SDK keeps the provider next to the outputs so later operations can load it again.
  return { id: created.id, state: { __provider: providerText, ...(created.outs ?? {}) } };
}

/** `req.config` of the host: a key is looked up as given, then under the project's namespace. */
function configReader(project: string, config: StackConfig) {
  const get = (key: string): string | undefined => config[key] ?? config[`${project}:${key}`];
  return {
    get,
    require(key: string): string {
      const value = get(key);
      if (value === undefined) throw new Error(`Missing required configuration variable '${project}:${key}'`);
      return value;
    },
  };
}
