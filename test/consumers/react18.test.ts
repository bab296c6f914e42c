// React 18 (the repo itself has React 19): an app on react@18 and react-dom@18 renders a component
// using useSession, useSessions, useTimeLeft and useManagerStatus with renderToString (its server
// build run in Node, against a ready manager holding a session), then hydrates the HTML with
// hydrateRoot in Chromium: no hydration error, and the hooks follow the browser's IndexedDB.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { once } from "./helpers.ts";
import { launchChromium, noChromium, openPage, type StaticServer, serveStatic } from "./pages.ts";
import { run } from "./workspace.ts";

const workspace = inject("workspace");
const app = join(workspace, "apps", "react18");
const vite = join(workspace, "node_modules", "vite", "bin", "vite.js");
let serverHtml = "";

const built = once(() => {
  for (const dir of ["dist", "dist-server"])
    rmSync(join(app, dir), { recursive: true, force: true });
  const started = Date.now();
  // NODE_ENV=test (vitest's) would build React's development version: build as production.
  const production = { NODE_ENV: "production" };
  run("node", [vite, "build"], app, production);
  run(
    "node",
    [vite, "build", "--ssr", "src/server.jsx", "--outDir", "dist-server"],
    app,
    production,
  );
  serverHtml = run("node", ["prerender.mjs"], app, production);
  console.log(
    `[consumers] React 18: client and server builds in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
});

describe("React 18 (react@18, react-dom@18)", () => {
  test("the app installs React 18", () => {
    const { version } = JSON.parse(
      readFileSync(join(app, "node_modules", "react", "package.json"), "utf8"),
    );
    expect(version).toMatch(/^18\./);
  });

  test("renderToString renders what nothing loaded looks like, and reads no storage", () => {
    built();
    const text = (id: string) => new RegExp(`<dd id="${id}">([^<]*)</dd>`).exec(serverHtml)?.[1];
    expect(text("react")).toMatch(/^18\./);
    // The server's manager is ready and holds "alice": the hooks show neither.
    expect({
      status: text("status"),
      count: text("count"),
      alice: text("alice"),
      left: text("left"),
    }).toEqual({ status: "loading", count: "0", alice: "none", left: "none" });
  });

  describe.skipIf(noChromium)("hydrateRoot in Chromium", () => {
    let browser: Browser | undefined;
    let server: StaticServer | undefined;
    beforeAll(async () => {
      browser = await launchChromium();
    }, 30_000);
    afterAll(async () => {
      await browser?.close();
      await server?.stop();
    });

    test("hydrates without a mismatch, then the hooks show the stored session", async () => {
      built();
      server = await serveStatic(join(app, "dist"));
      const errors: string[] = [];
      const page = await openPage(browser as Browser, errors);
      await page.goto(`${server.url}/`);
      await page.locator("body[data-hydrated=yes]").waitFor();
      const text = (id: string) => page.locator(`#${id}`).textContent();
      await expect.poll(() => text("status")).toBe("ready");
      await expect.poll(() => text("alice")).toBe("Alice (client)");
      await expect.poll(() => text("count")).toBe("1");
      await expect.poll(() => text("left")).toMatch(/^\d+ s$/);
      expect(await text("react")).toMatch(/^18\./);
      expect(
        await page.evaluate(() => (window as { hydrationErrors?: string[] }).hydrationErrors),
      ).toEqual([]);
      expect(errors).toEqual([]);
    }, 60_000);
  });
});
