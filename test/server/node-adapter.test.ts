// Where the server entry's Node HTTP adapter goes when the entry is bundled: `serve` loads it as
// `#node-server` (package.json `imports`), which is @hono/node-server under the `node` condition
// and nothing elsewhere. Needs dist/ (npm test builds first).
import { existsSync } from "node:fs";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";

async function bundle(platform: "browser" | "neutral" | "node", conditions: string[]) {
  const result = await build({
    stdin: {
      contents: `export { createSessionServer, serve } from "sessionmanager-js/server";`,
      resolveDir: process.cwd(),
      loader: "js",
    },
    bundle: true,
    platform,
    conditions,
    mainFields: ["module", "main"],
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  return {
    inputs: Object.keys(result.metafile.inputs),
    text: result.outputFiles.map((file) => file.text).join("\n"),
    warnings: result.warnings,
  };
}

describe("the server entry, bundled", () => {
  beforeAll(() => {
    if (!existsSync("dist/server.js"))
      throw new Error("dist/server.js is missing: run npm run build");
  });

  it("for a worker or the edge holds no Node adapter and no Node built-in, and builds without error", async () => {
    for (const [platform, conditions] of [
      ["browser", ["worker", "browser"]],
      ["neutral", ["workerd", "worker"]],
    ] as const) {
      const { inputs, text } = await bundle(platform, [...conditions]);
      expect(
        inputs.filter((path) => path.includes("@hono/node-server")),
        platform,
      ).toEqual([]);
      expect(text, platform).not.toMatch(/from\s*["']node:|require\(["']node:/);
      expect(text, platform).toContain("#node-server"); // left for the runtime, which has none
    }
  });

  it("for Node holds the adapter, so that a bundle deployed without node_modules can serve", async () => {
    const { inputs } = await bundle("node", []);
    expect(inputs.some((path) => path.includes("@hono/node-server"))).toBe(true);
  });
});
