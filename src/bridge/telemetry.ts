import { emfCountDocuments, namespaceProblem } from "./emf";
import { createLogger, type InvocationKeys, type Logger, type LogLevel, resolveLogLevel } from "./log";

/** One metric per outcome, so a dashboard can show where every event went. */
export const METRICS = {
  received: "WebhookAccepted",
  duplicate: "WebhookDuplicate",
  rejected: "WebhookRejected",
  /** A webhook refused (503) because its route's secret parameter holds something that is not a secret. */
  secretInvalid: "WebhookSecretInvalid",
  sent: "EmailSent",
  droppedStale: "EmailDroppedStale",
  /** A Clerk test-mode recipient (`+clerk_test`): recorded, not sent (src/bridge/clerk-test-mode.ts). */
  testMode: "EmailTestMode",
  suppressed: "EmailSuppressed",
  bouncedHard: "BouncedHard",
  bouncedSoft: "BouncedSoft",
  complained: "Complained",
  /** Resend reported the address suppressed (`email.suppressed`, `suppression.added`); not a new bounce. */
  resendSuppressed: "ResendSuppressed",
  delivered: "Delivered",
  metadataUpdated: "MetadataUpdated",
  metadataCleared: "MetadataCleared",
  failed: "Failed",
  retried: "Retried",
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];

const DEFAULT_SERVICE_NAME = "auth-email-bridge";
const DEFAULT_METRICS_NAMESPACE = "AuthEmail";

/** The part of Lambda's context object the logs use. */
export interface InvocationContext {
  awsRequestId?: string;
}

/**
 * Structured JSON logs (`./log`) and EMF metrics (`./emf`), written to stdout where Lambda sends them to
 * CloudWatch Logs. Log calls carry ids only: svix-id, Clerk email id, Resend email id, user id. Email bodies,
 * subjects (they hold the OTP) and secrets are never passed to the logger.
 */
export interface Telemetry {
  readonly logger: Logger;
  count(metric: MetricName, value?: number): void;
  /** Emits the metrics gathered since the last flush as EMF (one document per 100 metrics). */
  flush(): void;
  /** Call at the start of every invocation: the request id goes on each line, `cold_start` is true once. */
  beginInvocation(context?: InvocationContext): void;
  /** Running totals since start, for tests and the local server's status page. */
  readonly totals: Readonly<Record<string, number>>;
}

export interface TelemetryOptions {
  serviceName?: string;
  namespace?: string;
  /** `SILENT` in tests. Defaults to `POWERTOOLS_LOG_LEVEL`, then `LOG_LEVEL`, then INFO. */
  logLevel?: LogLevel;
  /** When false, metrics are only totalled in memory (local runs and tests). Default: not `POWERTOOLS_METRICS_DISABLED=true`. */
  emitMetrics?: boolean;
  env?: Record<string, string | undefined>;
  /** Receives log lines and EMF documents (without newline); default stdout. */
  write?: (line: string) => void;
}

export function createTelemetry(options: TelemetryOptions = {}): Telemetry {
  const env = options.env ?? process.env;
  const service = options.serviceName ?? env.POWERTOOLS_SERVICE_NAME ?? DEFAULT_SERVICE_NAME;
  const namespace = options.namespace ?? env.POWERTOOLS_METRICS_NAMESPACE ?? DEFAULT_METRICS_NAMESPACE;
  // POWERTOOLS_METRICS_DISABLED keeps its Powertools meaning, so existing configurations behave the same.
  const emitMetrics = options.emitMetrics ?? env.POWERTOOLS_METRICS_DISABLED?.toLowerCase() !== "true";
  const problem = emitMetrics ? namespaceProblem(namespace) : undefined;
  if (problem) throw new Error(`POWERTOOLS_METRICS_NAMESPACE "${namespace}" ${problem}`);
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));

  // Provisioned concurrency initialises ahead of traffic, so its first invocation is not a cold start.
  const invocation: InvocationKeys = {
    coldStart: env.AWS_LAMBDA_INITIALIZATION_TYPE !== "provisioned-concurrency",
  };
  let invocations = 0;
  const { level, warning } = resolveLogLevel(options.logLevel, env);
  const logger = createLogger({ service, level, invocation, env, write });
  if (warning) logger.warn(warning);

  const totals: Record<string, number> = {};
  const pending = new Map<string, number>();
  return {
    logger,
    totals,
    count(metric, value = 1) {
      totals[metric] = (totals[metric] ?? 0) + value;
      if (emitMetrics) pending.set(metric, (pending.get(metric) ?? 0) + value);
    },
    flush() {
      if (pending.size === 0) return;
      for (const document of emfCountDocuments(pending, { namespace, dimensions: { service } })) {
        write(JSON.stringify(document));
      }
      pending.clear();
    },
    beginInvocation(context) {
      invocations++;
      if (invocations > 1) invocation.coldStart = false;
      invocation.requestId = context?.awsRequestId;
    },
  };
}
