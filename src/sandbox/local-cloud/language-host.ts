import * as pulumi from "@pulumi/pulumi";

/**
 * Runs a Pulumi program the way Pulumi's Node language host does. An error thrown in an `apply` (a record
 * shape the stack does not expect) surfaces as unhandled rejections of the registrations that depend on
 * it, and the language host ends the run with it; here it rejects the run with that error instead of
 * leaving it waiting for outputs that never come. The process's other handlers (a test runner's) are set
 * aside meanwhile and come back afterwards. `until`: other ways the run ends (a failed resource, a timeout).
 */
export async function asLanguageHost<T>(run: () => Promise<T>, until: Promise<never>[] = []): Promise<T> {
  const others = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  let programFailed = false;
  let fail: (reason: unknown) => void = () => undefined;
  const failure = new Promise<never>((_, reject) => {
    fail = reject;
  });
  process.on("unhandledRejection", (reason) => {
    programFailed = true;
    fail(reason);
  });
  try {
    return await Promise.race([run(), failure, ...until]);
  } finally {
    if (programFailed) {
      // The registrations still in flight settle (and reject) while this handler still takes them.
      const ended = until.map((p) => p.catch(() => undefined));
      await Promise.race([pulumi.runtime.disconnect().catch(() => undefined), ...ended]);
    }
    process.removeAllListeners("unhandledRejection");
    for (const handler of others) process.on("unhandledRejection", handler);
  }
}
