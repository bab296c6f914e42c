import { fileURLToPath } from "node:url";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import vue from "@vitejs/plugin-vue";
import { playwright } from "@vitest/browser-playwright";
import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from "vitest/config";
import {
  chromiumArgs,
  chromiumFound,
  chromiumMissingMessage,
  chromiumPath,
  chromiumRequired,
} from "./test/helpers/chromium.ts";

// test/ mirrors src/, and a test file's name says the runtime it needs; each project below
// selects files by that suffix alone, wherever they are:
//   *.test.ts           Node
//   *.services.test.ts  Node, and PostgreSQL, Redis or Memcached (skipped when absent, unless
//                       REQUIRE_SERVICES=1)
//   *.e2e.test.ts       Node driving a real Chromium with playwright-core; needs dist/
//   *.dom.test.ts       happy-dom: a DOM-like global scope (window, document, Web Storage)
//   *.browser.test.ts   a real headless Chromium page (vitest's browser mode, driven by Playwright)
//   *.any.test.ts       runtime-neutral code that must behave the same everywhere: Node, happy-dom
//                       (whose timers are plain numbers) and Chromium
// test/consumers/ and test/engines/ have their own commands and configs.
const suffixed = (suffix: string) => `test/**/*.${suffix}.test.ts`;
const services = suffixed("services");
const e2e = suffixed("e2e");
const dom = suffixed("dom");
const browser = suffixed("browser");
const any = suffixed("any");
const elsewhere = ["test/consumers/**", "test/engines/**"];

// Without Chromium the project is left out with a warning, unless REQUIRE_SERVICES=1 (CI): then it
// stays in and fails to launch, which fails the run.
const chromium: TestProjectInlineConfiguration = {
  // Components of the binding tests (test/svelte/*.svelte, test/vue/*.vue), compiled as an app's
  // Vite build compiles them.
  plugins: [svelte(), vue()],
  // Pre-bundled before the first test: found mid-run, Vite would re-optimize and reload the page
  // under whichever test was running.
  optimizeDeps: {
    include: [
      "react",
      "react-dom/client",
      "react-dom/server",
      "vue",
      "vue/server-renderer",
      "svelte",
      "svelte/store",
    ],
  },
  // As a page's bundler resolves `#backends` (package.json `imports`): no Node store.
  resolve: {
    alias: {
      "#backends": fileURLToPath(new URL("src/stores/browser-backends.ts", import.meta.url)),
    },
  },
  test: {
    name: "chromium",
    include: [browser, any],
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

/** A project of Node-side tests. */
const inNode = (name: string, include: string[], exclude: string[] = []) => ({
  resolve: nodeBackends,
  test: {
    name,
    include,
    exclude: [...configDefaults.exclude, ...elsewhere, ...exclude],
    environment: "node" as const,
  },
});

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
      inNode("node", ["test/**/*.test.ts"], [services, e2e, dom, browser]),
      inNode("services", [services]),
      inNode("e2e", [e2e]),
      {
        resolve: nodeBackends,
        test: { name: "happy-dom", include: [dom, any], environment: "happy-dom" },
      },
      ...(chromiumFound || chromiumRequired ? [chromium] : []),
    ],
  },
});
