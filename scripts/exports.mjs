#!/usr/bin/env node
// package.json's "exports", generated from the list of entries (scripts/entries.mjs).
//   node scripts/exports.mjs          (npm run entries)        writes "exports" into package.json
//   node scripts/exports.mjs --check  (npm run check:entries)  fails if package.json differs
// Writing replaces the text of "exports" only; the rest of package.json is left as it is. The
// check also makes sure that every source in the list exists and that every ./dist/ file the rest
// of package.json names (main, module, types, unpkg, jsdelivr, bin, imports) is one the list builds.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { builtFiles, entries, exportsMap } from "./entries.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const file = join(root, "package.json");
const text = readFileSync(file, "utf8");
const pkg = JSON.parse(text);
const wanted = exportsMap();
const check = process.argv.includes("--check");

/** `value` as package.json writes it at `depth` (two spaces a level, as npm writes it). */
const format = (value, depth) =>
  JSON.stringify(value, null, 2).replaceAll("\n", `\n${"  ".repeat(depth)}`);

/** Where the value of top-level `key` starts and ends in package.json's text. */
function span(key) {
  const start = text.indexOf(`\n  ${JSON.stringify(key)}: `);
  if (start < 0) return undefined;
  const from = start + `\n  ${JSON.stringify(key)}: `.length;
  // Its value is an object that closes at the first line holding "}" at two spaces of indent.
  const close = /\n {2}\}(,?)\n/g;
  close.lastIndex = from;
  const end = close.exec(text);
  return end ? [from, end.index + "\n  }".length] : undefined;
}

const problems = [];
for (const { name, src } of entries) {
  if (!existsSync(join(root, src))) problems.push(`entry "${name}": ${src} does not exist`);
}
const built = builtFiles();
const named = [];
const collect = (where, value) => {
  if (typeof value === "string") {
    if (value.startsWith("./dist/")) named.push([where, value]);
  } else if (value && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) collect(`${where}.${key}`, inner);
  }
};
for (const field of ["main", "module", "types", "unpkg", "jsdelivr", "bin", "imports"]) {
  collect(
    field,
    typeof pkg[field] === "string" ? `./${pkg[field].replace(/^\.\//, "")}` : pkg[field],
  );
}
for (const [where, path] of named) {
  if (!built.has(path)) problems.push(`package.json ${where} names ${path}, which no entry builds`);
}

const inSync = JSON.stringify(pkg.exports) === JSON.stringify(wanted);
if (check) {
  if (!inSync) {
    const have = pkg.exports ?? {};
    const subpaths = [...new Set([...Object.keys(have), ...Object.keys(wanted)])];
    const differ = subpaths.filter((s) => JSON.stringify(have[s]) !== JSON.stringify(wanted[s]));
    problems.push(
      `package.json "exports" is not what scripts/entries.mjs generates (${differ.length ? `differs at ${differ.join(", ")}` : "same subpaths, another order"}).\n` +
        "  Edit the list in scripts/entries.mjs, not package.json, then run `npm run entries` to rewrite it.",
    );
  }
} else if (!inSync) {
  const at = span("exports");
  if (!at) {
    problems.push('package.json has no top-level "exports" object to replace');
  } else {
    const next = text.slice(0, at[0]) + format(wanted, 1) + text.slice(at[1]);
    if (JSON.stringify(JSON.parse(next).exports) !== JSON.stringify(wanted)) {
      throw new Error('could not replace "exports" in package.json: edit it by hand');
    }
    writeFileSync(file, next);
    console.log(
      `package.json "exports" written from scripts/entries.mjs (${Object.keys(wanted).length} subpaths)`,
    );
  }
} else {
  console.log('package.json "exports" already matches scripts/entries.mjs');
}

for (const problem of problems) console.error(`check:entries: ${problem}`);
if (problems.length > 0) process.exit(1);
if (check)
  console.log(
    `check:entries: package.json "exports" matches scripts/entries.mjs (${entries.length} entries)`,
  );
