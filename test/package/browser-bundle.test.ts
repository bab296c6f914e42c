// What a browser bundle of the package holds, built as a bundler would build a page (the
// `browser` condition of the exports map, every lazy import followed): never a Node store, a
// driver, the server or a Node built-in. Needs dist/ (npm test builds first).
import { existsSync, readFileSync } from "node:fs";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const built = existsSync("dist/index.js");
if (!built) console.warn("[browser bundle] WARNING: dist/ is missing (run npm run build)");

async function bundle(source: string): Promise<{ text: string; inputs: string[] }> {
  const result = await build({
    stdin: { contents: source, resolveDir: process.cwd(), loader: "js" },
    bundle: true,
    platform: "browser",
    conditions: ["browser"],
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  return {
    text: result.outputFiles.map((f) => f.text).join("\n"),
    inputs: Object.keys(result.metafile.inputs),
  };
}

const nodeOnly =
  /better-sqlite3|ioredis|[\\/]pg[\\/]|memjs|[\\/]hono[\\/]|@hono|valibot|jose|stores[\\/](file|sqlite|postgres|redis|memcached)|[\\/]server|node-backends|^node:/;

describe.skipIf(!built)("browser bundles", () => {
  it("the root entry with every backend a page can name, remote sync included", async () => {
    const { inputs, text } = await bundle(`
      import { SessionManager } from "sessionmanager-js";
      export const sm = new SessionManager({ backend: "indexedDB", remote: { url: "/api", token: "t" } });`);
    expect(inputs.filter((path) => nodeOnly.test(path))).toEqual([]);
    expect(inputs.some((path) => path.includes("node_modules/ky"))).toBe(true); // sync is there
    expect(text).not.toMatch(/from\s*["']node:|require\(["']node:/);
  });

  it("every browser subpath", async () => {
    const { inputs } = await bundle(`
      export * from "sessionmanager-js/stores/memory";
      export * from "sessionmanager-js/stores/webstorage";
      export * from "sessionmanager-js/stores/indexeddb";
      export * from "sessionmanager-js/crypto";
      export * from "sessionmanager-js/remote";`);
    expect(inputs.filter((path) => nodeOnly.test(path))).toEqual([]);
  });

  it("the script-tag bundle: the names the Node stores load their drivers by are not in it", () => {
    const text = readFileSync("dist/sessionmanager.global.js", "utf8");
    expect(text).toContain("x-sessionmanager-time"); // the sync client is
    expect(text).not.toMatch(/better-sqlite3|ioredis|memjs|"pg"|node:/);
  });

  it("and the check can fail: the Node entry does hold the Node stores", async () => {
    const result = await build({
      stdin: { contents: `export * from "sessionmanager-js";`, resolveDir: process.cwd() },
      bundle: true,
      platform: "node",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
      external: ["better-sqlite3", "pg", "ioredis", "memjs"],
    });
    expect(Object.keys(result.metafile.inputs).some((path) => nodeOnly.test(path))).toBe(true);
  });
});
