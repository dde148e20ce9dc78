/**
 * CloudWatch Embedded Metric Format: a JSON log line that CloudWatch Logs turns into metrics, with no API
 * call from the function. Shape (per the EMF specification):
 *
 * ```json
 * { "_aws": { "Timestamp": 1764064800000,
 *             "CloudWatchMetrics": [{ "Namespace": "AuthEmail", "Dimensions": [["service"]],
 *                                     "Metrics": [{ "Name": "EmailSent", "Unit": "Count" }] }] },
 *   "service": "auth-email-bridge", "EmailSent": 2 }
 * ```
 *
 * Metric values and dimension values live at the top level, next to `_aws`.
 */

/** CloudWatch accepts at most 100 metrics in one EMF document. */
const EMF_MAX_METRICS = 100;

export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: Array<{
      Namespace: string;
      Dimensions: string[][];
      Metrics: Array<{ Name: string; Unit: string }>;
    }>;
  };
  [member: string]: unknown;
}

export interface EmfTarget {
  namespace: string;
  /** Dimension name → value; every metric is published under this one dimension set. */
  dimensions: Record<string, string>;
}

/**
 * CloudWatch namespaces: 1–255 characters from letters, digits, `.`, `-`, `_`, `/`, `#`, `:` and space,
 * and `AWS/` is reserved for AWS services.
 */
export function namespaceProblem(namespace: string): string | undefined {
  if (!/^[A-Za-z0-9.\-_/#: ]{1,255}$/.test(namespace)) {
    return "must be 1-255 characters of letters, digits, space and . - _ / # :";
  }
  if (namespace.startsWith("AWS/")) return "must not start with AWS/ (reserved for AWS services)";
  return undefined;
}

/**
 * The EMF documents for a set of counts: one per 100 metrics. Counts of zero are left out (they would only
 * add data points), so no counts give no documents.
 */
export function emfCountDocuments(
  counts: ReadonlyMap<string, number>,
  target: EmfTarget,
  timestamp: number = Date.now(),
): EmfDocument[] {
  const names = [...counts.keys()].filter((name) => (counts.get(name) ?? 0) !== 0);
  const documents: EmfDocument[] = [];
  for (let start = 0; start < names.length; start += EMF_MAX_METRICS) {
    const chunk = names.slice(start, start + EMF_MAX_METRICS);
    const document: EmfDocument = {
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          {
            Namespace: target.namespace,
            Dimensions: [Object.keys(target.dimensions)],
            Metrics: chunk.map((name) => ({ Name: name, Unit: "Count" })),
          },
        ],
      },
      ...target.dimensions,
    };
    for (const name of chunk) document[name] = counts.get(name);
    documents.push(document);
  }
  return documents;
}
