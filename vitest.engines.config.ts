import { defineConfig } from "vitest/config";

// `npm run test:engines`: the browser tests in Firefox ESR and WebKitGTK (test/engines/), driven
// from Node. Needs dist/ (`npm run build`, which `npm test` runs first). The engines run one after
// the other: each is a whole browser, and the machine has two cores.
export default defineConfig({
  test: {
    name: "engines",
    include: ["test/engines/**/*.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ["default", ["json", { outputFile: "test-results/engines.json" }]],
  },
});
