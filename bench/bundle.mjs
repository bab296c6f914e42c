// Section 5: gzip size of what a browser user ships: the ESM import of SessionManager with the
// memory store (bundled and minified by esbuild, as size-limit's preset does) and the IIFE build.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { table } from "./lib/table.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ENTRY = [
  'import { SessionManager } from "./dist/index.js";',
  'import { memoryStore } from "./dist/stores/memory.js";',
  "export { SessionManager, memoryStore };",
].join("\n");

// Stores named by string and encryption load with import() on first use: a page pays for them
// only then, so the eager size leaves dynamic imports out (as .size-limit.cjs does).
const eagerOnly = {
  name: "dynamic-imports-load-later",
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) =>
      args.kind === "dynamic-import" ? { path: args.path, external: true } : undefined,
    );
  },
};

const gzip = (bytes) => gzipSync(bytes, { level: 9 }).length;
const kB = (bytes) => `${(bytes / 1000).toFixed(2)} kB`;

async function esmImportSize(plugins) {
  const out = await build({
    stdin: { contents: ENTRY, resolveDir: root, sourcefile: "bench-entry.js" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "silent",
    plugins,
  });
  const code = out.outputFiles[0].contents;
  return { minified: code.length, gzip: gzip(code) };
}

/**
 * Where the bytes come from: the same bundle built from src/ (esbuild reads the .ts files) with
 * a metafile, as minified bytes per source file. Informational; skipped if src/ does not build.
 */
async function sourceBreakdown() {
  try {
    const contents = ENTRY.replace("./dist/index.js", "./src/index.ts").replace(
      "./dist/stores/memory.js",
      "./src/stores/memory.ts",
    );
    const out = await build({
      stdin: { contents, resolveDir: root, sourcefile: "bench-entry.js" },
      ...{ bundle: true, minify: true, format: "esm", platform: "browser" },
      ...{ write: false, metafile: true, logLevel: "silent", plugins: [eagerOnly] },
    });
    const [output] = Object.values(out.metafile.outputs);
    return Object.entries(output.inputs)
      .map(([file, { bytesInOutput }]) => [file.replace(/^node_modules\//, ""), bytesInOutput])
      .filter(([, bytes]) => bytes > 0)
      .sort((a, b) => b[1] - a[1]);
  } catch {
    return [];
  }
}

function iifeSize() {
  const code = readFileSync(join(root, "dist/sessionmanager.global.js"));
  return { minified: code.length, gzip: gzip(code) };
}

export async function runBundle() {
  const esm = await esmImportSize([eagerOnly]);
  const all = await esmImportSize([]);
  const iife = iifeSize();
  const breakdown = await sourceBreakdown();
  const parts = breakdown.map(([file, bytes]) => `${file} ${bytes}`).join(", ");
  console.log(
    table(
      "5. Bundle size (gzip level 9; kB = 1000 bytes, as size-limit)",
      ["artifact", "minified", "gzip", "gzip bytes"],
      [
        ["ESM { SessionManager } + { memoryStore }", kB(esm.minified), kB(esm.gzip), esm.gzip],
        ["  the same with its lazy imports", kB(all.minified), kB(all.gzip), all.gzip],
        ["dist/sessionmanager.global.js (IIFE)", kB(iife.minified), kB(iife.gzip), iife.gzip],
      ],
      [
        "ESM: esbuild bundle of dist/index.js + dist/stores/memory.js with dependencies from",
        '  node_modules, minify, format "esm", platform "browser", lazy import()s left out',
        "  (named stores, encryption: loaded on first use). Target: <= 3.00 kB gzip.",
        ...(parts ? [`minified bytes by source file (same entry built from src/): ${parts}`] : []),
      ],
    ),
  );
  return { esm, esmWithLazy: all, iife, minifiedBytesBySource: Object.fromEntries(breakdown) };
}
