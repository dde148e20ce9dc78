import type { Sandbox } from "../index";
import { LocalCloudControl } from "../local-cloud/control";
import { type ControlEvent, startControlServer } from "./control-server";
import { type LocalProviders, startLocalProviders } from "./local-providers";

export interface LocalCloudForEngineOptions {
  sandbox: Sandbox;
  onEvent?: (event: ControlEvent) => void;
  onFunctionLog?: (functionName: string, line: string) => void;
}

/**
 * The sandbox as a cloud for the real engine: the local cloud's control plane served on loopback, and the
 * `aws` and `cloudflare` providers running against it. `env` is what the engine (and so the program, its
 * dynamic providers and its functions' builders) needs: the stand-ins' endpoints and keys, and
 * PULUMI_DEBUG_PROVIDERS so the engine attaches to the local providers.
 */
export interface LocalCloudForEngine {
  control: LocalCloudControl;
  providers: LocalProviders;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startLocalCloudForEngine(
  options: LocalCloudForEngineOptions,
): Promise<LocalCloudForEngine> {
  const control = await LocalCloudControl.create(options);
  const server = await startControlServer(control, options.onEvent).catch(async (err: unknown) => {
    await control.close();
    throw err;
  });
  const providers = await startLocalProviders(server.url).catch(async (err: unknown) => {
    await server.close();
    await control.close();
    throw err;
  });
  return {
    control,
    providers,
    env: { ...options.sandbox.environment, ...providers.env },
    async close() {
      await providers.close();
      await server.close();
      await control.close();
    },
  };
}
