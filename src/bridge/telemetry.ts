import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

/** One metric per outcome, so a dashboard can show where every event went. */
export const METRICS = {
  received: "WebhookAccepted",
  duplicate: "WebhookDuplicate",
  rejected: "WebhookRejected",
  sent: "EmailSent",
  droppedStale: "EmailDroppedStale",
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

/**
 * Structured JSON logs (Powertools Logger) and EMF metrics (Powertools Metrics). Log calls carry ids only:
 * svix-id, Clerk email id, Resend email id, user id. Email bodies, subjects (they hold the OTP) and secrets are
 * never passed to the logger.
 */
export interface Telemetry {
  readonly logger: Logger;
  count(metric: MetricName, value?: number): void;
  /** Emits the metrics gathered since the last flush as one EMF document. */
  flush(): void;
  /** Running totals since start, for tests and the local server's status page. */
  readonly totals: Readonly<Record<string, number>>;
}

export interface TelemetryOptions {
  serviceName?: string;
  namespace?: string;
  /** Powertools level name; `SILENT` in tests. Defaults to `POWERTOOLS_LOG_LEVEL` or INFO. */
  logLevel?: "DEBUG" | "INFO" | "WARN" | "ERROR" | "SILENT";
  /** When false, metrics are only totalled in memory (local runs and tests). */
  emitMetrics?: boolean;
}

export function createTelemetry(options: TelemetryOptions = {}): Telemetry {
  const serviceName = options.serviceName ?? process.env.POWERTOOLS_SERVICE_NAME ?? "auth-email-bridge";
  const logger = new Logger({ serviceName, ...(options.logLevel ? { logLevel: options.logLevel } : {}) });
  const metrics =
    options.emitMetrics === false
      ? undefined
      : new Metrics({
          serviceName,
          namespace: options.namespace ?? process.env.POWERTOOLS_METRICS_NAMESPACE ?? "AuthEmail",
        });
  const totals: Record<string, number> = {};
  return {
    logger,
    totals,
    count(metric, value = 1) {
      totals[metric] = (totals[metric] ?? 0) + value;
      metrics?.addMetric(metric, MetricUnit.Count, value);
    },
    flush() {
      if (metrics?.hasStoredMetrics()) metrics.publishStoredMetrics();
    },
  };
}
