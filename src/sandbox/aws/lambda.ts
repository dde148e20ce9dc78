import { randomBytes, randomUUID } from "node:crypto";
import { stat } from "node:fs/promises";
import { basename, dirname, extname } from "node:path";
import type { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { awsSandboxEnvironment, SANDBOX_ACCOUNT_ID, SANDBOX_REGION } from "./env";
import { LAMBDA_RUNTIME_SOURCE } from "./lambda-runtime";

export { type FunctionUrl, startFunctionUrl } from "./function-url";
export { type SqsEventSource, type SqsEventSourceOptions, startSqsEventSource } from "./sqs-event-source";

export interface LocalLambdaOptions {
  name: string;
  /** The ESM file the handler lives in, e.g. `<dir>/ingest.mjs` for handler `ingest.handler`. */
  bundleFile: string;
  /** `<file>.<export>`, as in the function's Handler setting. */
  handler: string;
  /** The function's configured environment variables (exactly what the deployment sets). */
  environment?: Record<string, string>;
  timeoutSeconds: number;
  memoryMb?: number;
  /**
   * What the execution role and the sandbox add: region, credentials and AWS_ENDPOINT_URL_* for the
   * local stand-ins. Defaults to {@link awsSandboxEnvironment} with no endpoints.
   */
  awsEnvironment?: Record<string, string>;
  /** Receives every line the function writes to stdout/stderr (also kept in `logs`). */
  onLog?: (line: string) => void;
}

export interface LambdaLogLine {
  stream: "stdout" | "stderr";
  line: string;
}

/** The error payload Lambda reports for a failed invocation (`X-Amz-Function-Error: Unhandled`). */
export class LambdaInvocationError extends Error {
  override name = "LambdaInvocationError";
  constructor(
    readonly functionName: string,
    readonly requestId: string,
    readonly errorType: string,
    readonly errorMessage: string,
    readonly trace: string[] = [],
  ) {
    super(`${functionName} invocation ${requestId} failed: ${errorType}: ${errorMessage}`);
  }
}

/** Environment keys Lambda reserves; a function configuration that sets them is rejected by AWS. */
const RESERVED_KEYS = [
  "_HANDLER",
  "_X_AMZN_TRACE_ID",
  "AWS_DEFAULT_REGION",
  "AWS_REGION",
  "AWS_EXECUTION_ENV",
  "AWS_LAMBDA_FUNCTION_NAME",
  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
  "AWS_LAMBDA_FUNCTION_VERSION",
  "AWS_LAMBDA_INITIALIZATION_TYPE",
  "AWS_LAMBDA_LOG_GROUP_NAME",
  "AWS_LAMBDA_LOG_STREAM_NAME",
  "AWS_ACCESS_KEY",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_LAMBDA_RUNTIME_API",
  "LAMBDA_TASK_ROOT",
  "LAMBDA_RUNTIME_DIR",
];

interface Pending {
  id: number;
  requestId: string;
  resolve: (payload: string) => void;
  reject: (err: LambdaInvocationError) => void;
  timer: NodeJS.Timeout;
}

/** One execution environment: a worker thread that runs one invocation at a time. */
class ExecutionEnvironment {
  pending: Pending | undefined;
  dead = false;
  private seq = 0;

  constructor(
    private readonly worker: Worker,
    private readonly functionName: string,
    /** The function's update it was started after; an environment never outlives an update. */
    readonly generation: number,
  ) {
    worker.on(
      "message",
      (msg: { id: number; ok: boolean; payload?: string; error?: Record<string, unknown> }) => {
        const pending = this.pending;
        if (!pending || pending.id !== msg.id) return;
        this.settle();
        if (msg.ok) pending.resolve(msg.payload ?? "null");
        else pending.reject(this.failure(pending, msg.error ?? {}));
      },
    );
    worker.on("error", (err: Error & { code?: string }) => {
      // Errors escaping the handler's promise (uncaught throws in callbacks, out of memory) kill the environment.
      const errorType = err.code === "ERR_WORKER_OUT_OF_MEMORY" ? "Runtime.OutOfMemory" : err.name || "Error";
      this.fail({ errorType, errorMessage: err.message, trace: String(err.stack ?? "").split("\n") });
    });
    worker.on("exit", (code) => {
      this.fail({
        errorType: "Runtime.ExitError",
        errorMessage: `Runtime exited with error: exit status ${code}`,
      });
    });
  }

  run(eventJson: string, requestId: string, timeoutSeconds: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const id = ++this.seq;
      const timeoutMs = timeoutSeconds * 1000;
      const timer = setTimeout(() => {
        // Lambda freezes and discards the environment of a timed-out invocation; the next one cold-starts.
        this.fail({
          errorType: "Sandbox.Timedout",
          errorMessage: `Task timed out after ${timeoutSeconds.toFixed(2)} seconds`,
        });
      }, timeoutMs);
      this.pending = { id, requestId, resolve, reject, timer };
      this.worker.postMessage({ id, requestId, deadline: Date.now() + timeoutMs, eventJson });
    });
  }

  async terminate(): Promise<void> {
    this.fail({
      errorType: "Runtime.ExitError",
      errorMessage: "the function was shut down during the invocation",
    });
    await this.worker.terminate();
  }

  private fail(error: Record<string, unknown>): void {
    const wasDead = this.dead;
    this.dead = true;
    const pending = this.pending;
    if (pending) {
      this.settle();
      pending.reject(this.failure(pending, error));
    }
    if (!wasDead) void this.worker.terminate();
  }

  private settle(): void {
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
  }

  private failure(pending: Pending, error: Record<string, unknown>): LambdaInvocationError {
    return new LambdaInvocationError(
      this.functionName,
      pending.requestId,
      String(error["errorType"] ?? "Error"),
      String(error["errorMessage"] ?? ""),
      (error["trace"] as string[] | undefined) ?? [],
    );
  }
}

