import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { LOCAL_PACKAGES, type LocalPackage } from "./local-provider";

const PROVIDER_SCRIPT = join(__dirname, "local-provider.ts");
const STARTUP_TIMEOUT_MS = 60_000;

/** The local `aws` and `cloudflare` providers, running, and how the engine attaches to them. */
export interface LocalProviders {
  ports: Record<LocalPackage, number>;
  /** `PULUMI_DEBUG_PROVIDERS`: the engine attaches to these instead of launching the plugins. */
  env: { PULUMI_DEBUG_PROVIDERS: string };
  /** What the providers wrote to stderr (their errors), for a failed deployment's report. */
  log: string[];
  close(): Promise<void>;
}

/** Starts one provider process and resolves the port it prints, as the engine reads a plugin's. */
function startProvider(
  pkg: LocalPackage,
  controlUrl: string,
  log: string[],
): Promise<{ child: ChildProcess; port: number }> {
  const tsx = pathToFileURL(require.resolve("tsx")).href;
  const child = spawn(process.execPath, ["--import", tsx, PROVIDER_SCRIPT, pkg, controlUrl], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  createInterface({ input: child.stderr! }).on("line", (line) => log.push(`[${pkg}] ${line}`));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the local ${pkg} provider did not start within ${STARTUP_TIMEOUT_MS / 1000} s`));
    }, STARTUP_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout! });
    lines.once("line", (line) => {
      clearTimeout(timer);
      const port = Number(line.trim());
      if (Number.isInteger(port) && port > 0) resolve({ child, port });
      else reject(new Error(`the local ${pkg} provider printed ${JSON.stringify(line)} instead of its port`));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the local ${pkg} provider exited with ${code}: ${log.slice(-5).join("\n")}`));
    });
  });
}

/** Starts the `aws` and `cloudflare` providers against the local cloud's control plane at `controlUrl`. */
export async function startLocalProviders(controlUrl: string): Promise<LocalProviders> {
  const log: string[] = [];
  const started = await Promise.allSettled(LOCAL_PACKAGES.map((pkg) => startProvider(pkg, controlUrl, log)));
  const children = started.flatMap((s) => (s.status === "fulfilled" ? [s.value.child] : []));
  const stopAll = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
          }),
      ),
    );
  };
  const failure = started.find((s) => s.status === "rejected");
  if (failure) {
    await stopAll();
    throw failure.reason;
  }
  const ports = Object.fromEntries(
    LOCAL_PACKAGES.map((pkg, i) => [
      pkg,
      (started[i] as PromiseFulfilledResult<{ port: number }>).value.port,
    ]),
  ) as Record<LocalPackage, number>;
  return {
    ports,
    env: { PULUMI_DEBUG_PROVIDERS: LOCAL_PACKAGES.map((pkg) => `${pkg}:${ports[pkg]}`).join(",") },
    log,
    close: stopAll,
  };
}
