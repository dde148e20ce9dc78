import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type BuildOptions, build, type Metafile, type Plugin } from "esbuild";

export interface BridgeBundle {
  dir: string;
  files: { ingest: string; worker: string };
  /** SHA-256 over both files: changes exactly when the deployed code would. */
  sha256: string;
  bytes: { ingest: number; worker: number };
  /** esbuild's metafile, to see which packages the bytes come from. */
  metafile: Metafile;
}

const ENTRY_POINTS = {
  ingest: join(__dirname, "lambda-ingest.ts"),
  worker: join(__dirname, "lambda-worker.ts"),
};

/**
 * The `resend` SDK imports an inbound-mail parser (`postal-mime`, ~70 KB) and a webhook verifier
 * (`standardwebhooks`, which carries a pure-JS SHA-256) at top level. The bridge uses neither: it only sends,
 * and ingest verifies signatures with node:crypto. They are replaced by stubs that fail loudly if ever called.
 */
const UNUSED_STUBS: Record<string, string> = {
  "postal-mime":
    "export default { parse() { throw new Error('postal-mime is not bundled into the bridge'); } };",
  standardwebhooks:
    "export class Webhook { constructor() { throw new Error('standardwebhooks is not bundled into the bridge'); } }",
};

const REQUIRE_BANNER = "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);";
const REQUIRE_SHIM_ERROR = "Dynamic require of";

const stubUnused: Plugin = {
  name: "stub-unused",
  setup(b) {
    b.onResolve({ filter: /^(postal-mime|standardwebhooks)$/ }, (args) => ({
      path: args.path,
      namespace: "stub",
    }));
    b.onLoad({ filter: /.*/, namespace: "stub" }, (args) => ({
      contents: UNUSED_STUBS[args.path],
      loader: "js",
    }));
  },
};

/**
 * Bundles the two Lambda handlers into `ingest.mjs` and `worker.mjs` (handlers `ingest.handler`,
 * `worker.handler`): ESM, minified, no source maps or path comments, so the same sources give
 * byte-identical files. The handlers call AWS through `src/bridge/aws/` (signed fetch), not the AWS SDK; it stays
 * external all the same, so an accidental SDK import resolves to the runtime's copy instead of adding megabytes.
 */
export async function bundleBridge(outDir: string): Promise<BridgeBundle> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const options = {
    entryPoints: ENTRY_POINTS,
    outdir: dir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    mainFields: ["module", "main"],
    external: ["@aws-sdk/*"],
    minify: true,
    treeShaking: true,
    legalComments: "none",
    sourcemap: false,
    metafile: true,
    logLevel: "silent",
    plugins: [stubUnused],
  } satisfies BuildOptions;
  const files = { ingest: join(dir, "ingest.mjs"), worker: join(dir, "worker.mjs") };
  const read = () => Promise.all([readFile(files.ingest), readFile(files.worker)]);
  let result = await build(options);
  let [ingest, worker] = await read();
  // esbuild's ESM output calls a shim that throws when a CommonJS dependency require()s something; such a
  // bundle needs a real require. It is only added then: importing node:module costs every cold start.
  if ([ingest, worker].some((code) => code.includes(REQUIRE_SHIM_ERROR))) {
    result = await build({ ...options, banner: { js: REQUIRE_BANNER } });
    [ingest, worker] = await read();
  }
  const sha256 = createHash("sha256").update(ingest).update("\0").update(worker).digest("hex");
  return {
    dir,
    files,
    sha256,
    bytes: { ingest: ingest.length, worker: worker.length },
    metafile: result.metafile,
  };
}
