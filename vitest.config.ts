import { defineConfig } from "vitest/config";

// The core must behave the same in a page as in Node: the manager, scheduler and event tests run
// twice, in Node and in happy-dom (a DOM-like global scope whose timers are plain numbers).
const core = [
  "test/manager.test.ts",
  "test/scheduler.test.ts",
  "test/events.test.ts",
  "test/concurrency.test.ts",
];

export default defineConfig({
  test: {
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      reporter: ["text-summary", "text", "json-summary"],
      reportsDirectory: "coverage",
    },
    projects: [
      { test: { name: "node", include: ["test/**/*.test.ts"], environment: "node" } },
      { test: { name: "happy-dom", include: core, environment: "happy-dom" } },
    ],
  },
});