/**
 * What an update can change on a local function: its code (`UpdateFunctionCode`: a new bundle file, with
 * its handler) and its configuration (`UpdateFunctionConfiguration`). The name, and so the ARN and URL,
 * stay.
 */
export type LambdaUpdate = Partial<
  Pick<LocalLambdaOptions, "bundleFile" | "handler" | "environment" | "timeoutSeconds" | "memoryMb">
>;

/**
 * A function run locally from its deployment bundle: each execution environment is a worker thread
 * whose `process.env` is exactly the function's environment plus Lambda's reserved variables.
 * Concurrent invocations get separate environments, as in Lambda; idle ones are reused (warm starts).
 * An update (code or configuration) retires every environment started before it, as Lambda does: idle ones
 * at once, busy ones when their invocation ends, so every later invocation runs the new code and settings.
 */
export class LocalLambda {
  readonly arn: string;
  readonly logs: LambdaLogLine[] = [];
  invocations = 0;
  coldStarts = 0;
  /** How many updates (code or configuration) the function has had. */
  updates = 0;
  private readonly idle: ExecutionEnvironment[] = [];
  private readonly all = new Set<ExecutionEnvironment>();
  private workerEnv: Record<string, string> = {};
  private closed = false;

  constructor(private options: Required<Pick<LocalLambdaOptions, "memoryMb">> & LocalLambdaOptions) {
    this.arn = `arn:aws:lambda:${SANDBOX_REGION}:${SANDBOX_ACCOUNT_ID}:function:${options.name}`;
    this.workerEnv = this.environmentFor(options);
  }

  /** The function's configured environment variables (without what the sandbox adds). */
  get environment(): Record<string, string> {
    return { ...this.options.environment };
  }

  /**
   * `UpdateFunctionCode` and `UpdateFunctionConfiguration`: the new code and settings apply to every
   * invocation that starts afterwards. Warm environments are discarded, so code that cached what the old
   * configuration pointed at (a secret read at cold start) starts over; an invocation already running
   * finishes on the old. An update AWS would refuse is refused and changes nothing.
   */
  async update(change: LambdaUpdate): Promise<void> {
    if (this.closed) throw new Error(`Lambda ${this.name} is closed`);
    const next = { ...this.options, ...change, memoryMb: change.memoryMb ?? this.options.memoryMb };
    checkConfiguration(next);
    if (change.bundleFile !== undefined) await checkBundleFile(next);
    this.options = next;
    this.workerEnv = this.environmentFor(next);
    this.updates += 1;
    const retired = this.idle.splice(0);
    for (const environment of retired) this.all.delete(environment);
    await Promise.all(retired.map((environment) => environment.terminate()));
  }

  get name(): string {
    return this.options.name;
  }

  get timeoutSeconds(): number {
    return this.options.timeoutSeconds;
  }

