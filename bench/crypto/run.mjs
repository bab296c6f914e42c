// Encryption at rest: what src/crypto/jwe.ts costs over raw WebCrypto, and what it weighs.
//   npm run bench:crypto   (node bench/crypto/run.mjs [iterations])
// Self-contained: esbuild bundles src/crypto/jwe.ts into a temporary directory (no `npm run build`
// needed: the module measured is internal, not an entry of dist/). Per iteration, in one loop and in alternating order so that both see the same machine:
//   jwe    encryptData + decryptData (JSON.stringify, UTF-8, header, base64url, AES-GCM, parse)
//   raw    a fresh IV + AES-GCM encrypt + decrypt of the same, already encoded, JSON bytes
//   raw+   raw plus JSON.stringify/TextEncoder before and TextDecoder/JSON.parse after
//   floor  raw+ with the JWE header as AES-GCM additional data: what any dir/A256GCM JWE must do
//   jose   jose's CompactEncrypt + compactDecrypt (informational)
// Medians in µs, in Node and then in Chromium (the loop: cases.mjs; the page: page.js). Target:
// jwe / raw <= 1.3 (in a browser). Then gzip -9 sizes of the module bundled alone.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { CompactEncrypt, compactDecrypt } from "jose";
import { chromiumArgs, chromiumPath } from "../../test/helpers/chromium.mjs";
import { bundlePage, serveAndLaunch } from "../lib/browser.mjs";
import { measure, newKey, payload } from "./cases.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const ITERATIONS = Number(process.argv[2] ?? 2000);
const WARMUP = 300;

async function bundle(entry, options = {}) {
  const out = await build({
    ...entry,
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "silent",
    ...options,
  });
  return out.outputFiles[0].contents;
}

async function loadJwe() {
  const dir = mkdtempSync(join(tmpdir(), "sessionmanager-bench-crypto-"));
  try {
    const code = await bundle({ entryPoints: [join(root, "src/crypto/jwe.ts")] });
    const file = join(dir, "jwe.mjs");
    writeFileSync(file, code);
    return await import(pathToFileURL(file).href);
  } finally {
    // Once imported, the module no longer needs its file.
    rmSync(dir, { recursive: true, force: true });
  }
}

const SIZES = [64, 4096];

function print(title, rows) {
  console.log(`\n${title}`);
  console.log(
    "data      json B   jwe      raw      raw+     floor    jose     jwe/raw  jwe/raw+ jwe/floor jwe/jose",
  );
  for (const [size, m] of rows) {
    const cell = (v) => v.toFixed(1).padEnd(9);
    const ratio = (a, b) => `${(a / b).toFixed(2)}×`.padEnd(9);
    console.log(
      `${size === 64 ? "small" : "4 KB"}`.padEnd(10) +
        String(JSON.stringify(payload(size)).length).padEnd(9) +
        cell(m.jwe) +
        cell(m.raw) +
        cell(m["raw+"]) +
        cell(m.floor) +
        cell(m.jose) +
        ratio(m.jwe, m.raw) +
        ratio(m.jwe, m["raw+"]) +
        ratio(m.jwe, m.floor).padEnd(10) +
        ratio(m.jwe, m.jose),
    );
  }
}

/** The same loop in a Chromium page (the target is for browsers); skipped without one. */
async function inChromium() {
  if (!existsSync(chromiumPath)) {
    console.log(`\nChromium: not measured (${chromiumPath} is missing)`);
    return;
  }
  const script = await bundlePage(join(here, "page.js"));
  const { url, browser, stop } = await serveAndLaunch({
    html: '<!doctype html><script type="module" src="/page.js"></script>',
    scriptPath: "/page.js",
    script,
    args: chromiumArgs,
    isolated: true,
  });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => window.bench);
    if (!(await page.evaluate(() => window.isolated()))) throw new Error("page not isolated");
    const rows = [];
    for (const size of SIZES) {
      const m = await page.evaluate(
        ([s, n, w]) => window.bench(s, n, w),
        [size, ITERATIONS, WARMUP],
      );
      rows.push([size, m]);
    }
    print(
      `encrypt+decrypt round-trip in Chromium ${browser.version()}, median µs over ${ITERATIONS} samples of 10`,
      rows,
    );
  } finally {
    await stop();
  }
}

const jwe = await loadJwe();
const jose = { CompactEncrypt, compactDecrypt };
const key = await newKey();
const rows = [];
for (const size of SIZES) {
  const data = payload(size);
  rows.push([
    size,
    await measure({ jwe, jose, key, data, iterations: ITERATIONS, warmup: WARMUP }),
  ]);
}
print(
  `encrypt+decrypt round-trip in Node ${process.version}, median µs over ${ITERATIONS} iterations`,
  rows,
);
await inChromium();

const gzip = (code) => gzipSync(code, { level: 9 }).length;
const sizes = [
  ["src/crypto/jwe.ts", { entryPoints: [join(root, "src/crypto/jwe.ts")] }],
  ["src/crypto/keys.ts", { entryPoints: [join(root, "src/crypto/keys.ts")] }],
  [
    "jose compactDecrypt + CompactEncrypt",
    {
      stdin: {
        contents: 'export { compactDecrypt, CompactEncrypt } from "jose";',
        resolveDir: root,
        sourcefile: "jose-entry.js",
      },
    },
  ],
];
console.log("\nbundled alone, esbuild --bundle --minify --format=esm, gzip -9 bytes");
for (const [name, entry] of sizes) {
  const code = await bundle(entry, { minify: true });
  console.log(`${name.padEnd(40)}${String(gzip(code)).padStart(6)}`);
}
