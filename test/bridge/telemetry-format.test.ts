import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { type EmfDocument, emfCountDocuments } from "../../src/bridge/emf";
import { resolveLogLevel } from "../../src/bridge/log";
import { createTelemetry, METRICS, type TelemetryOptions } from "../../src/bridge/telemetry";

/** The CloudWatch Embedded Metric Format specification's structure for the `_aws` metadata. */
const EMF_SCHEMA = {
  type: "object",
  required: ["_aws"],
  properties: {
    _aws: {
      type: "object",
      required: ["Timestamp", "CloudWatchMetrics"],
      properties: {
        Timestamp: { type: "integer", minimum: 0 },
        CloudWatchMetrics: {
          type: "array",
          items: {
            type: "object",
            required: ["Namespace", "Dimensions", "Metrics"],
            properties: {
              Namespace: { type: "string", minLength: 1, maxLength: 1024 },
              Dimensions: {
                type: "array",
                items: {
                  type: "array",
                  items: { type: "string", minLength: 1, maxLength: 250 },
                  maxItems: 30,
                },
              },
              Metrics: {
                type: "array",
                maxItems: 100,
                items: {
                  type: "object",
                  required: ["Name"],
                  properties: {
                    Name: { type: "string", minLength: 1, maxLength: 1024 },
                    Unit: { type: "string" },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};
const validateEmf = new Ajv({ allErrors: true, strict: false }).compile(EMF_SCHEMA);

/** Beyond the schema: every referenced dimension is a top-level string and every metric a top-level number. */
function assertValidEmf(document: unknown): asserts document is EmfDocument {
  expect(validateEmf(document), JSON.stringify(validateEmf.errors)).toBe(true);
  const doc = document as EmfDocument;
  for (const directive of doc._aws.CloudWatchMetrics) {
    for (const name of directive.Dimensions.flat())
      expect(typeof doc[name], `dimension ${name}`).toBe("string");
    for (const metric of directive.Metrics)
      expect(typeof doc[metric.Name], `metric ${metric.Name}`).toBe("number");
  }
}

function capture(options: TelemetryOptions = {}) {
  const lines: string[] = [];
  const telemetry = createTelemetry({
    env: {},
    ...options,
    write: (line) => lines.push(line),
  });
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { telemetry, lines, parsed };
}

describe("EMF metrics", () => {
  it("flushes every metric in METRICS as one valid document with a Count unit, the namespace and service", () => {
    const { telemetry, parsed } = capture({
      env: { POWERTOOLS_METRICS_NAMESPACE: "auth-email-pipeline/prod", POWERTOOLS_SERVICE_NAME: "bridge" },
    });
    const names = Object.values(METRICS);
    names.forEach((name, i) => {
      telemetry.count(name, i + 1);
    });
    telemetry.count(METRICS.sent);
    telemetry.flush();

    const docs = parsed();
    expect(docs).toHaveLength(1);
    const doc = docs[0];
    assertValidEmf(doc);
    const [directive] = doc._aws.CloudWatchMetrics;
    expect(directive?.Namespace).toBe("auth-email-pipeline/prod");
    expect(directive?.Dimensions).toEqual([["service"]]);
    expect(doc.service).toBe("bridge");
    expect(directive?.Metrics.map((m) => m.Name).sort()).toEqual([...names].sort());
    expect(directive?.Metrics.every((m) => m.Unit === "Count")).toBe(true);
    // Counts of one invocation are summed into one value per metric.
    expect(doc[METRICS.sent]).toBe(names.indexOf(METRICS.sent) + 2);
    expect(Math.abs(doc._aws.Timestamp - Date.now())).toBeLessThan(5_000);
  });

  it("writes nothing when nothing was counted, and each count once", () => {
    const { telemetry, lines } = capture();
    telemetry.flush();
    expect(lines).toHaveLength(0);
    telemetry.count(METRICS.received);
    telemetry.flush();
    telemetry.flush();
    expect(lines).toHaveLength(1);
    expect(telemetry.totals[METRICS.received]).toBe(1);
  });

  it("splits more than 100 metrics into documents of at most 100", () => {
    const counts = new Map(Array.from({ length: 230 }, (_, i) => [`Metric${i}`, i + 1] as const));
    const docs = emfCountDocuments(counts, { namespace: "N", dimensions: { service: "s" } }, 1_000);
    expect(docs.map((d) => d._aws.CloudWatchMetrics[0]?.Metrics.length)).toEqual([100, 100, 30]);
    for (const doc of docs) assertValidEmf(doc);
    const emitted = docs.flatMap((d) => d._aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name) ?? []);
    expect(new Set(emitted).size).toBe(230);
  });

  it.each([
    ["emitMetrics: false", { emitMetrics: false }],
    ["POWERTOOLS_METRICS_DISABLED=true", { env: { POWERTOOLS_METRICS_DISABLED: "true" } }],
  ])("only totals in memory when metrics are off (%s)", (_, options: TelemetryOptions) => {
    const { telemetry, lines } = capture(options);
    telemetry.count(METRICS.failed, 3);
    telemetry.flush();
    expect(lines).toHaveLength(0);
    expect(telemetry.totals[METRICS.failed]).toBe(3);
  });

  it("refuses a namespace CloudWatch would reject, naming the variable", () => {
    expect(() => createTelemetry({ env: { POWERTOOLS_METRICS_NAMESPACE: "AWS/Lambda" } })).toThrow(
      /POWERTOOLS_METRICS_NAMESPACE "AWS\/Lambda" must not start with AWS\//,
    );
    expect(() => createTelemetry({ env: { POWERTOOLS_METRICS_NAMESPACE: "bad*name" } })).toThrow(
      /POWERTOOLS_METRICS_NAMESPACE/,
    );
  });
});

describe("JSON logs", () => {
  const lambdaEnv = {
    AWS_LAMBDA_FUNCTION_NAME: "bridge-worker",
    POWERTOOLS_SERVICE_NAME: "auth-email-bridge",
    _X_AMZN_TRACE_ID: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
  };

  it("carry level, message, timestamp, service, cold start, function name, request id and the correlation ids", () => {
    const { telemetry, parsed } = capture({ env: lambdaEnv });
    telemetry.beginInvocation({ awsRequestId: "req-1" });
    const child = telemetry.logger.createChild({
      persistentKeys: { svixId: "msg_1", clerkEmailId: "ema_1", userId: "user_1" },
    });
    child.info("email sent", { resendEmailId: "re_1" });
    telemetry.beginInvocation({ awsRequestId: "req-2" });
    telemetry.logger.warn("second", { svixId: "msg_2" });

    const [first, second] = parsed();
    expect(first).toEqual({
      level: "INFO",
      message: "email sent",
      timestamp: expect.any(String),
      service: "auth-email-bridge",
      cold_start: true,
      function_name: "bridge-worker",
      function_request_id: "req-1",
      xray_trace_id: "1-5759e988-bd862e3fe1be46a994272793",
      svixId: "msg_1",
      clerkEmailId: "ema_1",
      userId: "user_1",
      resendEmailId: "re_1",
    });
    expect(Math.abs(Date.parse(String(first?.timestamp)) - Date.now())).toBeLessThan(5_000);
    expect(second).toMatchObject({
      level: "WARN",
      cold_start: false,
      function_request_id: "req-2",
      svixId: "msg_2",
    });
    expect(second).not.toHaveProperty("clerkEmailId");
  });

  it("keep the logger's own keys from being overwritten and serialise errors", () => {
    const { telemetry, parsed } = capture();
    telemetry.logger.error("boom", { level: "DEBUG", message: "other", err: new TypeError("bad input") });
    const [line] = parsed();
    expect(line).toMatchObject({
      level: "ERROR",
      message: "boom",
      err: { name: "TypeError", message: "bad input" },
    });
  });

  it("keep the line when an attribute cannot be serialised", () => {
    const { telemetry, parsed } = capture();
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    telemetry.logger.info("with a cycle", { cycle });
    expect(parsed()[0]).toMatchObject({
      level: "INFO",
      message: "with a cycle",
      log_error: expect.any(String),
    });
  });

  it("drop lines below the level", () => {
    const { telemetry, parsed } = capture({ env: { POWERTOOLS_LOG_LEVEL: "warn" } });
    telemetry.logger.debug("d");
    telemetry.logger.info("i");
    telemetry.logger.warn("w");
    telemetry.logger.error("e");
    expect(parsed().map((l) => l.message)).toEqual(["w", "e"]);
    const silent = capture({ logLevel: "SILENT" });
    silent.telemetry.logger.error("e");
    expect(silent.lines).toHaveLength(0);
  });

  it("take the level from POWERTOOLS_LOG_LEVEL, then LOG_LEVEL, and a stricter AWS_LAMBDA_LOG_LEVEL over both", () => {
    expect(resolveLogLevel(undefined, {})).toEqual({ level: "INFO" });
    expect(resolveLogLevel(undefined, { POWERTOOLS_LOG_LEVEL: "DEBUG", LOG_LEVEL: "ERROR" })).toEqual({
      level: "DEBUG",
    });
    expect(resolveLogLevel(undefined, { LOG_LEVEL: "error" })).toEqual({ level: "ERROR" });
    expect(
      resolveLogLevel(undefined, { POWERTOOLS_LOG_LEVEL: "DEBUG", AWS_LAMBDA_LOG_LEVEL: "WARN" }),
    ).toEqual({
      level: "WARN",
    });
    expect(resolveLogLevel("DEBUG", { AWS_LAMBDA_LOG_LEVEL: "INFO" })).toEqual({ level: "INFO" });
    // A more verbose Lambda level does not make the function chattier than it was configured.
    expect(
      resolveLogLevel(undefined, { POWERTOOLS_LOG_LEVEL: "ERROR", AWS_LAMBDA_LOG_LEVEL: "DEBUG" }),
    ).toEqual({
      level: "ERROR",
    });
  });

  it("warn once, naming the variable, about an unknown level and log at INFO", () => {
    const { telemetry, parsed } = capture({ env: { POWERTOOLS_LOG_LEVEL: "LOUD" } });
    telemetry.logger.debug("hidden");
    telemetry.logger.info("shown");
    const lines = parsed();
    expect(lines.map((l) => l.message)).toEqual([
      expect.stringContaining('POWERTOOLS_LOG_LEVEL "LOUD"'),
      "shown",
    ]);
    expect(lines[0]?.level).toBe("WARN");
  });

  it("report a provisioned-concurrency start as warm", () => {
    const { telemetry, parsed } = capture({
      env: { AWS_LAMBDA_INITIALIZATION_TYPE: "provisioned-concurrency" },
    });
    telemetry.beginInvocation({ awsRequestId: "r" });
    telemetry.logger.info("x");
    expect(parsed()[0]?.cold_start).toBe(false);
  });
});
