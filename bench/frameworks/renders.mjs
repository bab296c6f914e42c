// Part 1: re-renders in real Chromium. One page per framework (react-page.js, vue-page.js, bundled
// here with esbuild as an app would be, production builds), 100 components each on one session;
// each mode is run `rounds` times, alternating, and the medians of the rounds are kept.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromiumArgs } from "../../test/helpers/chromium.mjs";
import { bundlePage, serveAndLaunch } from "../lib/browser.mjs";
import { distPath } from "../lib/dist.mjs";

const here = dirname(fileURLToPath(import.meta.url));

const frameworks = {
  React: {
    page: "react-page.js",
    modes: [
      "no components",
      "useSession",
      "hand-wired, filtered",
      "hand-wired, filtered, flushSync",
      "hand-wired, reload",
    ],
    define: {},
  },
  Vue: {
    page: "vue-page.js",
    modes: ["useSession", "hand-wired, filtered", "hand-wired, reload"],
    define: {
      __VUE_OPTIONS_API__: "false",
      __VUE_PROD_DEVTOOLS__: "false",
      __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: "false",
    },
  },
};

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs every mode of `name` in one page; resolves to one row per mode. */
async function measureFramework(name, { touches, rounds }) {
  const { page: file, modes, define } = frameworks[name];
  const script = await bundlePage(join(here, file), {
    target: "es2022",
    // The pages import "sessionmanager-dist/…": the build measured (SESSIONMANAGER_DIST or dist/).
    alias: { "sessionmanager-dist": distPath(".").replace(/\/$/, "") },
    // A build outside the repository still finds react, vue and the package's dependencies here.
    nodePaths: [join(here, "..", "..", "node_modules")],
    define: { "process.env.NODE_ENV": '"production"', ...define },
  });
  const { url, browser, stop } = await serveAndLaunch({
    html: '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="/page.js"></script>',
    scriptPath: "/page.js",
    script,
    args: chromiumArgs,
    isolated: true,
  });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e));
    page.on("console", (m) => m.type() === "error" && errors.push(new Error(m.text())));
    await page.goto(url);
    await page.waitForFunction(() => typeof window.bench === "function", null, { timeout: 10_000 });
    const results = new Map(modes.map((mode) => [mode, []]));
    for (let round = 0; round < rounds; round++) {
      for (const mode of modes) {
        const result = await page.evaluate(([m, n]) => window.bench(m, n), [mode, touches]);
        results.get(mode).push(result);
      }
    }
    if (errors.length) throw errors[0];
    return modes.map((mode) => {
      const runs = results.get(mode);
      return {
        framework: name,
        mode,
        touches: touches * rounds,
        listeners: runs[0].listeners,
        componentsMin: Math.min(...runs.map((r) => r.componentsMin)),
        componentsMax: Math.max(...runs.map((r) => r.componentsMax)),
        rendersPerTouch: runs.reduce((sum, r) => sum + r.rendersPerTouch, 0) / runs.length,
        touchedRendered: runs.reduce((sum, r) => sum + r.touchedRendered, 0),
        touchMedian: median(runs.map((r) => r.touchMedian)),
        median: median(runs.map((r) => r.median)),
        p95: median(runs.map((r) => r.p95)),
      };
    });
  } finally {
    await stop();
  }
}

/** Both frameworks; a framework whose binding is missing or fails is reported, not fatal. */
export async function measureRenders({ touches = 200, rounds = 3, only } = {}) {
  const rows = [];
  const failures = [];
  for (const name of Object.keys(frameworks)) {
    if (only && !only.includes(name)) continue;
    try {
      rows.push(...(await measureFramework(name, { touches, rounds })));
    } catch (error) {
      // esbuild's errors say which import is missing (a binding not built yet).
      const text = error?.errors?.map((e) => e.text).join("; ") ?? String(error?.message ?? error);
      failures.push({ framework: name, error: text.split("\n")[0] });
    }
  }
  return { rows, failures };
}