  /** Invokes synchronously (RequestResponse); resolves the JSON result or rejects with {@link LambdaInvocationError}. */
  async invoke(event: unknown): Promise<unknown> {
    if (this.closed) throw new Error(`Lambda ${this.name} is closed`);
    this.invocations += 1;
    const requestId = randomUUID();
    const environment = this.idle.pop() ?? this.spawn();
    try {
      const payload = await environment.run(
        JSON.stringify(event ?? null),
        requestId,
        this.options.timeoutSeconds,
      );
      return JSON.parse(payload);
    } finally {
      if (!environment.dead && !this.closed && environment.generation === this.updates) {
        this.idle.push(environment);
      } else {
        this.all.delete(environment);
        if (!environment.dead) void environment.terminate();
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.idle.length = 0;
    await Promise.all([...this.all].map((e) => e.terminate()));
    this.all.clear();
  }

  private spawn(): ExecutionEnvironment {
    this.coldStarts += 1;
    const logStreamName = `${new Date().toISOString().slice(0, 10).replaceAll("-", "/")}/[$LATEST]${randomBytes(16).toString("hex")}`;
    const exportName = this.options.handler.split(".").at(-1)!;
    const worker = new Worker(LAMBDA_RUNTIME_SOURCE, {
      eval: true,
      env: { ...this.workerEnv, AWS_LAMBDA_LOG_STREAM_NAME: logStreamName },
      workerData: {
        bundleFile: this.options.bundleFile,
        handler: this.options.handler,
        exportName,
        functionName: this.name,
        functionArn: this.arn,
        memoryMb: this.options.memoryMb,
        logGroupName: `/aws/lambda/${this.name}`,
        logStreamName,
        runtimeModulesFrom: pathToFileURL(__filename).href,
      },
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: this.options.memoryMb },
    });
    this.capture(worker.stdout, "stdout");
    this.capture(worker.stderr, "stderr");
    const environment = new ExecutionEnvironment(worker, this.name, this.updates);
    this.all.add(environment);
    return environment;
  }

  private environmentFor(options: LocalLambdaOptions & { memoryMb: number }): Record<string, string> {
    return {
      ...(options.awsEnvironment ?? awsSandboxEnvironment()),
      ...options.environment,
      AWS_LAMBDA_FUNCTION_NAME: options.name,
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${options.name}`,
      AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
      AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
      LAMBDA_TASK_ROOT: dirname(options.bundleFile),
      _HANDLER: options.handler,
      TZ: ":UTC",
      LANG: "en_US.UTF-8",
    };
  }

  private capture(stream: Readable, name: LambdaLogLine["stream"]): void {
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        this.logs.push({ stream: name, line });
        this.options.onLog?.(line);
      }
    });
  }
}

/**
 * Starts a local function. Configuration mistakes AWS would reject (reserved environment keys, a
 * handler that does not name the bundle file, limits out of range) fail here, before any invocation.
 */
export async function startLocalLambda(options: LocalLambdaOptions): Promise<LocalLambda> {
  const configured = { ...options, memoryMb: options.memoryMb ?? 128 };
  checkConfiguration(configured);
  await checkBundleFile(configured);
  return new LocalLambda(configured);
}

async function checkBundleFile(options: LocalLambdaOptions): Promise<void> {
  const file = await stat(options.bundleFile).catch(() => undefined);
  if (!file?.isFile()) {
    throw new Error(
      `Lambda ${options.name}: bundle file ${options.bundleFile} does not exist; build the bundle first`,
    );
  }
}

/** Throws what AWS would refuse about a function configuration, naming the setting. */
function checkConfiguration(options: LocalLambdaOptions & { memoryMb: number }): void {
  const { memoryMb } = options;
  const handlerMatch = /^([^.]+)\.([A-Za-z_$][\w$]*)$/.exec(options.handler);
  if (!handlerMatch) {
    throw new Error(
      `Lambda ${options.name}: handler "${options.handler}" must be "<file>.<export>", e.g. "ingest.handler"`,
    );
  }
  const fileStem = basename(options.bundleFile, extname(options.bundleFile));
  if (handlerMatch[1] !== fileStem || ![".mjs", ".js", ".cjs"].includes(extname(options.bundleFile))) {
    throw new Error(
      `Lambda ${options.name}: handler "${options.handler}" looks for ${handlerMatch[1]}.mjs/.js but the bundle is ${basename(options.bundleFile)}; make the handler "${fileStem}.${handlerMatch[2]}"`,
    );
  }
  const reserved = Object.keys(options.environment ?? {}).filter((k) => RESERVED_KEYS.includes(k));
  if (reserved.length) {
    throw new Error(
      `Lambda ${options.name}: environment sets reserved keys ${reserved.join(", ")}; Lambda rejects them, remove them from the function's environment`,
    );
  }
  if (!(options.timeoutSeconds > 0 && options.timeoutSeconds <= 900)) {
    throw new Error(
      `Lambda ${options.name}: timeoutSeconds must be in (0, 900] (got ${options.timeoutSeconds})`,
    );
  }
  if (!(memoryMb >= 128 && memoryMb <= 10_240)) {
    throw new Error(`Lambda ${options.name}: memoryMb must be 128-10240 (got ${memoryMb})`);
  }
}
