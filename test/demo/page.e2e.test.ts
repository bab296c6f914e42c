// The demo page as a user uses it, in real Chromium: two tabs of one origin, sign in, the
// warning banner, "stay signed in" (the countdown jumps back up), sign out in the other tab,
// and a reload. Runs in the `node` project; needs dist/ (npm test builds first).
import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoServer } from "../../demo/serve.mjs";
import {
  chromiumArgs,
  chromiumFound,
  chromiumMissingMessage,
  chromiumPath,
  chromiumRequired,
} from "../helpers/chromium.ts";

const skip = !chromiumFound && !chromiumRequired;
if (skip) console.warn(`[demo e2e] WARNING: ${chromiumMissingMessage}`);

/** Seconds left in the first row's countdown, as the user looking at that tab sees it. */
async function countdown(page: Page): Promise<number> {
  // A background tab's timers are throttled (the countdown ticks about once a second there).
  await page.bringToFront();
  const text = await page.locator("#sessions td.countdown").first().textContent();
  return Number.parseFloat(text ?? "NaN");
}

describe.skipIf(skip)("demo page in Chromium", () => {
  let server: Server;
  let browser: Browser;
  let context: BrowserContext;
  let url: string;
  const errors: string[] = [];

  beforeAll(async () => {
    if (!chromiumFound) throw new Error(`REQUIRE_SERVICES=1 and ${chromiumMissingMessage}`);
    server = (await startDemoServer(0, { db: ":memory:" })) as Server;
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
    });
    context = await browser.newContext(); // one profile: the two pages share storage and channels
    context.on("page", (page) => {
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((done) => server?.close(done));
  });

  it("keeps two tabs in step through sign-in, a warning, stay signed in, a reload and sign-out", async () => {
    const one = await context.newPage();
    const two = await context.newPage();
    await one.goto(url);
    await two.goto(url);
    await expect.poll(() => one.locator("#status").textContent()).toBe("localStorage + server");

    // Sign in for 8 s in tab one; warnBefore is 10 s, so the warning comes at once, in both tabs.
    await one.fill("#user", "ada");
    await one.fill("#ttl", "8");
    await one.click("#signin button");
    for (const page of [one, two]) {
      await expect.poll(() => page.locator("#sessions tr").count()).toBe(1);
      await expect.poll(() => page.locator("#banner").isVisible()).toBe(true);
      await expect
        .poll(() => page.locator("#banner-text").textContent())
        .toMatch(/^ada session ends in \d s\.$/);
    }
    await one.waitForTimeout(1500);
    const before = await countdown(two);
    expect(before).toBeLessThan(7);

    // "Stay signed in" in tab two: the countdown jumps back up and the banner goes, in both tabs.
    await two.click("#stay");
    for (const page of [one, two]) {
      await expect.poll(() => countdown(page), { timeout: 5000 }).toBeGreaterThan(before + 1);
      await expect.poll(() => page.locator("#sessions td:nth-child(4)").textContent()).toBe("2");
    }
    mkdirSync(resolve("test-results"), { recursive: true });
    await one.screenshot({ path: resolve("test-results/demo.png"), fullPage: true });

    // A reload keeps the session (localStorage).
    await one.reload();
    await expect.poll(() => one.locator("#sessions tr").count()).toBe(1);

    // Sign out in tab two: gone in tab one too.
    await two.click('#sessions button[data-action="remove"]');
    await expect.poll(() => one.locator("#sessions tr").count()).toBe(0);
    await expect.poll(() => one.locator("#empty").isVisible()).toBe(true);
    expect(await one.locator("#log").textContent()).toContain("removed ada: signed out");
    expect(errors, errors.join("\n")).toEqual([]);
  }, 60_000);

  it("syncs through the server: another browser sees the session, and its sign-out comes back", async () => {
    const laptop = await context.newPage();
    await laptop.goto(url);
    await laptop.fill("#user", "kim");
    await laptop.fill("#ttl", "120");
    await laptop.click("#signin button");
    await expect.poll(() => laptop.locator("#synced").textContent()).toMatch(/^synced with/);

    // The server has it, under the demo's owner.
    const token = await (await fetch(`${url}token`)).text();
    const listed = await fetch(`${url}api/v1/sessions`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const { sessions } = (await listed.json()) as { sessions: { data: { user: string } }[] };
    expect(sessions.map((s) => s.data.user)).toContain("kim");

    // Another browser (its own storage): the session arrives from the server when it starts.
    const other = await browser.newContext();
    try {
      const phone = await other.newPage();
      phone.on("pageerror", (error) => errors.push(error.message));
      await phone.goto(url);
      await expect.poll(() => phone.locator("#sessions tr").count()).toBe(1);
      expect(await phone.locator("#sessions td:nth-child(2)").textContent()).toBe("kim");
      // Sign out there: the first browser hears it at once over its event stream (the demo
      // polls only every 5 minutes, so this is the stream, not a pull on its interval).
      await phone.click('#sessions button[data-action="remove"]');
      await expect.poll(() => laptop.locator("#sessions tr").count(), { timeout: 5000 }).toBe(0);
      expect(await laptop.locator("#log").textContent()).toContain("removed kim: signed out");
    } finally {
      await other.close();
    }
    expect(errors, errors.join("\n")).toEqual([]);
  }, 45_000);

  it("shows expiry: a short session warns, then expires", async () => {
    const page = await context.newPage();
    await page.goto(url);
    await page.fill("#user", "grace");
    await page.fill("#ttl", "2");
    await page.click("#signin button");
    await expect.poll(() => page.locator("#sessions tr").count()).toBe(1);
    await expect.poll(() => page.locator("#sessions tr").count(), { timeout: 10_000 }).toBe(0);
    const log = (await page.locator("#log").textContent()) ?? "";
    expect(log.indexOf("expiringSoon grace")).toBeGreaterThan(log.indexOf("expired grace"));
    expect(log).toContain("expired grace"); // the log is newest first: expiringSoon came before
    expect(errors, errors.join("\n")).toEqual([]);
  }, 30_000);

  it("keeps tabs in step through storage events where there is no BroadcastChannel", async () => {
    const old = await browser.newContext();
    // Safari before 15.4 had no BroadcastChannel: take it away before any script runs.
    await old.addInitScript(() => {
      // @ts-expect-error removing a global on purpose
      delete window.BroadcastChannel;
    });
    try {
      const [one, two] = [await old.newPage(), await old.newPage()];
      for (const page of [one, two]) {
        page.on("pageerror", (error) => errors.push(error.message));
        await page.goto(url);
        expect(await page.evaluate(() => typeof window.BroadcastChannel)).toBe("undefined");
      }
      await one.fill("#user", "lin");
      await one.fill("#ttl", "60");
      await one.click("#signin button");
      await expect.poll(() => two.locator("#sessions tr").count()).toBe(1);
      await expect.poll(() => two.locator("#log").textContent()).toContain("added lin");
      await two.click('#sessions button[data-action="remove"]');
      await expect.poll(() => one.locator("#sessions tr").count()).toBe(0);
      expect(await one.locator("#log").textContent()).toContain("removed lin: signed out");
      expect(errors, errors.join("\n")).toEqual([]);
    } finally {
      await old.close();
    }
  }, 30_000);

  it("keeps a session alive while the user types, with the activity box ticked", async () => {
    const own = await browser.newContext(); // storage of its own: no session of another test
    try {
      const [one, two] = [await own.newPage(), await own.newPage()];
      for (const page of [one, two]) {
        page.on("pageerror", (error) => errors.push(error.message));
        await page.goto(url);
      }
      await expect.poll(() => one.locator("#status").textContent()).toBe("localStorage + server");
      await one.check("#activity");
      // 14 s, warned 10 s ahead: without activity the banner would come after 4 s.
      await one.fill("#user", "zoe");
      await one.fill("#ttl", "14");
      await one.click("#signin button");
      await expect.poll(() => two.locator("#sessions tr").count()).toBe(1);
      await one.focus("#user");
      const typing = Date.now();
      await one.keyboard.type("abcdefghijklmnopqrstuvwxyz".repeat(3), { delay: 100 }); // 8 s or more
      // A busy machine makes the typing last longer (each key is a round trip to the browser):
      // the touches are bounded by the time it took, not by the 8 s it takes at best.
      const windows = Math.ceil((Date.now() - typing) / 2000);
      for (const page of [one, two]) {
        expect(await page.locator("#banner").isVisible()).toBe(false);
        expect(await page.locator("#log").textContent()).toContain("touched zoe: stays signed in");
        const version = Number(await page.locator("#sessions td:nth-child(4)").textContent());
        // One touch per 2 s window at most (about four in 8 s), and some in every few windows.
        expect(version).toBeGreaterThanOrEqual(3);
        expect(version).toBeLessThanOrEqual(2 + windows);
      }
      // The user stops: the warning comes, in both tabs.
      for (const page of [one, two]) {
        await expect.poll(() => page.locator("#banner").isVisible(), { timeout: 8000 }).toBe(true);
      }
      // Signed out, on the server too: later tests start without it.
      await two.click('#sessions button[data-action="remove"]');
      await expect.poll(() => one.locator("#sessions tr").count()).toBe(0);
      await expect.poll(() => one.locator("#log").textContent()).toContain("removed zoe");
      expect(errors, errors.join("\n")).toEqual([]);
    } finally {
      await own.close();
    }
  }, 45_000);
});
