import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";

export interface TestBundle {
  dir: string;
  /** Path of the built `<name>.mjs`. */
  file(name: string): string;
  remove(): Promise<void>;
}

/**
 * Builds small handler sources into ESM `.mjs` files the way the bridge bundle is built: one file per
 * entry, AWS SDK left external (the Lambda runtime provides it). The output lives in a temp dir with
 * no node_modules, so only the runtime-provided SDK resolves, as in Lambda.
 */
export async function buildTestBundle(sources: Record<string, string>): Promise<TestBundle> {
  const dir = await mkdtemp(join(tmpdir(), "lambda-test-"));
  const entryPoints: Record<string, string> = {};
  for (const [name, source] of Object.entries(sources)) {
    const path = join(dir, `${name}.src.mjs`);
    await writeFile(path, source);
    entryPoints[name] = path;
  }
  await build({
    entryPoints,
    outdir: dir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node24",
    external: ["@aws-sdk/*"],
    logLevel: "silent",
  });
  return {
    dir,
    file: (name) => join(dir, `${name}.mjs`),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
