// The pages the Firefox and WebKit runs load: the browser test files bundled by esbuild with the
// in-page harness in vitest's place (page/vitest.ts), one page per file, served over HTTP from
// 127.0.0.1 (a secure context: WebCrypto, Web Locks), with the script-tag build from dist/.
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { build, type Plugin } from "esbuild";

/** The test files each engine runs, by the label they are reported under. */
export const testFiles: Record<string, string> = {
  // First: the harness itself, with tests that must fail (engines.ts checks the outcome).
  "harness-check": "test/engines/page/harness-check.ts",
  "webstorage.browser.test.ts": "test/stores/webstorage.browser.test.ts",
  "indexeddb.browser.test.ts": "test/stores/indexeddb.browser.test.ts",
  "vault.browser.test.ts": "test/vault.browser.test.ts",
  "tabs.browser.test.ts": "test/tabs.browser.test.ts",
  "jwe.any.test.ts": "test/crypto/jwe.any.test.ts",
  // Not asked of every engine, but cheap: the manager on the engine's own timers and WebCrypto.
  // (environment.browser.test.ts checks for Chromium's user agent, so it stays Chromium's.)
  "manager.browser.test.ts": "test/manager.browser.test.ts",
  "memory.browser.test.ts": "test/stores/memory.browser.test.ts",
  // The checks of test/package/script-tag.e2e.test.ts, in the page that loads dist/ by <script src>.
  "script-tag": "test/engines/page/script-tag.ts",
};

/** Pages that are not test files: one tab of the two-window test. */
const pageModules: Record<string, string> = { tab: "test/engines/page/tab.ts" };

export const bundlePath = resolve("dist/sessionmanager.global.js");

const harness = resolve("test/engines/page/vitest.ts");

/** A test file's entry: its tests collected by the import, then run. */
function testEntry(file: string): string {
  return [
    `import ${JSON.stringify(`engine-test:${resolve(file)}`)};`,
    `import { runCollected } from ${JSON.stringify(harness)};`,
    "runCollected();",
  ].join("\n");
}

/** "vitest" is the harness, `#backends` what a page's bundler picks (package.json `imports`). */
const pagePlugin: Plugin = {
  name: "engine-pages",
  setup(esbuild) {
    esbuild.onResolve({ filter: /^vitest$/ }, () => ({ path: harness }));
    esbuild.onResolve({ filter: /^#backends$/ }, () => ({
      path: resolve("src/stores/browser-backends.ts"),
    }));
    // package.json says `"sideEffects": false`, which would let esbuild drop a test file imported
    // only for what it registers.
    esbuild.onResolve({ filter: /^engine-test:/ }, (args) => ({
      path: args.path.slice("engine-test:".length),
      sideEffects: true,
    }));
    esbuild.onResolve({ filter: /^engine-entry:/ }, (args) => ({
      path: args.path.slice("engine-entry:".length),
      namespace: "engine-entry",
    }));
    esbuild.onLoad({ filter: /.*/, namespace: "engine-entry" }, (args) => ({
      contents: testEntry(args.path),
      resolveDir: resolve("."),
      loader: "ts",
    }));
  },
};

/** Every page's script, by page name. */
async function bundle(): Promise<Map<string, string>> {
  const entryPoints: Record<string, string> = {};
  for (const [label, file] of Object.entries(testFiles))
    entryPoints[label] = `engine-entry:${file}`;
  for (const [name, file] of Object.entries(pageModules)) entryPoints[name] = resolve(file);
  const result = await build({
    entryPoints,
    bundle: true,
    format: "esm",
    platform: "browser",
    // What the oldest engine tested here runs; the library's own target is checked elsewhere.
    target: "es2022",
    outdir: "engine-pages",
    write: false,
    logLevel: "silent",
    define: { "process.env.NODE_ENV": '"test"' },
    plugins: [pagePlugin],
  });
  const scripts = new Map<string, string>();
  for (const file of result.outputFiles) {
    const name = file.path.slice(file.path.lastIndexOf("/") + 1, -".js".length);
    scripts.set(name, file.text);
  }
  return scripts;
}

// Errors the page throws outside a test (a bundle that fails to load) are kept for the Node side.
const errorCatcher = `<script>
  window.__pageErrors = [];
  addEventListener("error", (e) => __pageErrors.push(String(e.message)));
  addEventListener("unhandledrejection", (e) => __pageErrors.push("unhandled rejection: " + String(e.reason && e.reason.message || e.reason)));
</script>`;

function html(name: string): string {
  const global = name === "script-tag" ? '<script src="/sessionmanager.global.js"></script>' : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${name}</title><link rel="icon" href="data:,">
${errorCatcher}
${global}
<script type="module" src="/bundle/${encodeURIComponent(name)}.js"></script>
</head><body><h1>${name}</h1></body></html>`;
}

export interface PageServer {
  /** http://127.0.0.1:port */
  origin: string;
  close(): Promise<void>;
}

/** Bundles the pages and serves them: `/page/<name>`. Fails if dist/ was not built. */
export async function servePages(): Promise<PageServer> {
  if (!existsSync(bundlePath)) {
    throw new Error(`${bundlePath} is missing: run \`npm run build\` (or \`npm test\`) first`);
  }
  const globalBuild = readFileSync(bundlePath);
  const scripts = await bundle();
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const page = /^\/page\/([\w.-]+)$/.exec(url.pathname)?.[1];
    const script = /^\/bundle\/([\w.-]+)\.js$/.exec(url.pathname)?.[1];
    if (page && scripts.has(page)) {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html(page));
    } else if (script && scripts.has(script)) {
      response
        .writeHead(200, { "content-type": "text/javascript; charset=utf-8" })
        .end(scripts.get(script));
    } else if (url.pathname === "/sessionmanager.global.js") {
      response
        .writeHead(200, { "content-type": "text/javascript; charset=utf-8" })
        .end(globalBuild);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((done, fail) => server.once("error", fail).listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
