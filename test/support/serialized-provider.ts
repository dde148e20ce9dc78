import * as pulumi from "@pulumi/pulumi";
import { loadSerializedProvider, unwrapSecrets } from "../../src/sandbox/local-cloud/serialized-provider";

// The loader lives with the local cloud, which runs the program's providers for real; tests share it.
export { loadSerializedProvider } from "../../src/sandbox/local-cloud/serialized-provider";

/** A dynamic resource as the mock engine saw it: its serialized provider and its other inputs. */
export interface CapturedDynamicResource {
  type: string;
  name: string;
  /** Inputs without `__provider`, as the engine would pass them to `check`. */
  inputs: Record<string, unknown>;
  /** The serialized provider module text (`exports.handler = …`). */
  providerText: string;
}

/**
 * Registers resources under `pulumi.runtime.setMocks` and returns every dynamic resource the engine
 * was asked to create, with its serialized provider. `declare` builds the resources; the function
 * waits for all of them to reach the mock engine.
 */
export async function captureDynamicResources(
  declare: () => pulumi.Resource[] | Promise<pulumi.Resource[]>,
): Promise<CapturedDynamicResource[]> {
  const captured: CapturedDynamicResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const { __provider, ...rest } = args.inputs as Record<string, unknown>;
        if (typeof __provider === "string") {
          captured.push({
            type: args.type,
            name: args.name,
            inputs: unwrapSecrets(rest) as Record<string, unknown>,
            providerText: __provider,
          });
        }
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: () => ({}),
    },
    "auth-email-pipeline",
    "test",
  );
  const resources = await declare();
  await Promise.all(resources.map((r) => new Promise((resolve) => r.urn.apply(resolve))));
  return captured;
}

/** Captures one dynamic resource and loads its provider from the serialized text. */
export async function serializedProviderOf(
  declare: () => pulumi.Resource,
): Promise<{ provider: pulumi.dynamic.ResourceProvider; captured: CapturedDynamicResource }> {
  const [captured] = await captureDynamicResources(() => [declare()]);
  if (!captured) throw new Error("the resource never reached the mock engine as a dynamic resource");
  return { provider: loadSerializedProvider(captured.providerText), captured };
}

/** Runs the provider's `check` and returns the inputs it settled on, failing the test on any failure. */
export async function checkedInputs(
  provider: pulumi.dynamic.ResourceProvider,
  news: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const result = await provider.check!({}, news);
  const failures = result.failures ?? [];
  if (failures.length > 0) throw new Error(`check failed: ${JSON.stringify(failures)}`);
  return result.inputs as Record<string, unknown>;
}
