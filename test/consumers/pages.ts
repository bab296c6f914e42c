// What the consumer tests that open a built page in Chromium share: a static server for a build
// folder on 127.0.0.1, and Chromium launched by playwright-core with the page's errors collected.
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import {
  chromiumArgs,
  chromiumFound,
  chromiumMissingMessage,
  chromiumPath,
  chromiumRequired,
} from "../helpers/chromium.ts";

/** Without Chromium the page tests are skipped with a warning, unless REQUIRE_SERVICES=1. */
export const noChromium: boolean = !chromiumFound && !chromiumRequired;
if (noChromium) console.warn(`[consumers] WARNING: ${chromiumMissingMessage}`);

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

export interface StaticServer {
  url: string;
  stop: () => Promise<void>;
}

/** Serves the files of `root` on 127.0.0.1 at a free port (`/` is index.html), as a host would. */
export async function serveStatic(root: string): Promise<StaticServer> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname);
    const file = join(root, normalize(path).replace(/^(\.\.[/\\])+/, ""));
    const target =
      existsSync(file) && statSync(file).isDirectory() ? join(file, "index.html") : file;
    if (!target.startsWith(root) || !existsSync(target)) {
      response.writeHead(404).end("not found");
      return;
    }
    const type = types[extname(target)] ?? "application/octet-stream";
    response.writeHead(200, { "content-type": type }).end(readFileSync(target));
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((closed) => {
        server.closeAllConnections();
        server.close(() => closed());
      }),
  };
}

/** Headless Chromium; fails with the reason when REQUIRE_SERVICES=1 and there is none. */
export async function launchChromium(): Promise<Browser> {
  if (!chromiumFound) throw new Error(`REQUIRE_SERVICES=1 and ${chromiumMissingMessage}`);
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}

/** A new page in a fresh profile; its uncaught errors and console errors go into `errors`. */
export async function openPage(browser: Browser, errors: string[]): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console.error: ${message.text()}`);
  });
  return page;
}
