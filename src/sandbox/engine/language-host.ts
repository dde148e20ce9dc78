// The Node.js language host (`pulumi-language-nodejs`) for a Pulumi CLI built from Go modules: the Go module
// proxy does not serve Pulumi's own host (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3),
// and the last host inside sdk/v3 (v3.68.0) cannot run policy packs under CLI 3.276 (its RunPlugin says "not
// supported") and proxies the resource monitor through a 2023 proto. This host implements the
// LanguageRuntime calls the engine makes for `up`/`preview`/`refresh`/`destroy` and policy packs, and leaves
// the program's process talking to the engine's monitor directly. See docs/sandbox.md "The real engine".
//
// Started by the engine as `pulumi-language-nodejs <engine-address>`; prints the port it serves on.
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { isAbsolute, join } from "node:path";
import type * as grpcTypes from "@grpc/grpc-js";
import type * as LanguageProto from "@pulumi/pulumi/proto/language_pb";
import type * as PluginProto from "@pulumi/pulumi/proto/plugin_pb";
import type { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { findPulumiPlugins } from "./required-plugins";

// The SDK's own gRPC and proto modules, so messages and the server come from one copy of each.
const sdkRequire = createRequire(require.resolve("@pulumi/pulumi/package.json"));
const grpc = sdkRequire("@grpc/grpc-js") as typeof grpcTypes;
const langproto = sdkRequire("./proto/language_pb") as typeof LanguageProto;
const langrpc = sdkRequire("./proto/language_grpc_pb") as {
  LanguageRuntimeService: grpcTypes.ServiceDefinition;
};
const plugproto = sdkRequire("./proto/plugin_pb") as typeof PluginProto;
const sdkVersion = (sdkRequire("./package.json") as { version: string }).version;

/** Exit code the SDK's run script uses after it already showed the user an actionable message. */
const EXITED_AFTER_USER_MESSAGE = 32;

/** The project's `runtime.options` from Pulumi.yaml, as the engine passes them in ProgramInfo. */
interface RuntimeOptions {
  typescript: boolean;
  tsconfig?: string;
  nodeargs: string[];
}

export function runtimeOptions(options: Struct | undefined): RuntimeOptions {
  const raw = (options?.toJavaScript() ?? {}) as Record<string, unknown>;
  return {
    // Pulumi's host treats TypeScript as on unless the project turns it off.
    typescript: raw.typescript !== false && raw.typescript !== "false",
    tsconfig: typeof raw.tsconfig === "string" && raw.tsconfig !== "" ? raw.tsconfig : undefined,
    nodeargs: typeof raw.nodeargs === "string" ? raw.nodeargs.split(/\s+/).filter(Boolean) : [],
  };
}

/** The environment the SDK's scripts read their TypeScript settings from. */
function typeScriptEnv(options: RuntimeOptions): Record<string, string> {
  return {
    ...(options.typescript ? { PULUMI_NODEJS_TYPESCRIPT: "true" } : {}),
    ...(options.tsconfig ? { PULUMI_NODEJS_TSCONFIG_PATH: options.tsconfig } : {}),
  };
}

/** A module of the program's own @pulumi/pulumi, resolved from its directory as Node would. */
function resolveFrom(directory: string, module: string): string {
  try {
    return createRequire(join(directory, "package.json")).resolve(module);
  } catch {
    throw new Error(
      `${module} cannot be found from ${directory}: the program's dependencies are not installed (npm ci)`,
    );
  }
}

/** The command line of the SDK's run script (`@pulumi/pulumi/cmd/run`) for a RunRequest. */
export function runArguments(
  req: LanguageProto.RunRequest,
  runScript: string,
  engineAddress: string,
): string[] {
  const info = req.getInfo();
  const args = [runScript];
  const flag = (name: string, value: string | number | undefined) => {
    if (value !== undefined && value !== "") args.push(`--${name}`, String(value));
  };
  flag("monitor", req.getMonitorAddress());
  flag("engine", engineAddress);
  flag("organization", req.getOrganization());
  flag("project", req.getProject());
  flag("stack", req.getStack());
  flag("pwd", req.getPwd() || info?.getProgramDirectory());
  flag("root-directory", info?.getRootDirectory());
  if (req.getDryrun()) args.push("--dry-run");
  flag("parallel", req.getParallel());
  // "." lets the run script take the entry point from package.json (`main`), as Pulumi's host does.
  args.push(info?.getEntryPoint() || req.getProgram() || ".");
  args.push(...req.getArgsList());
  return args;
}

/** The program's configuration as the SDK reads it: `PULUMI_CONFIG` (JSON map) and the secret keys. */
export function configEnv(req: LanguageProto.RunRequest): Record<string, string> {
  const config: Record<string, string> = {};
  for (const [key, value] of req.getConfigMap().entries()) config[key] = value;
  return {
    PULUMI_CONFIG: JSON.stringify(config),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(req.getConfigsecretkeysList()),
  };
}

class NodeLanguageHost {
  private readonly children = new Set<ChildProcess>();

  constructor(private readonly engineAddress: string) {}

  service(): grpcTypes.UntypedServiceImplementation {
    return {
      getPluginInfo: this.unary(async () => new plugproto.PluginInfo().setVersion(sdkVersion)),
      getRequiredPlugins: this.unary(async (req: LanguageProto.GetRequiredPluginsRequest) => {
        const directory = req.getInfo()?.getProgramDirectory() || req.getPwd();
        const plugins = (await findPulumiPlugins(directory)).map((p) =>
          new plugproto.PluginDependency().setName(p.name).setKind("resource").setVersion(p.version),
        );
        return new langproto.GetRequiredPluginsResponse().setPluginsList(plugins);
      }),
      run: this.unary((req: LanguageProto.RunRequest) => this.run(req)),
      runPlugin: (call: grpcTypes.ServerWritableStream<LanguageProto.RunPluginRequest, unknown>) =>
        this.runPlugin(call),
    };
  }

  /** Stops every program and plugin still running, as the engine's exit ends its language host. */
  killAll(): void {
    for (const child of this.children) child.kill("SIGTERM");
  }

  private unary<Req, Res>(handler: (req: Req) => Promise<Res>): grpcTypes.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      handler(call.request).then(
        (res) => callback(null, res),
        (err: unknown) =>
          callback({ code: grpc.status.UNKNOWN, details: err instanceof Error ? err.message : String(err) }),
      );
    };
  }

  private async run(req: LanguageProto.RunRequest): Promise<LanguageProto.RunResponse> {
    const info = req.getInfo();
    const programDirectory = info?.getProgramDirectory() || req.getPwd();
    const options = runtimeOptions(info?.getOptions());
    const runScript = resolveFrom(programDirectory, "@pulumi/pulumi/cmd/run");
    const child = spawn(
      process.execPath,
      [...options.nodeargs, ...runArguments(req, runScript, this.engineAddress)],
      {
        cwd: programDirectory,
        env: { ...process.env, ...configEnv(req), ...typeScriptEnv(options) },
        // The engine shows what the host prints as the program's output.
        stdio: ["ignore", "inherit", "inherit"],
      },
    );
    const code = await this.exitCode(child);
    const response = new langproto.RunResponse();
    if (code === EXITED_AFTER_USER_MESSAGE) return response.setBail(true);
    if (code !== 0) response.setError(`Program exited with non-zero exit code: ${code}`);
    return response;
  }

  /**
   * Runs a plugin written in Node.js from its directory: a policy pack (`kind` analyzer, through the SDK's
   * `cmd/run-policy-pack`, in the pack's directory, the engine address first and the pack last) or a provider
   * (`cmd/run-plugin`), streaming its output back; the engine reads the plugin's port from that stdout.
   */
  private async runPlugin(
    call: grpcTypes.ServerWritableStream<LanguageProto.RunPluginRequest, unknown>,
  ): Promise<void> {
    const req = call.request;
    const info = req.getInfo();
    const directory = info?.getProgramDirectory() ?? "";
    try {
      if (!isAbsolute(directory))
        throw new Error(`plugin directory ${JSON.stringify(directory)} is not absolute`);
      const options = runtimeOptions(info?.getOptions());
      const analyzer = req.getKind() === "analyzer";
      const script = resolveFrom(
        directory,
        analyzer ? "@pulumi/pulumi/cmd/run-policy-pack" : "@pulumi/pulumi/cmd/run-plugin",
      );
      const args = analyzer
        ? [...options.nodeargs, script, ...req.getArgsList(), directory]
        : [...options.nodeargs, script, directory, ...req.getArgsList()];
      const env: Record<string, string> = {};
      for (const entry of req.getEnvList()) {
        const at = entry.indexOf("=");
        if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
      }
      const child = spawn(process.execPath, args, {
        cwd: analyzer ? directory : req.getPwd() || directory,
        env: { ...(req.getEnvList().length > 0 ? env : process.env), ...typeScriptEnv(options) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      call.on("cancelled", () => child.kill("SIGTERM"));
      child.stdout?.on("data", (chunk: Buffer) =>
        call.write(new langproto.RunPluginResponse().setStdout(chunk)),
      );
      child.stderr?.on("data", (chunk: Buffer) =>
        call.write(new langproto.RunPluginResponse().setStderr(chunk)),
      );
      const code = await this.exitCode(child);
      call.write(new langproto.RunPluginResponse().setExitcode(code));
      call.end();
    } catch (err) {
      call.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private exitCode(child: ChildProcess): Promise<number> {
    this.children.add(child);
    return new Promise((resolve, reject) => {
      child.once("error", (err) => {
        this.children.delete(child);
        reject(new Error(`could not start node for the program: ${err.message}`));
      });
      child.once("exit", (code, signal) => {
        this.children.delete(child);
        resolve(code ?? (signal ? 128 : 1));
      });
    });
  }
}

async function main(argv: string[]): Promise<void> {
  // Older engines passed flags (-tracing, -typescript, -root); the engine address is the last positional one.
  const engineAddress = argv.filter((a) => !a.startsWith("-")).at(-1) ?? "";
  const host = new NodeLanguageHost(engineAddress);
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 400 * 1024 * 1024,
    "grpc.max_send_message_length": 400 * 1024 * 1024,
  });
  server.addService(langrpc.LanguageRuntimeService, host.service());
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      host.killAll();
      server.forceShutdown();
      process.exit(0);
    });
  }
  // The engine reads the port from the first line of stdout.
  process.stdout.write(`${port}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`pulumi-language-nodejs: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
