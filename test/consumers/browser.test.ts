// Pages: Vite and esbuild browser builds of a page with SessionManager and the IndexedDB store
// hold no Node code; their gzip sizes are printed. The core entry bundled into one file (no code
// splitting) with the IndexedDB store stays within 12 kB gzip.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, test } from "vitest";
import { filesUnder, gzipKb, holdsIndexedDBStore, nodeCodeIn } from "./helpers.ts";
import { run } from "./workspace.ts";

const workspace = inject("workspace");
const app = join(workspace, "apps", "browser");
const modules = join(workspace, "node_modules");
const scratch = mkdtempSync(join(tmpdir(), "sm-browser-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Bundles one page with esbuild for the browser, minified; returns the JavaScript it wrote. */
function esbuild(entry: string, outdir: string, splitting: boolean): string[] {
  const args = [entry, "--bundle", "--format=esm", "--platform=browser", "--minify"];
  if (splitting) args.push("--splitting");
  run("node", [join(modules, "esbuild", "bin", "esbuild"), ...args, `--outdir=${outdir}`], app);
  return filesUnder(outdir, [".js"]);
}

/** The output holds the page's store and no Node code; prints its gzip size. */
function expectBrowserOnly(name: string, files: string[]): number {
  expect(files.some(holdsIndexedDBStore), `${name}: the IndexedDB store is in the output`).toBe(
    true,
  );
  expect(nodeCodeIn(files), name).toEqual([]);
  const kb = gzipKb(files);
  console.log(`[consumers] ${name}: ${kb} kB gzip (${files.length} file(s))`);
  return kb;
}

describe("browser builds of a page with SessionManager and indexedDBStore", () => {
  test("Vite 8 build: no Node code", () => {
    const outDir = join(scratch, "vite");
    run("node", [join(modules, "vite", "bin", "vite.js"), "build", "--outDir", outDir], app);
    expectBrowserOnly("Vite, root entry (all chunks)", filesUnder(outDir, [".js"]));
  });

  test("esbuild with code splitting: no Node code", () => {
    const files = esbuild("src/page.js", join(scratch, "esbuild-split"), true);
    expectBrowserOnly("esbuild --splitting, root entry (all chunks)", files);
    const entry = files.filter((file) => file.endsWith("page.js"));
    console.log(
      `[consumers] esbuild --splitting, root entry (page.js alone): ${gzipKb(entry)} kB gzip`,
    );
  });

  test("esbuild into one file: no Node code", () => {
    const files = esbuild("src/page.js", join(scratch, "esbuild-one"), false);
    expect(files).toHaveLength(1);
    expectBrowserOnly("esbuild one file, root entry", files);
  });

  test("esbuild into one file through sessionmanager-js/core: ≤ 12 kB gzip", () => {
    const { exports } = JSON.parse(
      readFileSync(join(modules, "sessionmanager-js", "package.json"), "utf8"),
    );
    expect(exports["./core"], "the package has no sessionmanager-js/core entry").toBeDefined();
    const files = esbuild("src/core-page.js", join(scratch, "esbuild-core"), false);
    expect(files).toHaveLength(1);
    expect(expectBrowserOnly("esbuild one file, core entry", files)).toBeLessThanOrEqual(12);
  });
});
