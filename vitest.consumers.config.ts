import { defineConfig } from "vitest/config";

// The consumer matrix (test/consumers/): the packed tarball installed into scratch apps, built and
// run as users do. Builds are heavy and share 2 cores, so files run one at a time.
export default defineConfig({
  test: {
    name: "consumers",
    include: ["test/consumers/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/consumers/setup.ts"],
    fileParallelism: false,
    testTimeout: 5 * 60_000,
    hookTimeout: 10 * 60_000,
    reporters: ["default", ["json", { outputFile: "test-results/consumers.json" }]],
  },
});
