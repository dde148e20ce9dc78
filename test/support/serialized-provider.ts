import Module from "node:module";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";

/** A dynamic resource as the mock engine saw it: its serialized provider and its other inputs. */
export interface CapturedDynamicResource {
  type: string;
  name: string;
  /** Inputs without `__provider`, as the engine would pass them to `check`. */
  inputs: Record<string, unknown>;
  /** The serialized provider module text (`exports.handler = …`). */
  providerText: string;
}

type NodeModuleInternals = typeof Module & {
  _nodeModulePaths(from: string): string[];
};

const PROJECT_ROOT = join(__dirname, "..", "..");

/**
 * Loads serialized provider text the way Pulumi's dynamic-provider host does (require-from-string):
 * a fresh CommonJS module whose `exports.handler()` returns the provider. Nothing from the test's
 * own module graph leaks in, so a provider that only works because of captured test state fails here.
 */
export function loadSerializedProvider(text: string): pulumi.dynamic.ResourceProvider {
  const filename = join(PROJECT_ROOT, `__provider_${Math.random().toString(36).slice(2)}.js`);
  const mod = new Module(filename) as Module & { _compile(code: string, file: string): void };
  mod.filename = filename;
  mod.paths = (Module as NodeModuleInternals)._nodeModulePaths(PROJECT_ROOT);
  mod._compile(text, filename);
  const handler = (mod.exports as { handler?: () => pulumi.dynamic.ResourceProvider }).handler;
  if (typeof handler !== "function") throw new Error("serialized provider has no exports.handler");
  return handler();
}

// Secret inputs reach the mock monitor wrapped in Pulumi's secret envelope.
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SECRET_SIG] !== undefined && "value" in obj) return unwrapSecrets(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
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
