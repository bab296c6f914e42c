// Section 5: gzip size of what a browser user ships. Every budget of .size-limit.cjs (the same
// entries, built as size-limit builds them: esbuild, minified, ESM, gzip level 9), then other
// libraries of the kind bundled the same way in the same run, for scale.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { table } from "../lib/table.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const budgets = createRequire(import.meta.url)("../../.size-limit.cjs");

// Their main import, as a page would use it; measured only where installed (devDependencies).
const references = [
  ["idb-keyval { get, set, del, setMany }", 'export { get, set, del, setMany } from "idb-keyval";'],
  ["localforage", 'export { default } from "localforage";'],
  ["oidc-client-ts { UserManager }", 'export { UserManager } from "oidc-client-ts";'],
];

const gzip = (bytes) => gzipSync(bytes, { level: 9 }).length;
const kB = (bytes) => `${(bytes / 1000).toFixed(2)} kB`;
const bytesOf = (text) => Math.round(Number.parseFloat(text) * (/kB/.test(text) ? 1000 : 1));

async function bundle(contents, modify = (config) => config) {
  const out = await build(
    modify({
      stdin: { contents, resolveDir: root, sourcefile: "bench-entry.js" },
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      write: false,
      logLevel: "silent",
      plugins: [],
    }),
  );
  const code = Buffer.concat(out.outputFiles.map((file) => file.contents));
  return { minified: code.length, gzip: gzip(code) };
}

/** One budget: its entry re-exported and bundled, or (a file alone) the file as it is. */
function measure({ path, import: names, modifyEsbuildConfig }) {
  if (!names) {
    const code = readFileSync(join(root, path));
    return { minified: code.length, gzip: gzip(code) };
  }
  const files = typeof names === "string" ? { [path]: names } : names;
  const entry = Object.entries(files)
    .map(([file, list]) => `export ${list} from "./${file}";`)
    .join("\n");
  return bundle(entry, modifyEsbuildConfig);
}

export async function runBundle() {
  const measured = [];
  for (const budget of budgets) {
    const size = await measure(budget);
    const target = /target (\d+(?:\.\d+)?) kB/.exec(budget.name)?.[1];
    measured.push({
      name: budget.name.replace(/ \(.*\)$/, ""),
      ...size,
      limit: bytesOf(budget.limit),
      target: target === undefined ? undefined : Number(target) * 1000,
    });
  }
  const others = [];
  for (const [name, entry] of references) {
    try {
      others.push({ name, ...(await bundle(entry)) });
    } catch {
      others.push({ name, missing: true });
    }
  }
  const cell = (bytes) => (bytes === undefined ? "" : kB(bytes));
  console.log(
    table(
      "5. Bundle size (gzip level 9; kB = 1000 bytes, as size-limit)",
      ["artifact", "minified", "gzip", "CI limit", "target"],
      [
        ...measured.map((m) => [m.name, kB(m.minified), kB(m.gzip), kB(m.limit), cell(m.target)]),
        ...others.map((o) =>
          o.missing
            ? [`${o.name} (not installed)`, "", "", "", ""]
            : [`reference: ${o.name}`, kB(o.minified), kB(o.gzip), "", ""],
        ),
      ],
      [
        "budgets as in .size-limit.cjs (dist/ entries; what loads with import() is counted where",
        "  a page loads it); references: the package's main import bundled the same way",
      ],
    ),
  );
  return { budgets: measured, references: others };
}
