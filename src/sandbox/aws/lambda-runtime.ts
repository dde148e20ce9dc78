/**
 * The code each Lambda execution environment runs: a worker thread that imports the function's ESM
 * bundle once (cold start), then serves invocations one at a time, as the Node.js runtime does.
 *
 * It is plain JavaScript evaluated by `new Worker(source, { eval: true })` so it needs no build step
 * and no TypeScript loader in the worker.
 *
 * The nodejs24.x runtime provides the AWS SDK v3 (`/var/runtime/node_modules`), and bundles leave it
 * external. A resolve hook gives the worker the same: `@aws-sdk/*` and `@smithy/*` imports the bundle
 * cannot resolve from its own directory resolve from the host project's node_modules. Any other
 * unbundled import fails, as it would in Lambda.
 */
export const LAMBDA_RUNTIME_SOURCE = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const { pathToFileURL } = require("node:url");
const { registerHooks } = require("node:module");

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      if (/^@(aws-sdk|smithy)\//.test(specifier)) {
        return nextResolve(specifier, { ...context, parentURL: workerData.runtimeModulesFrom });
      }
      throw err;
    }
  },
});

let loading;
function loadHandler() {
  loading ??= import(pathToFileURL(workerData.bundleFile).href).then(
    (mod) => {
      const fn = mod[workerData.exportName];
      if (typeof fn !== "function") {
        throw Object.assign(new Error(workerData.handler + " is undefined or not exported"), {
          lambdaErrorType: "Runtime.HandlerNotFound",
        });
      }
      return fn;
    },
    (err) => {
      throw Object.assign(err instanceof Error ? err : new Error(String(err)), {
        lambdaErrorType: "Runtime.ImportModuleError",
      });
    },
  );
  return loading;
}

function describeError(err) {
  const error = err instanceof Error ? err : new Error(String(err));
  return {
    errorType: error.lambdaErrorType ?? error.name ?? "Error",
    errorMessage: error.message,
    trace: String(error.stack ?? "").split("\n"),
  };
}

parentPort.on("message", async (msg) => {
  const context = {
    functionName: workerData.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: workerData.functionArn,
    memoryLimitInMB: String(workerData.memoryMb),
    awsRequestId: msg.requestId,
    logGroupName: workerData.logGroupName,
    logStreamName: workerData.logStreamName,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, msg.deadline - Date.now()),
  };
  try {
    const handler = await loadHandler();
    const result = await handler(JSON.parse(msg.eventJson), context);
    // Lambda serializes the result as JSON; undefined becomes null.
    const payload = result === undefined ? "null" : JSON.stringify(result);
    parentPort.postMessage({ id: msg.id, ok: true, payload });
  } catch (err) {
    parentPort.postMessage({ id: msg.id, ok: false, error: describeError(err) });
  }
});
`;
