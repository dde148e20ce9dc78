import { defineConfig } from "vitest/config";

// The real-engine tests (test/engine): the Pulumi CLI built by scripts/pulumi-tools.sh deploying the program into
// the stand-ins. They run as their own step (`npm run test:engine`, after `npm test` in .ci/run), with their own
// time budget: each deployment takes tens of seconds.
export default defineConfig({
  test: {
    include: ["test/engine/**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: "forks",
  },
});
