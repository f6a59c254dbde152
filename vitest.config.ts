import { defineConfig } from "vitest/config";

/**
 * Test configuration: integration tests under test/, unit specs beside the code. One private
 * Redis and Postgres serve the whole run (test/support/global-setup.ts); each test file runs
 * in its own forked process.
 */
export default defineConfig({
  test: {
    include: [
      "test/**/*.test.ts",
      "server/**/*.spec.ts",
      "worker/**/*.spec.ts",
      "wire/**/*.spec.ts",
      "clients/ts/**/*.spec.ts",
      "clients/web/**/*.spec.ts",
      "clients/cli/**/*.spec.ts",
      "bench/**/*.spec.ts",
      "tools/**/*.spec.ts",
    ],
    globalSetup: ["test/support/global-setup.ts", "test/support/build-cli.ts"],
    pool: "forks",
    // Lets memory tests collect garbage before they measure the heap.
    execArgv: ["--expose-gc"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
