import Module from "node:module";
import { join } from "node:path";
import type * as pulumi from "@pulumi/pulumi";

type NodeModuleInternals = typeof Module & {
  _nodeModulePaths(from: string): string[];
};

const PROJECT_ROOT = join(__dirname, "..", "..", "..");

/**
 * Loads serialized provider text the way Pulumi's dynamic-provider host does (require-from-string):
 * a fresh CommonJS module whose `exports.handler()` returns the provider. Nothing from the caller's
 * own module graph leaks in, so a provider that only works because of captured state fails here.
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

/** Whether a value is Pulumi's secret envelope (`{<sig>: …, value}`). */
export function isSecretEnvelope(value: unknown): boolean {
  return !!value && typeof value === "object" && (value as Record<string, unknown>)[SECRET_SIG] !== undefined;
}

/**
 * Replaces secret envelopes by their values, as the engine does for a provider that does not accept
 * secrets (dynamic providers answer `acceptSecrets = false`).
 */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (isSecretEnvelope(obj) && "value" in obj) return unwrapSecrets(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}
