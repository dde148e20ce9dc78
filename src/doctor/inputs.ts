import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import {
  describeConfigProblem,
  PROJECT,
  parseStackConfig,
  StackConfigError,
  type StackSettings,
} from "../settings/stack-config";
import { type CheckResult, resultsFor } from "./types";

const config = resultsFor("config");

/**
 * `Pulumi.<stack>.yaml` as the Pulumi CLI hands it to the program: project keys without the prefix,
 * structured values as JSON text. Encrypted values cannot be read without the stack's secrets provider;
 * they are left out and remembered as secrets, so the credentials come from the environment instead.
 */
function readStackValues(path: string): { values: Record<string, string>; secretKeys: Set<string> } {
  const parsed = parse(readFileSync(path, "utf8")) as { config?: Record<string, unknown> } | null;
  const values: Record<string, string> = {};
  const secretKeys = new Set<string>();
  for (const [fullKey, value] of Object.entries(parsed?.config ?? {})) {
    const key = fullKey.startsWith(`${PROJECT}:`) ? fullKey.slice(PROJECT.length + 1) : fullKey;
    if (key === fullKey && fullKey !== "cloudflare:apiToken") continue; // other providers' settings
    if (value && typeof value === "object" && "secure" in value) {
      secretKeys.add(fullKey);
      continue;
    }
    values[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { values, secretKeys };
}

export type LoadedStack =
  | { ok: true; settings: StackSettings; file: string }
  | { ok: false; problems: CheckResult[] };

/**
 * The stack's settings through the program's own parser (pure: the doctor never loads `@pulumi/pulumi`);
 * every problem becomes a `config` failure.
 */
export function loadStack(stack: string, dir: string, env: Record<string, string | undefined>): LoadedStack {
  const file = join(dir, `Pulumi.${stack}.yaml`);
  if (!existsSync(file)) {
    return {
      ok: false,
      problems: [
        config.fail(
          "config.stack-file",
          `${file} does not exist`,
          `pass --stack <name> of an existing Pulumi.<name>.yaml, or run from the project directory`,
        ),
      ],
    };
  }
  try {
    const { values, secretKeys } = readStackValues(file);
    const settings = parseStackConfig({ values, isSecret: (key) => secretKeys.has(key), env, stack });
    return { ok: true, settings, file };
  } catch (err) {
    if (!(err instanceof StackConfigError)) {
      return {
        ok: false,
        problems: [
          config.fail("config.stack-file", `${file}: ${(err as Error).message}`, "fix the YAML syntax"),
        ],
      };
    }
    return {
      ok: false,
      problems: err.problems.map((p) => config.fail(`config.${p.key}`, describeConfigProblem(p), p.fix)),
    };
  }
}
