import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BridgeBundle, bundleBridge } from "../../src/bridge/bundle";

const ROOT = join(__dirname, "..", "..", "dist", `bridge-cold-init-test-${process.pid}`);

const ENV = {
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test",
  BRIDGE_TABLE_NAME: "bridge",
  BRIDGE_QUEUE_URL: "http://127.0.0.1:9/000000000000/bridge",
  BRIDGE_PARAM_CLERK_WEBHOOK_SECRET: "/b/c",
  BRIDGE_PARAM_RESEND_WEBHOOK_SECRET: "/b/r",
  BRIDGE_STACK: "test",
};

/**
 * In a fresh process, imports a handler's bundle (building its clients, as the cold-init benchmark does)
 * and lists the Node built-in modules that loading caused.
 */
function modulesLoadedBy(script: string): Promise<string[]> {
  const code = `const before = new Set(process.moduleLoadList); ${script}
    console.log(JSON.stringify(process.moduleLoadList.filter((m) => !before.has(m))));`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", code],
      { env: { PATH: process.env.PATH ?? "", ...ENV }, timeout: 20_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? "[]") as string[]);
      },
    );
  });
}

// Node's fetch (undici, about 20 ms) and node:crypto (3.5 to 5 ms) each take about the whole 15% cold-init
// allowance over an empty handler or more; the first request loads them, when a call or a signature needs them.
const DEFERRED = [/internal\/deps\/undici/, /NativeModule crypto$/, /internal\/crypto\//];

describe("bridge cold init", () => {
  let bundle: BridgeBundle;

  beforeAll(async () => {
    bundle = await bundleBridge(ROOT);
  });
  afterAll(async () => {
    await rm(ROOT, { recursive: true, force: true });
  });

  it("ingest: importing the bundle and building its DynamoDB, SQS and SSM clients loads neither fetch nor node:crypto", async () => {
    const loaded = await modulesLoadedBy(
      `const m = await import(${JSON.stringify(bundle.files.ingest)}); if (typeof m.handler !== "function") process.exit(3);`,
    );
    for (const pattern of DEFERRED) expect(loaded.filter((m) => pattern.test(m))).toEqual([]);
  });

  it("worker: importing the bundle and building its Resend, Clerk and DynamoDB clients loads neither fetch nor node:crypto", async () => {
    const loaded = await modulesLoadedBy(
      `const w = await import(${JSON.stringify(bundle.files.worker)});
       const handler = w.createWorkerFromSecrets({ tableName: "bridge", fromAddress: "a@b.c", fromName: "A", stack: "test", extraHeaders: {}, codeLifetimeSeconds: 600, resendPacing: { teamLimitPerSecond: 2, sharePercent: 50 } }, { resendApiKey: "re_x", clerkSecretKey: "sk_x" });
       if (typeof handler !== "function") process.exit(3);`,
    );
    for (const pattern of DEFERRED) expect(loaded.filter((m) => pattern.test(m))).toEqual([]);
  });

  it("the probe sees what it looks for: touching Headers and node:crypto shows up", async () => {
    const loaded = await modulesLoadedBy(
      `new Headers(); process.getBuiltinModule("node:crypto").createHash("sha256");`,
    );
    for (const pattern of DEFERRED) expect(loaded.some((m) => pattern.test(m))).toBe(true);
  });
});
