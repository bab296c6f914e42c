// trackActivity in real Chromium with trusted input: the script-tag bundle on a page served from
// 127.0.0.1, two pages of one context as two tabs on localStorage, Playwright's keyboard as the
// user. And the sleep case: the wall clock jumps while no timer runs (Playwright's clock), and
// the warning whose moment passed fires when the page wakes, before `expired`.
// Runs in the `e2e` project; needs dist/ (npm test builds first).
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  chromiumArgs,
  chromiumFound,
  chromiumMissingMessage,
  chromiumPath,
  chromiumRequired,
} from "./helpers/chromium.ts";

const skip = !chromiumFound && !chromiumRequired;
if (skip) console.warn(`[activity e2e] WARNING: ${chromiumMissingMessage}`);

// The page: a manager on the options in its query, its events in `window.log`.
const html = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script src="/sessionmanager.global.js"></script></head><body><textarea id="text"></textarea>
<script>
  const params = new URLSearchParams(location.search);
  window.log = [];
  window.sm = new sessionmanager.SessionManager({
    backend: params.get("backend") || "localStorage",
    namespace: params.get("namespace"),
    warnBefore: Number(params.get("warnBefore")),
  });
  for (const event of ["added", "touched", "removed", "expired"]) {
    sm.on(event, (s) => log.push(event + " " + s.id + " v" + s.version));
  }
  sm.onExpiringSoon((s, msLeft) => log.push("expiringSoon " + s.id + " " + Math.round(msLeft / 1000)));
  sm.on("error", (e) => log.push("error " + e.message));
