// Where the real Chromium is, how to launch it, and what to do when it is missing: shared by
// vitest.config.ts (the `chromium` project) and the Node-side end-to-end tests (`*.e2e.test.ts`).
// Node-only (node:fs): never import this from a test that runs in the browser.
import { existsSync } from "node:fs";
import { chromiumPath } from "./chromium.mjs";

export { chromiumArgs, chromiumPath } from "./chromium.mjs";

/** Whether a Chromium is installed at `chromiumPath`. */
export const chromiumFound: boolean = existsSync(chromiumPath);

/** With `REQUIRE_SERVICES=1` (CI) a missing Chromium fails the browser tests instead of skipping them. */
export const chromiumRequired: boolean = process.env.REQUIRE_SERVICES === "1";

/** The one-line warning printed when the browser tests are skipped. */
export const chromiumMissingMessage: string =
  `Chromium not found at ${chromiumPath}: browser tests skipped ` +
  "(install it with `apt-get install chromium` or set CHROMIUM_PATH; REQUIRE_SERVICES=1 makes this a failure)";
