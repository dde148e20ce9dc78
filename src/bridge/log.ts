/**
 * Structured JSON log lines, one per call, in the shape Lambda's JSON log format and CloudWatch Logs Insights
 * expect (`level`, `message`, `timestamp`) plus the invocation keys Powertools Logger used to add. A small
 * logger instead of Powertools Logger: importing and constructing that cost about 6 ms of every cold start,
 * more than the whole allowance for the bridge's own code.
 */

const LOG_LEVELS = { DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, SILENT: 28 } as const;
export type LogLevel = keyof typeof LOG_LEVELS;
export type LogAttributes = Record<string, unknown>;

export interface Logger {
  debug(message: string, attributes?: LogAttributes): void;
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
  /** A logger whose every line also carries `persistentKeys` (the correlation ids of one record). */
  createChild(options: { persistentKeys: LogAttributes }): Logger;
}

/** What the current invocation adds to every line; shared by a logger and its children. */
export interface InvocationKeys {
  coldStart: boolean;
  requestId?: string;
}

export interface LoggerOptions {
  service: string;
  level: LogLevel;
  invocation: InvocationKeys;
  env?: Record<string, string | undefined>;
  /** Receives each finished line without its newline; default: stdout, looked up at each call. */
  write?: (line: string) => void;
}

/** Lambda's own level names (`AWS_LAMBDA_LOG_LEVEL`, set by the function's logging config) on this scale. */
const LAMBDA_LEVELS: Record<string, number> = { TRACE: 6, ...LOG_LEVELS, FATAL: 24 };

/** Keys the logger owns: attributes with these names are dropped rather than overwrite them. */
const RESERVED = new Set([
  "level",
  "message",
  "timestamp",
  "service",
  "cold_start",
  "function_name",
  "function_request_id",
  "xray_trace_id",
]);

export interface ResolvedLogLevel {
  level: LogLevel;
  /** Set when a variable held an unknown level name: logged once, so the misconfiguration is visible. */
  warning?: string;
}

/**
 * The level to log at: an explicit option (tests, local runs), else `POWERTOOLS_LOG_LEVEL` (the name the
 * infrastructure sets, kept from Powertools), else `LOG_LEVEL`, else INFO. When Lambda's advanced logging
 * controls set a stricter `AWS_LAMBDA_LOG_LEVEL`, that wins: Lambda would drop the quieter lines anyway, and
 * formatting them would be wasted work.
 */
export function resolveLogLevel(
  explicit: LogLevel | undefined,
  env: Record<string, string | undefined>,
): ResolvedLogLevel {
  let level: LogLevel = explicit ?? "INFO";
  let warning: string | undefined;
  if (!explicit) {
    const variable = env.POWERTOOLS_LOG_LEVEL ? "POWERTOOLS_LOG_LEVEL" : env.LOG_LEVEL ? "LOG_LEVEL" : "";
    const raw = variable ? (env[variable] ?? "").trim().toUpperCase() : "";
    if (raw in LOG_LEVELS) level = raw as LogLevel;
    else if (variable) {
      warning = `${variable} "${env[variable]}" is not a log level; use DEBUG, INFO, WARN, ERROR or SILENT. Logging at INFO`;
    }
  }
  const lambda = LAMBDA_LEVELS[(env.AWS_LAMBDA_LOG_LEVEL ?? "").trim().toUpperCase()];
  if (lambda !== undefined && lambda > LOG_LEVELS[level]) {
    level = lambda >= LOG_LEVELS.ERROR ? "ERROR" : lambda >= LOG_LEVELS.WARN ? "WARN" : "INFO";
  }
  return warning ? { level, warning } : { level };
}

export function createLogger(options: LoggerOptions): Logger {
  const env = options.env ?? process.env;
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const threshold = LOG_LEVELS[options.level];
  const functionName = env.AWS_LAMBDA_FUNCTION_NAME;

  const make = (persistent: LogAttributes): Logger => {
    const emit = (level: Exclude<LogLevel, "SILENT">, message: string, attributes?: LogAttributes) => {
      if (LOG_LEVELS[level] < threshold) return;
      const line: LogAttributes = {
        level,
        message,
        timestamp: new Date().toISOString(),
        service: options.service,
        cold_start: options.invocation.coldStart,
      };
      if (functionName) line.function_name = functionName;
      if (options.invocation.requestId) line.function_request_id = options.invocation.requestId;
      const traceId = xrayTraceId(env._X_AMZN_TRACE_ID);
      if (traceId) line.xray_trace_id = traceId;
      for (const extra of [persistent, attributes]) {
        if (!extra) continue;
        for (const key of Object.keys(extra)) if (!RESERVED.has(key)) line[key] = extra[key];
      }
      write(serialize(line));
    };
    return {
      debug: (message, attributes) => emit("DEBUG", message, attributes),
      info: (message, attributes) => emit("INFO", message, attributes),
      warn: (message, attributes) => emit("WARN", message, attributes),
      error: (message, attributes) => emit("ERROR", message, attributes),
      createChild: ({ persistentKeys }) => make({ ...persistent, ...persistentKeys }),
    };
  };
  return make({});
}

/** `Root=1-abc-def;Parent=…;Sampled=1` → `1-abc-def`, as Powertools and X-Ray show it. */
function xrayTraceId(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const root = header.split(";").find((part) => part.startsWith("Root="));
  return root ? root.slice(5) : undefined;
}

/**
 * JSON with errors as `{ name, message, stack }` (JSON.stringify alone gives `{}`) and bigints as strings.
 * A value that still cannot be serialised (a cycle) costs its attributes, never the line.
 */
function serialize(line: LogAttributes): string {
  try {
    return JSON.stringify(line, replacer);
  } catch (err) {
    const { level, message, timestamp, service, cold_start } = line;
    return JSON.stringify({
      level,
      message,
      timestamp,
      service,
      cold_start,
      log_error: `attributes not serialisable: ${(err as Error).message}`,
    });
  }
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (typeof value === "bigint") return value.toString();
  return value;
}
