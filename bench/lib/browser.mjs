// What the browser benchmarks need: a page and one script served on 127.0.0.1 (a free port; a
// secure context for WebCrypto and IndexedDB), Debian's Chromium, launched headless, and the
// page's script bundled with esbuild.
import { createServer } from "node:http";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { chromiumPath } from "../../test/helpers/chromium.mjs";

/**
 * Serves `html` at every path but `scriptPath`, which serves `script`; launches Chromium with
 * `args`. With `isolated`, the page is cross-origin isolated, which gives `performance.now()`
 * 5 µs steps rather than 100 µs. Resolves to `{ url, browser, stop }`; `stop()` closes both.
 */
export async function serveAndLaunch({ html, scriptPath, script, args, isolated = false }) {
  const isolation = isolated
    ? {
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-embedder-policy": "require-corp",
      }
    : {};
  const server = createServer((request, response) => {
    const js = request.url === scriptPath;
    response.writeHead(200, {
      "content-type": js ? "text/javascript" : "text/html",
      ...isolation,
    });
    response.end(js ? script : html);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args });
  const stop = async () => {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  };
  return { url, browser, stop };
}

/**
 * `entry` (a page's module) bundled for the browser as one minified ES module, its text.
 * `options` go to esbuild (`target`, `plugins`).
 */
export async function bundlePage(entry, options = {}) {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "silent",
    minify: true,
    ...options,
  });
  return out.outputFiles[0].text;
}
