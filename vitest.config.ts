import { fileURLToPath } from "node:url";
import { playwright } from "@vitest/browser-playwright";
import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from "vitest/config";
import {
  chromiumArgs,
  chromiumFound,
  chromiumMissingMessage,
  chromiumPath,
  chromiumRequired,
} from "./test/e2e/chromium.ts";

// The core must behave the same in a page as in Node: the manager, scheduler and event tests run
// twice, in Node and in happy-dom (a DOM-like global scope whose timers are plain numbers).
const core = [
  "test/manager.test.ts",
  "test/scheduler.test.ts",
  "test/events.test.ts",
  "test/concurrency.test.ts",
];

// test/browser/ runs in a real headless Chromium (vitest's browser mode, driven by Playwright).
// Without Chromium the project is left out with a warning, unless REQUIRE_SERVICES=1 (CI): then it
// stays in and fails to launch, which fails the run.
const browser = "test/browser/**/*.test.ts";
// Tests that also run unchanged in Chromium (and stay in the node project): the JWE interop, tamper
// and fuzz cases check Chromium's WebCrypto and its native Uint8Array base64 methods too.
const bothNodeAndChromium = ["test/crypto/jwe.test.ts"];
const chromium: TestProjectInlineConfiguration = {
  // As a page's bundler resolves `#backends` (package.json `imports`): no Node store.
  resolve: {
    alias: {
      "#backends": fileURLToPath(new URL("src/stores/browser-backends.ts", import.meta.url)),
    },
  },
  test: {
    name: "chromium",
    include: [browser, ...bothNodeAndChromium],
    // Failure screenshots and attachments go with the other reports (git-ignored), not beside the tests.
    attachmentsDir: "test-results/attachments",
    browser: {
      enabled: true,
      headless: true,
      instances: [{ browser: "chromium" }],
      screenshotDirectory: "test-results/screenshots",
      provider: playwright({ launchOptions: { executablePath: chromiumPath, args: chromiumArgs } }),
    },
  },
};
if (!chromiumFound) {
  if (chromiumRequired) {
    console.error(`[vitest] ERROR: REQUIRE_SERVICES=1 and Chromium is missing at ${chromiumPath}`);
  } else console.warn(`[vitest] WARNING: ${chromiumMissingMessage}`);
}

// `#backends` as Node resolves it (package.json `imports`), from the sources rather than dist/.
const nodeBackends = {
  alias: { "#backends": fileURLToPath(new URL("src/stores/node-backends.ts", import.meta.url)) },
};

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
      {
        resolve: nodeBackends,
        test: {
          name: "node",
          include: ["test/**/*.test.ts"],
          // The consumer matrix and the Firefox/WebKit runs have their own commands and configs.
          exclude: [...configDefaults.exclude, browser, "test/consumers/**", "test/engines/**"],
          environment: "node",
        },
      },
      {
        resolve: nodeBackends,
        test: { name: "happy-dom", include: core, environment: "happy-dom" },
      },
      ...(chromiumFound || chromiumRequired ? [chromium] : []),
    ],
  },
});
