import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, type StackSettings, stackConfigValues } from "../src/settings/stack-config";

/**
 * The Pulumi-runtime side of the stack configuration: reading it from the running stack. The schema and its
 * checks live in `src/settings/stack-config.ts`, pure, so the doctor and the bridge share them without
 * loading `@pulumi/pulumi`; they are re-exported here for the program.
 */

export {
  type ClerkWebhookMode,
  type ConfigProblem,
  type ConfigSource,
  type DmarcPolicy,
  type DnsProviderName,
  PROJECT,
  parseStackConfig,
  type SecretValues,
  StackConfigError,
  type StackSettings,
  stackConfigValues,
} from "../src/settings/stack-config";

/** `isConfigSecret` is exported by the runtime at run time but left out of its type declarations. */
const runtimeInternals = pulumi.runtime as unknown as { isConfigSecret?: (fullKey: string) => boolean };

/** Reads the running stack's config and name from the Pulumi runtime and validates them. */
export function loadStackConfig(): StackSettings {
  return parseStackConfig({
    values: stackConfigValues(pulumi.runtime.allConfig(), pulumi.getProject()),
    isSecret: (fullKey) => runtimeInternals.isConfigSecret?.(fullKey) ?? false,
    env: process.env,
    stack: pulumi.getStack(),
  });
}
