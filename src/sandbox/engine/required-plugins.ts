import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";

export interface PluginRequirement {
  name: string;
  /** `v`-prefixed, as the engine expects plugin versions. */
  version: string;
}

interface PackageJson {
  name?: string;
  version?: string;
  pulumi?: { resource?: boolean; name?: string; version?: string };
}

/** The closest `node_modules` at or above `directory`, as Node resolves packages. */
async function nearestNodeModules(directory: string): Promise<string | undefined> {
  for (let dir = directory; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules");
    if (
      await readdir(candidate).then(
        () => true,
        () => false,
      )
    )
      return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The resource plugins a program's installed packages declare (`"pulumi": {"resource": true}` in their
 * package.json, e.g. @pulumi/aws → aws), which the engine asks for before it runs the program.
 */
export async function findPulumiPlugins(programDirectory: string): Promise<PluginRequirement[]> {
  const nodeModules = await nearestNodeModules(programDirectory);
  if (!nodeModules) return [];
  const packageDirs: string[] = [];
  for (const entry of await readdir(nodeModules)) {
    if (entry.startsWith(".")) continue;
    if (!entry.startsWith("@")) {
      packageDirs.push(join(nodeModules, entry));
      continue;
    }
    const scoped = await readdir(join(nodeModules, entry)).catch(() => [] as string[]);
    packageDirs.push(...scoped.map((name) => join(nodeModules, entry, name)));
  }
  const plugins: PluginRequirement[] = [];
  for (const dir of packageDirs) {
    const text = await readFile(join(dir, "package.json"), "utf8").catch(() => undefined);
    if (!text) continue;
    const pkg = JSON.parse(text) as PackageJson;
    if (!pkg.pulumi?.resource || !pkg.name) continue;
    const name = pkg.pulumi.name ?? pkg.name.replace(/^@pulumi\//, "").replace(/^@/, "");
    const version = pkg.pulumi.version ?? pkg.version ?? "";
    plugins.push({ name, version: version.startsWith("v") ? version : `v${version}` });
  }
  return plugins;
}