</script></body></html>`;

type Window = {
  sm: {
    add(id: string, options: { ttl: number }): Promise<{ expiresAt: number; version: number }>;
    get(id: string): Promise<{ expiresAt: number; version: number } | undefined>;
    trackActivity(id: string, options?: { throttle?: number }): () => void;
    ready: Promise<void>;
  };
  log: string[];
  stop?: () => void;
};
declare const window: Window;

describe.skipIf(skip)("trackActivity in Chromium", () => {
  let server: Server;
  let browser: Browser;
  let origin: string;
  const errors: string[] = [];

  beforeAll(async () => {
    if (!chromiumFound) throw new Error(`REQUIRE_SERVICES=1 and ${chromiumMissingMessage}`);
    const bundle = readFileSync(new URL("../dist/sessionmanager.global.js", import.meta.url));
    server = createServer((request, response) => {
      const script = request.url === "/sessionmanager.global.js";
      response.setHeader("content-type", script ? "text/javascript" : "text/html");
      response.end(script ? bundle : html);
    });
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
    });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((done) => server?.close(done));
  });

  let sequence = 0;
  /** `count` tabs of one new context (one profile: shared storage and channels). */
  async function tabs(
    context: BrowserContext,
    count: number,
    warnBefore: number,
    backend = "localStorage",
  ) {
    const namespace = `activity${++sequence}`;
    const pages: Page[] = [];
    for (let i = 0; i < count; i++) {
      const page = await context.newPage();
      page.on("pageerror", (error) => errors.push(error.message));
      await page.goto(
        `${origin}/?namespace=${namespace}&warnBefore=${warnBefore}&backend=${backend}`,
      );
      await page.evaluate(() => window.sm.ready);
      pages.push(page);
    }
    return pages;
  }

  /**
   * Adds a session of 6 s (warnBefore 2 s: the default throttle is 2 s) in the first tab, has
   * every tab track it, lets `type` be the user for longer than the ttl, then checks that the
   * session lived through it with at most one write per window, and that idle tabs are warned.
   */
  async function keptAlive(pages: Page[], type: () => Promise<void>): Promise<number> {
    const [first] = pages as [Page];
    const added = await first.evaluate(() => window.sm.add("user", { ttl: 6000 }));
    for (const page of pages) {
      await expect.poll(() => page.evaluate(() => window.log)).toContain("added user v1");
      await page.evaluate(() => {
        window.stop = window.sm.trackActivity("user");
      });
    }
    const started = Date.now();
    await type();
    const typed = Date.now() - started;
    expect(typed).toBeGreaterThan(6000); // longer than the ttl: only activity kept it alive

    const sessions = await Promise.all(
      pages.map((page) => page.evaluate(() => window.sm.get("user"))),
    );
    const last = sessions[0];
    for (const session of sessions) expect(session).toEqual(last);
    if (!last) throw new Error("the session expired while the user was typing");
    const writes = last.version - 1;
    // Each write gains at least a throttle window (2 s) on the last, and all of them together
    // gained no more than the time spent typing: at most one write per window, whatever the
    // number of tabs. Typing never stopped for a window, so at least all but the last.
    expect(last.expiresAt - added.expiresAt).toBeLessThanOrEqual(typed + 1000);
    expect(writes).toBeLessThanOrEqual(Math.floor((typed + 1000) / 2000));
    expect(writes).toBeGreaterThanOrEqual(Math.floor(typed / 2000) - 1);
    for (const page of pages) {
      const log = await page.evaluate(() => window.log);
      expect(log.filter((line) => line.startsWith("expiringSoon"))).toEqual([]);
      // Every write is one touched event in every tab: nobody wrote a version twice.
      expect(log.filter((line) => line.startsWith("touched"))).toHaveLength(writes);
      // stop() removes the listeners: typing no longer touches.
      await page.evaluate(() => window.stop?.());
    }
    await first.keyboard.type("still here", { delay: 300 });
    expect((await first.evaluate(() => window.sm.get("user")))?.version).toBe(last.version);
    // Idle: every tab is warned.
    for (const page of pages) {
      await expect
        .poll(() => page.evaluate(() => window.log), { timeout: 8000 })
        .toContainEqual(expect.stringMatching(/^expiringSoon user/));
    }
    expect(errors, errors.join("\n")).toEqual([]);
    console.log(`[activity e2e] ${pages.length} tabs, ${typed} ms of typing: ${writes} writes`);
    return writes;
  }

  const text = "the quick brown fox jumps over the lazy dog ";

  it.each([2, 5])(
    "keeps a session alive in %i tabs on IndexedDB, all typed in at once, one write per window",
    async (count) => {
      const context = await browser.newContext();
      try {
        const pages = await tabs(context, count, 2000, "indexedDB");
        await keptAlive(pages, async () => {
          await Promise.all(pages.map((page) => page.keyboard.type(text.repeat(3), { delay: 90 })));
        });
      } finally {
        await context.close();
      }
    },
    60_000,
  );

  it("keeps a session alive in two tabs on localStorage while the user types in one, then the other", async () => {
    const context = await browser.newContext();
    try {
      const [one, two] = (await tabs(context, 2, 2000)) as [Page, Page];
      await keptAlive([one, two], async () => {
        await one.bringToFront();
        await one.keyboard.type(text.repeat(2), { delay: 80 });
        await two.bringToFront();
        await two.keyboard.type(text.repeat(2), { delay: 80 });
      });
    } finally {
      await context.close();
    }
  }, 60_000);

  it("fires a warning whose moment passed while the machine slept as soon as the page wakes", async () => {
    const context = await browser.newContext();
    try {
      // Timers the test moves: a sleeping machine's wall clock moves on while no timer runs.
      await context.clock.install();
      const [page] = (await tabs(context, 1, 20_000)) as [Page];
      const session = await page.evaluate(() => window.sm.add("user", { ttl: 60_000 }));
      // The laptop sleeps 45 s: warned at 40 s, expiring at 60 s. No timer ran meanwhile.
      await context.clock.setSystemTime(session.expiresAt - 15_000);
      await page.waitForTimeout(500);
      expect(await page.evaluate(() => window.log)).toEqual(["added user v1"]);
      // It wakes, and the network comes back (a trusted `online` event).
      await context.setOffline(true);
      await context.setOffline(false);
      await expect
        .poll(() => page.evaluate(() => window.log), { timeout: 3000 })
        .toEqual(["added user v1", expect.stringMatching(/^expiringSoon user 1[45]$/)]);

      // A page Chromium froze and resumed (Page Lifecycle API) gets `resume` and nothing else.
      // (CDP's Page.setWebLifecycleState has no effect on this headless build, so the event is
      // dispatched by hand: what is checked is that the bundle listens to it.)
      const other = await page.evaluate(() => window.sm.add("other", { ttl: 60_000 }));
      await context.clock.setSystemTime(other.expiresAt - 15_000);
      await page.waitForTimeout(300);
      expect(await page.evaluate(() => window.log)).not.toContainEqual(
        expect.stringMatching(/^expiringSoon other/),
      );
      await page.evaluate(() => document.dispatchEvent(new Event("resume")));
      await expect
        .poll(() => page.evaluate(() => window.log), { timeout: 3000 })
        .toContainEqual(expect.stringMatching(/^expiringSoon other/));
      expect(await page.evaluate(() => window.log)).not.toContain("expired other v1");
      expect(errors, errors.join("\n")).toEqual([]);
    } finally {
      await context.close();
    }
  }, 30_000);
});
