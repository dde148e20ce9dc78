import { describe, it } from "vitest";
import { findPulumiTools } from "../../src/sandbox/engine/pulumi-cli";

/** The CLI folder from scripts/pulumi-tools.sh, looked up once per test file. */
export const pulumiToolsBin = findPulumiTools();

/**
 * `describe` for tests that run the real Pulumi engine. Without a CLI they are skipped on a developer machine
 * (say so: `scripts/pulumi-tools.sh` builds one), but on CI (`CI=true`, set by .ci/run after it built the CLI)
 * a missing CLI fails: the real engine is the only proof of state, diff, update and destroy.
 */
export function describeWithEngine(name: string, body: (toolsBin: string) => void): void {
  if (pulumiToolsBin) {
    describe(name, () => body(pulumiToolsBin));
    return;
  }
  if (process.env.CI === "true") {
    describe(name, () => {
      it("has the Pulumi CLI", () => {
        throw new Error("no Pulumi CLI: .ci/run builds it with scripts/pulumi-tools.sh before the tests");
      });
    });
    return;
  }
  describe.skip(`${name} (no Pulumi CLI: run scripts/pulumi-tools.sh)`, () => body(""));
}
