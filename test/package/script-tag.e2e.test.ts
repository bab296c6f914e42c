// The script-tag bundle (dist/sessionmanager.global.js, built by `npm run build`) in a real
// Chromium page, loaded the way a user loads it: `<script src>` from an HTTP server. Runs in the
// `node` project and drives Chromium with playwright-core. Without Chromium the suite is skipped
// with a warning, unless REQUIRE_SERVICES=1 (CI), where it fails.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  chromiumArgs,
  chromiumFound,
  chromiumMissingMessage,
  chromiumPath,
  chromiumRequired,
} from "../helpers/chromium.ts";

type Lib = typeof import("../../src/index.ts");
type PageWindow = Window & { sessionmanager: Lib; log: (line: string) => void };

const bundlePath = resolve("dist/sessionmanager.global.js");
const screenshotPath = resolve("test-results/script-tag.png");

// The page a user would write: the bundle from a <script src>, then code that uses the global.
const html = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>sessionmanager script-tag test</title>
  <link rel="icon" href="data:,">
  <script src="/sessionmanager.global.js"></script>
</head>
<body style="font: 14px system-ui, sans-serif; margin: 2rem">
  <h1>sessionmanager via &lt;script src&gt;</h1>
  <p id="status">loading…</p>
  <ol id="log"></ol>
  <script>
    window.log = (line) => {
      const item = document.createElement("li");
      item.textContent = line;
      document.getElementById("log").append(item);
    };
    document.getElementById("status").textContent =
      "sessionmanager loaded: " + Object.keys(sessionmanager).sort().join(", ");
  </script>
</body>
</html>`;

const skip = !chromiumFound && !chromiumRequired;
if (skip) console.warn(`[script-tag e2e] WARNING: ${chromiumMissingMessage}`);

describe.skipIf(skip)("script-tag bundle in Chromium", () => {
  let server: Server | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    if (!chromiumFound) {
      throw new Error(`REQUIRE_SERVICES=1 and Chromium is missing at ${chromiumPath}`);
    }
    if (!existsSync(bundlePath)) {
      throw new Error(`${bundlePath} is missing: run \`npm run build\` first`);
    }
    const bundle = readFileSync(bundlePath);
    server = createServer((request, response) => {
      if (request.url === "/") {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
      } else if (request.url === "/sessionmanager.global.js") {
        response.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(bundle);
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((done, fail) => {
      server?.once("error", fail).listen(0, "127.0.0.1", done);
    });
    const { port } = server.address() as AddressInfo;

    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
    });
    page = await browser.newPage();
    page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(`console.error: ${message.text()}`);
    });
    const response = await page.goto(`http://127.0.0.1:${port}/`);
    expect(response?.status()).toBe(200);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  });

  it("defines the global `sessionmanager` in a secure context", async () => {
    const found = await page.evaluate(() => {
      const { sessionmanager } = window as unknown as PageWindow;
      return {
        manager: typeof sessionmanager?.SessionManager,
        createSessionId: typeof sessionmanager?.createSessionId,
        secure: window.isSecureContext,
      };
    });
    expect(found).toEqual({ manager: "function", createSessionId: "function", secure: true });
    expect(await page.textContent("#status")).toContain("SessionManager");
  });

  it("adds a session and reads it back", async () => {
    const result = await page.evaluate(async () => {
      const { sessionmanager, log } = window as unknown as PageWindow;
      const sm = new sessionmanager.SessionManager({ defaultTtl: "10m" });
      await sm.ready;
      const id = sessionmanager.createSessionId();
      const added = await sm.add(id, { data: { user: "ada", theme: "dark" } });
      const read = await sm.get(id);
      const exists = await sm.add(id).catch((error: unknown) => ({
        isSessionError: sessionmanager.isSessionError(error),
        code: (error as { code?: string }).code,
      }));
      log(`added ${id.slice(0, 6)}…, read back: ${JSON.stringify(read?.data)}`);
      await sm.close();
      return { id, added, read, exists, status: sm.status };
    });
    expect(result.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(result.read).toEqual(result.added);
    expect(result.added).toMatchObject({ data: { user: "ada", theme: "dark" }, version: 1 });
    expect(result.exists).toEqual({ isSessionError: true, code: "SESSION_EXISTS" });
  });

  it("warns with expiringSoon, then fires expired, once each", async () => {
    const events = await page.evaluate(async () => {
      const { sessionmanager, log } = window as unknown as PageWindow;
      const sm = new sessionmanager.SessionManager({ warnBefore: 150 });
      const seen: string[] = [];
      sm.onExpiringSoon((session) => {
        seen.push(`expiringSoon:${session.id}`);
        log(`expiringSoon ${session.id}`);
      });
      const expired = new Promise<void>((done) => {
        sm.onExpired((session) => {
          seen.push(`expired:${session.id}`);
          log(`expired ${session.id}`);
          done();
        });
      });
      await sm.add("short", { ttl: 300 });
      const timeout = new Promise<void>((done) => setTimeout(done, 10_000));
      await Promise.race([expired, timeout]);
      // Quiet afterwards: nothing fires twice.
      await new Promise((done) => setTimeout(done, 400));
      const after = await sm.get("short");
      await sm.close();
      return { seen, after: after ?? null };
    });
    expect(events).toEqual({ seen: ["expiringSoon:short", "expired:short"], after: null });
  }, 20_000);

  it("ran without page errors or console errors (screenshot in test-results/)", async () => {
    mkdirSync(resolve("test-results"), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true });
    expect(existsSync(screenshotPath)).toBe(true);
    expect(errors).toEqual([]);
  });
});
